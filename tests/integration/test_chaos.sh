#!/usr/bin/env bash
# test_chaos - a broker, workers and a stream of short jobs, while workers and the broker are
# killed with SIGKILL at random moments (a replacement worker is started for each killed one,
# the broker is restarted on the same database). In the end every job has succeeded exactly
# once, none is lost, and every model can be fetched intact.
#
# Loopback only. Reproducible schedule: MT_CHAOS_SEED=N (printed at the start). Knobs, all
# optional (tests/bench/chaos.sh runs a bigger one):
#   MT_CHAOS_JOBS (60)  MT_CHAOS_WORKERS (3)  MT_CHAOS_ROWS (4000)  MT_CHAOS_EPOCHS (400)
#   MT_CHAOS_HIDDEN (32,32)  MT_CHAOS_CHECKPOINT (30)  MT_CHAOS_WORKER_KILLS (16, at most)
#   MT_CHAOS_BROKER_KILLS (3, at most)
#   MT_CHAOS_GAP_MIN_MS, MT_CHAOS_GAP_MAX_MS (400, 2400: the pause before each kill)
#   MT_CHAOS_SECONDS (60: the chaos phase)  MT_CHAOS_FINISH (120: after it, seconds with no job ending that count as stuck)
. "$(dirname "$0")/lib.sh"
need sqlite3 sqlite3

JOBS=${MT_CHAOS_JOBS:-60}
NWORKERS=${MT_CHAOS_WORKERS:-3}
ROWS=${MT_CHAOS_ROWS:-4000}
EPOCHS=${MT_CHAOS_EPOCHS:-400}
HIDDEN=${MT_CHAOS_HIDDEN:-32,32}
CHECKPOINT=${MT_CHAOS_CHECKPOINT:-30}
MAX_WORKER_KILLS=${MT_CHAOS_WORKER_KILLS:-16}
MAX_BROKER_KILLS=${MT_CHAOS_BROKER_KILLS:-3}
GAP_MIN=${MT_CHAOS_GAP_MIN_MS:-400}
GAP_MAX=${MT_CHAOS_GAP_MAX_MS:-2400}
CHAOS_SECONDS=${MT_CHAOS_SECONDS:-60}
FINISH_SECONDS=${MT_CHAOS_FINISH:-120}
SEED=${MT_CHAOS_SEED:-$(( ($(date +%s) + $$) % 32768 ))}
DB=$T/mt.db

sql () { sqlite3 -cmd ".timeout 5000" "$DB" "$@"; }

start_broker
make_data "$T/data.csv" "$ROWS"
WLIVE=()                            # pids of the workers that should be alive
NEXT_WORKER=1
new_worker () {
    start_worker "w$NEXT_WORKER"
    WLIVE+=("$WORKER_PID")
    NEXT_WORKER=$(( NEXT_WORKER + 1 ))
}
for _ in $(seq 1 "$NWORKERS"); do new_worker; done
wait_for "$NWORKERS workers" 20 workers_connected "$NWORKERS"

RANDOM=$SEED
echo "chaos: seed $SEED (MT_CHAOS_SEED=$SEED reproduces the schedule): $JOBS jobs of $ROWS rows," \
     "$EPOCHS epochs, hidden $HIDDEN, a checkpoint every $CHECKPOINT; $NWORKERS workers"

# The submitter: every job has an idempotency key, so a submit retried after the broker died
# (before or after committing it) names the same job. Bounded: 150 tries per job.
(
    for i in $(seq 1 "$JOBS"); do
        id=""
        for _ in $(seq 1 150); do
            if id=$("$CLIENT" --timeout 2 submit --data "$T/data.csv" --target y \
                    --hidden "$HIDDEN" --epochs "$EPOCHS" --checkpoint-every "$CHECKPOINT" \
                    --seed "$i" --max-retries 20 --name "chaos-$i" --key "chaos-$i" 2>>"$T/submit.err") \
               && [ -n "$id" ]; then
                break
            fi
            id=""
            sleep 0.2
        done
        [ -n "$id" ] || { echo "$i FAILED" >>"$T/ids"; exit 1; }
        echo "$i $id" >>"$T/ids"
    done
) &
SUBMITTER=$!
PIDS+=("$SUBMITTER")

