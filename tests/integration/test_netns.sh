#!/usr/bin/env bash
# test_netns - workers on other hosts: the broker and two workers each in its own network
# namespace, joined by veth pairs. A's link is cut while it trains: the broker declares it
# lost, the job resumes on B from a checkpoint; when A's link comes back, A reconnects and its
# stale attempt is fenced: the job ends once, on B.
#
# Topology (a bridge-less star, addresses only inside the namespaces this test creates):
#   NS_B (broker) ── veth ── NS_1 (worker 1)   10.O.1.1/30 ── 10.O.1.2/30
#                 └─ veth ── NS_2 (worker 2)   10.O.2.1/30 ── 10.O.2.2/30
# The client runs inside NS_B against 127.0.0.1 (its own loopback).
# Needs root and `ip netns`; otherwise it says why and exits 77 (skipped).
. "$(dirname "$0")/lib.sh"

skip () {
    echo "SKIP: needs root and network namespaces (ip netns): $*"
    exit 77
}
command -v ip >/dev/null 2>&1 || skip "the ip command (iproute2) is not installed"
need sqlite3 sqlite3
[ "$(id -u)" = 0 ] || skip "running as uid $(id -u), not root"

TAG=mt$$                            # unique per run: namespaces and veths carry it
NS_B=$TAG-broker
NS_1=$TAG-w1
NS_2=$TAG-w2
OCTET=$(( 200 + $$ % 50 ))          # 10.200.x.x .. 10.249.x.x, random-ish per run
NETS_MADE=()

netns_cleanup () {
    local rc=$? ns
    kill_hard "${PIDS[@]}"          # lib.sh: and their training processes, by pid
    cleanup                         # lib.sh: kills every process we started, keeps logs on failure
    for ns in "${NETS_MADE[@]}"; do
        ip netns del "$ns" 2>/dev/null   # deleting a namespace deletes the veth ends in it
    done
    exit "$rc"
}
trap netns_cleanup EXIT

for ns in "$NS_B" "$NS_1" "$NS_2"; do
    ip netns list | awk '{ print $1 }' | grep -qxF "$ns" && fail "namespace $ns exists already"
done
if ! err=$(ip netns add "$NS_B" 2>&1); then
    skip "$err"
fi
NETS_MADE+=("$NS_B")
ip netns add "$NS_1" || fail "ip netns add $NS_1"
NETS_MADE+=("$NS_1")
ip netns add "$NS_2" || fail "ip netns add $NS_2"
NETS_MADE+=("$NS_2")

# Veths are created straight inside the namespaces: nothing appears in the host's namespace.
for i in 1 2; do
    ns=$TAG-w$i
    ip -n "$NS_B" link add "${TAG}b$i" type veth peer name "${TAG}w$i" netns "$ns" \
        || fail "veth pair $i"
    ip -n "$NS_B" addr add "10.$OCTET.$i.1/30" dev "${TAG}b$i" || fail "address b$i"
    ip -n "$ns" addr add "10.$OCTET.$i.2/30" dev "${TAG}w$i" || fail "address w$i"
    ip -n "$NS_B" link set "${TAG}b$i" up || fail "link b$i up"
    ip -n "$ns" link set "${TAG}w$i" up || fail "link w$i up"
    ip -n "$ns" link set lo up || fail "lo up in $ns"
done
ip -n "$NS_B" link set lo up || fail "lo up in $NS_B"
ok "namespaces $NS_B, $NS_1, $NS_2 joined by veths on 10.$OCTET.1.0/30 and 10.$OCTET.2.0/30"

# Every process gets a unique name (argv[0]) so a leftover is easy to tell apart.
# ip netns exec execs the program, so the pid we record is the program's own.
run_in () {
    local ns=$1 name=$2 log=$3
    shift 3
    ip netns exec "$ns" bash -c 'name=$1; shift; exec -a "$name" "$@"' _ "$name" "$@" >>"$log" 2>&1 &
    PIDS+=("$!")
    LAST_PID=$!
}

