#!/usr/bin/env bash
# test_keys - CurveZMQ: keygen, keys admitted per socket, refusals, reload, protected mode
. "$(dirname "$0")/lib.sh"

# Key pairs: the broker, an authorized client and worker, an unknown client and worker
make_keys alice w1 mallory wx
cp "$O/alice" "$K/clients/"
cp "$O/w1" "$K/workers/"
for f in "$K/broker_secret" "$O/alice_secret" "$O/w1_secret"; do
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f"), not 600"
done
[ "$(stat -c %a "$O/alice")" = 644 ] || fail "a public cert is not 0644"
grep -q 'secret-key' "$O/alice" && fail "the public cert holds the secret key"
"$CLIENT" keygen alice --dir "$O" >/dev/null 2>&1 && fail "keygen overwrote an existing key"
ok "keygen: secret files 0600, public 0644, no overwrite"

# The broker names a missing cert of its own
rc=0
out=$("$BROKER" --keys "$T/nokeys" --db "$T/x.db" --data-dir "$T/x" 2>&1) || rc=$?
[ "$rc" -ne 0 ] && echo "$out" | grep -q "$T/nokeys/broker_secret" \
    || fail "a missing broker_secret said '$out' (exit $rc)"
ok "missing broker cert: $out"

export MT_CERT=$O/alice_secret MT_BROKER_KEY=$K/broker
start_broker --keys "$K"
grep -q "CurveZMQ on" "$T/broker.log" || fail "the broker does not say CurveZMQ is on"

# The authorized client lists and submits; the authorized worker trains the job
"$CLIENT" list >/dev/null || fail "the authorized client cannot list"
start_worker w1 --cert "$O/w1_secret" --broker-key "$K/broker"
W1_PID=$WORKER_PID
wait_for "the authorized worker" 15 workers_connected 1
j=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5) \
    || fail "the authorized client cannot submit"
wait_state "$j" succeeded 60
ok "authorized client and worker: job $j succeeded"

# client_refused ARGS...: mtclient with these global options gets no answer (exit 3)
client_refused () {
    local rc=0
    "$CLIENT" --timeout 1 "$@" list >"$T/refused.out" 2>&1 || rc=$?
    [ "$rc" -eq 3 ]
}
worker_count () {
    "$CLIENT" workers --json | jq length
}
workers_exactly () {
    [ "$(worker_count)" = "$1" ]
}

client_refused --cert "$O/mallory_secret" || fail "an unknown client key was let in"
grep -q "no answer from the broker" "$T/refused.out" || fail "refusal said: $(cat "$T/refused.out")"
ok "unknown client key refused: $(cat "$T/refused.out")"
client_refused --cert "$O/w1_secret" || fail "the worker key was let in as a client"
ok "worker key refused on the clients socket"
MT_CERT= MT_BROKER_KEY= client_refused || fail "a client without keys was let in"
ok "client without keys refused"
rc=0
out=$(MT_BROKER_KEY= "$CLIENT" --timeout 1 list 2>&1) || rc=$?
[ "$rc" -eq 2 ] && echo "$out" | grep -q "needs both --cert" \
    || fail "--cert without --broker-key said '$out' (exit $rc)"
cp "$O/alice" "$T/public-only"
rc=0
out=$("$CLIENT" --cert "$T/public-only" list 2>&1) || rc=$?
[ "$rc" -eq 2 ] && echo "$out" | grep -q "public-only: holds no secret key" \
    || fail "a public cert as --cert said '$out' (exit $rc)"
ok "key options: both needed; --cert must hold a secret key"

# An unknown worker key and the client's key used by a worker never join
start_worker wx --cert "$O/wx_secret" --broker-key "$K/broker"
start_worker as-client --cert "$O/alice_secret" --broker-key "$K/broker"
start_worker nokeys
sleep 3
[ "$(worker_count)" = 1 ] || fail "a refused worker joined: $("$CLIENT" workers)"
wx_key=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$O/wx")
alice_key=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$O/alice")
grep -qF "refused key $wx_key on the workers socket" "$T/broker.log" \
    || fail "the broker did not log the unknown worker key"
grep -qF "refused key $alice_key on the workers socket" "$T/broker.log" \
    || fail "the broker did not log the client key on the workers socket"
ok "unknown worker key, client key as a worker and a worker without keys refused"

# Reload by polling: removing the worker's key cuts its open connection off
# (its messages are dropped, so it is lost after missed heartbeats); putting
# the key back lets its next connection in
rm "$K/workers/w1"
wait_for "the removed worker to be lost" 20 workers_exactly 0
cp "$O/w1" "$K/workers/"
wait_for "the worker key put back to be admitted" 20 workers_connected 1
ok "worker key removed: connection cut; put back: admitted again"

# Reload on SIGHUP: a new connection with a removed client key is refused
rm "$K/clients/alice"
kill -HUP "$BROKER_PID"
wait_for "the removed client key to be refused" 10 client_refused
kill -0 "$BROKER_PID" || fail "SIGHUP ended the broker"
grep -q "SIGHUP" "$T/broker.log" || fail "the broker did not log the SIGHUP reload"
cp "$O/alice" "$K/clients/"
wait_for "the client key put back to be admitted" 10 "$CLIENT" --timeout 1 list
ok "client key removed + SIGHUP: refused; put back: admitted"

# Protected mode: a public bind needs --keys, or --insecure (which warns).
# 0.0.0.0 is bound only for a moment and nothing is sent to other addresses.
# public_args NAME: the options of a broker on 0.0.0.0 with its own files
public_args () {
    ARGS=(--clients "tcp://0.0.0.0:$(free_port)" --workers "tcp://127.0.0.1:$(free_port)"
          --db "$T/$1.db" --data-dir "$T/$1-data")
}
rc=0
public_args open
"$BROKER" "${ARGS[@]}" >"$T/open.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a public bind without keys started"
grep -q "refusing to bind a non-loopback address without keys" "$T/open.log" \
    || fail "public bind without keys said: $(cat "$T/open.log")"
ok "public bind without keys refused (exit $rc)"
for mode in insecure keyed; do
    public_args "$mode"
    if [ "$mode" = insecure ]; then
        ARGS+=(--insecure)
    else
        ARGS+=(--keys "$K")
    fi
    "$BROKER" "${ARGS[@]}" >"$T/$mode.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_for "the $mode public broker" 10 grep -q "clients on tcp://0.0.0.0" "$T/$mode.log"
    kill -HUP "$pid"
    sleep 0.3
    kill -0 "$pid" || fail "SIGHUP ended the $mode broker"
    kill "$pid"
    wait "$pid" 2>/dev/null
done
grep -q "\-\-insecure: listening beyond loopback" "$T/insecure.log" || fail "--insecure did not warn"
grep -q "insecure" "$T/keyed.log" && fail "a public bind with --keys warned: $(cat "$T/keyed.log")"
ok "public bind: --insecure warns, --keys starts quietly"

# The worker still trains after all that
j=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 3) || fail "submit"
wait_state "$j" succeeded 60
kill -0 "$W1_PID" || fail "the authorized worker died"
ok "job $j succeeded after the reloads"
