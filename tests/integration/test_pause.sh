#!/usr/bin/env bash
# test_pause - a broker stopped for longer than the workers' liveness comes back without losing them
. "$(dirname "$0")/lib.sh"

# Heartbeats every 200 ms, a worker lost after 3 missed: the pause below is 5 liveness periods
start_broker --heartbeat-ms 200 --liveness 3
make_data "$T/big.csv" 20000
start_workers 2
j=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000) || fail "submit"
wait_state "$j" running 20
wait_epoch "$j" 2 60
w=$(job_field "$j" worker)

# The workers miss the broker's heartbeats meanwhile and reconnect, saying HELLO again
kill -STOP "$BROKER_PID"
sleep 3
kill -CONT "$BROKER_PID"
wait_for "the broker to note its pause" 10 grep -q "did not run for" "$T/broker.log"
epoch=$(job_field "$j" progress.epoch)
wait_epoch "$j" $((epoch + 2)) 60
[ "$(job_field "$j" state)" = running ] || fail "job $j is $(job_field "$j" state)"
[ "$(job_field "$j" attempt)" = 1 ] || fail "the pause cost job $j an attempt: $("$CLIENT" status "$j" --json | jq -c .attempts)"
[ "$(job_field "$j" worker)" = "$w" ] || fail "job $j moved from $w to $(job_field "$j" worker)"
names=$("$CLIENT" workers --json | jq -r '.[].name' | sort)
[ "$(echo "$names" | wc -l)" = 2 ] && [ "$(echo "$names" | uniq | wc -l)" = 2 ] \
    || fail "workers after the pause: $(echo $names)"
ok "broker paused 3 s (5 liveness periods): job $j kept attempt 1 on $w, 2 workers, none twice"

"$CLIENT" stop "$j" >/dev/null || fail "stop"
wait_state "$j" stopped 30
echo PASS