# The client runs inside the broker's namespace, against its loopback.
cat >"$T/mtclient" <<EOF
#!/bin/sh
exec ip netns exec "$NS_B" "$MT_BIN_DIR/mtclient" --broker tcp://127.0.0.1:5555 "\$@"
EOF
chmod +x "$T/mtclient"
CLIENT=$T/mtclient

run_in "$NS_B" "$TAG-mtbroker" "$T/broker.log" "$BROKER" --clients tcp://127.0.0.1:5555 \
    --workers tcp://0.0.0.0:5556 --insecure --db "$T/mt.db" --data-dir "$T/data"
BROKER_PID=$LAST_PID
wait_for "broker to answer" 10 "$CLIENT" --timeout 1 list
grep -q -- "--insecure: listening beyond loopback" "$T/broker.log" \
    || fail "no --insecure warning in the broker log"
ok "broker binds tcp://0.0.0.0:5556 with --insecure, and warns"

declare -A WPID
for i in 1 2; do
    run_in "$TAG-w$i" "$TAG-mtworker$i" "$T/worker-$i.log" "$WORKER" \
        --broker "tcp://10.$OCTET.$i.1:5556" --cache-dir "$T/cache-$i" --progress-ms 100 \
        --checkpoint-min-ms 0
    WPID[$i]=$LAST_PID
done
for i in 1 2; do     # TCP across each veth, before asking more of it
    wait_for "a TCP connection from namespace $i to 10.$OCTET.$i.1:5556" 10 \
        ip netns exec "$TAG-w$i" bash -c "exec 3<>/dev/tcp/10.$OCTET.$i.1/5556"
done
wait_for "2 workers over the veths" 20 workers_connected 2
ok "2 workers connected from their namespaces"

# A long job: 20,000 rows x 4 features, a checkpoint every epoch, ~15 s on one worker
make_data "$T/big.csv" 20000
j=$("$CLIENT" submit --data "$T/big.csv" --target y --hidden 64,64 --epochs 600 \
    --checkpoint-every 1 --seed 5) || fail "submit"