submitted () { [ -f "$T/ids" ] && wc -l <"$T/ids"; }
ended () { sql "select count(*) from jobs where state in ('succeeded', 'failed', 'stopped')" 2>/dev/null || echo 0; }

# Anything we did not kill must still be alive: a dead one is a crash.
check_alive () {
    kill -0 "$BROKER_PID" 2>/dev/null || fail "the broker (pid $BROKER_PID) died on its own; see broker.log"
    local pid
    for pid in "${WLIVE[@]}"; do
        kill -0 "$pid" 2>/dev/null || fail "worker pid $pid died on its own; see its log"
    done
}

WORKER_KILLS=0
BROKER_KILLS=0
EVENTS=()
start=$(date +%s)
chaos_end=$(( start + CHAOS_SECONDS ))
for _ in $(seq 1 200); do
    [ "$(date +%s)" -lt "$chaos_end" ] || break
    [ "$WORKER_KILLS" -lt "$MAX_WORKER_KILLS" ] || [ "$BROKER_KILLS" -lt "$MAX_BROKER_KILLS" ] || break
    gap=$(( GAP_MIN + RANDOM % (GAP_MAX - GAP_MIN + 1) ))
    sleep "$(printf '%d.%03d' $(( gap / 1000 )) $(( gap % 1000 )))"
    check_alive
    n_sub=$(submitted); n_sub=${n_sub:-0}
    [ "$n_sub" -ge "$JOBS" ] && [ "$(ended)" -ge "$JOBS" ] && break
    t=$(( $(date +%s) - start ))
    if [ "$BROKER_KILLS" -lt "$MAX_BROKER_KILLS" ] && { [ $(( RANDOM % 4 )) = 0 ] \
            || [ "$WORKER_KILLS" -ge "$MAX_WORKER_KILLS" ]; }; then
        kill -9 "$BROKER_PID"
        wait "$BROKER_PID" 2>/dev/null
        BROKER_KILLS=$(( BROKER_KILLS + 1 ))
        down=$(( RANDOM % 1500 ))
        sleep "$(printf '0.%03d' "$down")"
        EVENTS+=("${t}s: broker killed, restarted after ${down} ms")
        start_broker
    elif [ "$WORKER_KILLS" -lt "$MAX_WORKER_KILLS" ]; then
        k=$(( RANDOM % ${#WLIVE[@]} ))
        victim=${WLIVE[$k]}
        running=$(sql "select id || '/' || attempt from jobs where state = 'running' and worker like '%:$victim'" 2>/dev/null)
        kill_hard "$victim"             # its training process is killed on exit
        WLIVE=("${WLIVE[@]:0:$k}" "${WLIVE[@]:$(( k + 1 ))}")
        WORKER_KILLS=$(( WORKER_KILLS + 1 ))
        new_worker
        EVENTS+=("${t}s: worker $victim killed (running job/attempt: ${running:-none}), replaced by $WORKER_PID")
    fi
done
check_alive
chaos_secs=$(( $(date +%s) - start ))
printf '  %s\n' "${EVENTS[@]}"
echo "chaos: ${chaos_secs}s, $WORKER_KILLS worker kills, $BROKER_KILLS broker kills; now letting the jobs finish"

wait "$SUBMITTER" || fail "the submitter gave up: $(grep FAILED "$T/ids"); $(tail -n 3 "$T/submit.err")"
[ "$(submitted)" = "$JOBS" ] || fail "$(submitted) of $JOBS jobs submitted"
# Stuck means no job ended for FINISH_SECONDS
all_ended () { [ "$(ended)" -ge "$JOBS" ]; }
if ! wait_moving "$FINISH_SECONDS" all_ended ended; then
    check_alive
    fail "stuck: no job ended for ${FINISH_SECONDS}s: $(sql "select id || ':' || state || ':attempt ' || attempt || ':' || ifnull(worker, '-') from jobs where state not in ('succeeded', 'failed', 'stopped')" | tr '\n' ' ')"
fi
check_alive
total=$(( $(date +%s) - start ))

# --- The verdict, from the database --------------------------------------------------------
distinct=$(cut -d' ' -f2 "$T/ids" | sort -u | wc -l)
[ "$distinct" = "$JOBS" ] || fail "$JOBS submits gave $distinct distinct job ids"
in_db=$(sql "select count(*) from jobs")
[ "$in_db" = "$JOBS" ] || fail "the database holds $in_db jobs for $JOBS submits (a retried submit made a second job?)"
lost=$(( JOBS - $(sql "select count(*) from jobs where state = 'succeeded'") ))
dups=$(sql "select count(*) from (select job from attempts where outcome = 'succeeded' group by job having count(*) > 1)")
requeues=$(sql "select count(*) from attempts where outcome = 'worker_lost'")
attempts=$(sql "select count(*) from attempts")
resumed=$(sql "select count(*) from attempts where resumed_from_epoch > 0")
outcomes=$(sql "select ifnull(outcome, 'none') || ' ' || count(*) from attempts group by outcome order by count(*) desc" | paste -sd, -)
hit=$(sql "select count(distinct job) from attempts where outcome = 'worker_lost'")
fetched=0
for id in $(cut -d' ' -f2 "$T/ids"); do
    "$CLIENT" --timeout 10 fetch "$id" -o "$T/model-$id.safetensors" >/dev/null 2>>"$T/fetch.err" || continue
    want=$(sql "select model_hash from jobs where id = $id")
    got=$(sha256sum "$T/model-$id.safetensors" | cut -d' ' -f1)
    [ "$got" = "$want" ] || fail "job $id: fetched model sha256 $got, the broker recorded $want"
    fetched=$(( fetched + 1 ))
    rm -f "$T/model-$id.safetensors"
done

echo "chaos: seed $SEED, ${total}s: jobs $JOBS, worker kills $WORKER_KILLS, broker kills $BROKER_KILLS," \
     "requeues $requeues (jobs hit: $hit), attempts $attempts (resumed from a checkpoint: $resumed)," \
     "outcomes: $outcomes; duplicates $dups, lost $lost, models fetched $fetched"

failed=$(sql "select id || ' (' || state || ', attempt ' || attempt || '): ' || ifnull(error, '') from jobs where state != 'succeeded'")
[ -z "$failed" ] || fail "$lost jobs did not succeed: $(echo "$failed" | tr '\n' ';')"
[ "$dups" = 0 ] || fail "$dups jobs succeeded more than once: $(sql "select job from attempts where outcome = 'succeeded' group by job having count(*) > 1" | paste -sd' ')"
# The succeeded attempt is each job's last, and every attempt ended is recorded
bad=$(sql "select j.id from jobs j join attempts a on a.job = j.id and a.outcome = 'succeeded' where a.attempt != j.attempt")
[ -z "$bad" ] || fail "jobs whose success is not their last attempt: $bad"
unrecorded=$(sql "select j.id || '/' || coalesce(a.n, 0) from jobs j left join (select job, count(*) as n from attempts group by job) a on a.job = j.id where coalesce(a.n, 0) != j.attempt")
[ -z "$unrecorded" ] || fail "jobs whose attempts are not all recorded (job/rows): $unrecorded"
[ "$fetched" = "$JOBS" ] || fail "only $fetched of $JOBS models could be fetched: $(tail -n 3 "$T/fetch.err")"
ok "$JOBS jobs succeeded exactly once through $WORKER_KILLS worker kills and $BROKER_KILLS broker kills; every model fetched"
echo PASS