wait_state "$j" running 30
wait_epoch "$j" 2 60
checkpointed () { [ "$(job_field "$j" checkpoint_epoch)" -ge 2 ]; }
wait_for "job $j to have a checkpoint" 30 checkpointed
victim=$(job_field "$j" worker)
vpid=${victim##*:}
a=""
for i in 1 2; do [ "${WPID[$i]}" = "$vpid" ] && a=$i; done
[ -n "$a" ] || fail "job $j runs on $victim, which is none of our workers"
b=$(( 3 - a ))
other=$("$CLIENT" workers --json | jq -r --arg v "$victim" '.[] | select(.name != $v) | .name')
ok "job $j runs on worker $a ($victim), epoch $(job_field "$j" progress.epoch), checkpoint at epoch $(job_field "$j" checkpoint_epoch)"

# A trains in a process of its own, which must end once A is fenced (seen now, so that
# the check of its end below is not a check of nothing)
trains_on_a () { [ -n "$(training_children "${WPID[$a]}")" ]; }
wait_for "worker $a's training process" 10 trains_on_a

# Cut A's link, on both ends. A keeps training, alone.
cut_at=$(date +%s)
ip -n "$NS_B" link set "${TAG}b$a" down || fail "link down"
ip -n "$TAG-w$a" link set "${TAG}w$a" down || fail "link down"
requeued () {
    [ "$(job_field "$j" attempt)" -ge 2 ] \
    && [ "$(job_field "$j" attempts[0].outcome)" = worker_lost ]
}
wait_for "the broker to declare worker $a lost and requeue job $j" 20 requeued
lost_after=$(( $(date +%s) - cut_at ))
grep -q "worker $victim lost" "$T/broker.log" || fail "no 'worker $victim lost' in the broker log"
kill -0 "$vpid" 2>/dev/null || fail "worker $a died when its link was cut"
ok "link cut: worker $a declared lost after ~${lost_after}s, job $j requeued (attempt 2, worker_lost)"

wait_state "$j" running 30
[ "$(job_field "$j" attempt)" = 2 ] || fail "attempt is $(job_field "$j" attempt), not 2"
[ "$(job_field "$j" worker)" = "$other" ] || fail "attempt 2 runs on $(job_field "$j" worker), not $other"

# Restore A's link while B runs attempt 2: A reconnects, names its attempt 1, and is fenced.
ip -n "$NS_B" link set "${TAG}b$a" up || fail "link up"
ip -n "$TAG-w$a" link set "${TAG}w$a" up || fail "link up"
fenced () {
    grep -E "worker $victim claims job $j attempt 1, which is superseded: abandon|from $victim for job $j attempt 1, which it does not hold: abandon" \
        "$T/broker.log"
}
wait_for "worker $a to reconnect and be fenced" 30 fenced
state=$(job_field "$j" state)
[ "$state" = running ] || [ "$state" = succeeded ] || fail "job $j is $state after the fence"
[ "$(job_field "$j" attempt)" = 2 ] || fail "the fence changed the attempt: $(job_field "$j" attempt)"
[ "$(job_field "$j" worker)" = "$other" ] || fail "the fence moved the job to $(job_field "$j" worker)"
grep -q "adopted" "$T/broker.log" && fail "the broker adopted a stale attempt: $(grep adopted "$T/broker.log")"
ok "link restored: worker $a's stale attempt 1 was fenced: $(fenced | head -n 1 | sed 's/.*broker: //')"
wait_for "worker $a to be back in the fleet" 20 workers_connected 2
no_stale_child () { [ -z "$(training_children "${WPID[$a]}")" ]; }
wait_for "worker $a to end its abandoned training process" 20 no_stale_child
grep -q "job $j attempt 1 is superseded: abandoning it" "$T/worker-$a.log" || fail "worker $a did not log the abandon"
ok "worker $a is back in the fleet and its abandoned training process ended"

wait_trained "$j" succeeded 60
resumed=$(job_field "$j" attempts[1].resumed_from_epoch)
[ "$resumed" -gt 0 ] || fail "attempt 2 did not resume from a checkpoint"
ok "job $j finished on worker $b, attempt 2 resumed from epoch $resumed"

# The database (on the shared filesystem): two attempts, one success, nothing after it.
sleep 3     # let any late message from A arrive; it must change nothing
rows=$(sqlite3 "$T/mt.db" "select attempt || ':' || outcome || ':' || worker from attempts where job = $j order by attempt")
expected=$(printf '1:worker_lost:%s\n2:succeeded:%s' "$victim" "$other")
[ "$rows" = "$expected" ] || fail "attempts of job $j: $(echo "$rows" | tr '\n' ' ') (expected $(echo "$expected" | tr '\n' ' '))"
[ "$(sqlite3 "$T/mt.db" "select count(*) from attempts where job = $j and outcome = 'succeeded'")" = 1 ] \
    || fail "job $j succeeded more than once"
[ "$(sqlite3 "$T/mt.db" "select state || ':' || attempt || ':' || worker from jobs where id = $j")" = "succeeded:2:$other" ] \
    || fail "jobs row: $(sqlite3 "$T/mt.db" "select state, attempt, worker from jobs where id = $j")"
"$CLIENT" fetch "$j" -o "$T/model.safetensors" >/dev/null || fail "fetch"
[ -s "$T/model.safetensors" ] || fail "empty model"
kill -0 "${WPID[$a]}" 2>/dev/null || fail "worker $a died after the fence"
ok "attempts table: $(echo "$rows" | tr '\n' ' ')- the job ended exactly once"
echo PASS
