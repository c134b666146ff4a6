#!/usr/bin/env bash
# test_stats - `mtclient stats --json`: the broker's counts match `mtclient list`, before and
# after a restart (seeded from the database), and the histograms gain what ran
. "$(dirname "$0")/lib.sh"

start_broker

# stats --json counts of each state equal those of list --json; $1 names the moment
counts_match () {
    local stats list s
    stats=$("$CLIENT" stats --json) || fail "$1: stats"
    list=$("$CLIENT" list --json --limit 10000) || fail "$1: list"
    for s in queued running stopping succeeded failed stopped; do
        [ "$(jq ".jobs.$s" <<<"$stats")" = "$(jq "[.[] | select(.state == \"$s\")] | length" <<<"$list")" ] \
            || fail "$1: $s: stats says $(jq ".jobs.$s" <<<"$stats"), list $(jq -c '[.[] | .state]' <<<"$list")"
    done
    [ "$(jq .submitted_total <<<"$stats")" = "$(jq length <<<"$list")" ] \
        || fail "$1: submitted_total $(jq .submitted_total <<<"$stats") for $(jq length <<<"$list") jobs"
    for s in succeeded failed stopped; do
        [ "$(jq ".finished_total.$s" <<<"$stats")" = "$(jq ".jobs.$s" <<<"$stats")" ] \
            || fail "$1: finished_total.$s"
    done
}

counts_match "empty"
q=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5) || fail "submit"
s=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5) || fail "submit"
"$CLIENT" stop "$s" >/dev/null || fail "stop $s"
counts_match "one queued, one stopped"
[ "$("$CLIENT" stats --json | jq '.jobs.queued, .jobs.stopped' | tr '\n' ' ')" = "1 1 " ] \
    || fail "queued and stopped not 1 1: $("$CLIENT" stats --json | jq -c .jobs)"
ok "a queued and a stopped job counted"

start_workers 1
wait_state "$q" succeeded 60
counts_match "after a run"
st=$("$CLIENT" stats --json)
[ "$(jq .attempts_total.succeeded <<<"$st")" = 1 ] || fail "attempts_total: $(jq -c .attempts_total <<<"$st")"
[ "$(jq .histograms.queue_wait_seconds.count <<<"$st")" = 1 ] || fail "queue wait: $(jq -c .histograms.queue_wait_seconds <<<"$st")"
[ "$(jq .histograms.job_duration_seconds.count <<<"$st")" = 1 ] || fail "duration: $(jq -c .histograms.job_duration_seconds <<<"$st")"
[ "$(jq '.histograms.commit_seconds.count > 0' <<<"$st")" = true ] || fail "no commit observed"
[ "$(jq '.histograms.job_duration_seconds | (.counts | length) == (.le | length) + 1 and .counts[-1] == .count' <<<"$st")" = true ] \
    || fail "histogram shape: $(jq -c .histograms.job_duration_seconds <<<"$st")"
[ "$(jq '.workers.idle + .workers.busy' <<<"$st")" = 1 ] || fail "workers: $(jq -c .workers <<<"$st")"
ok "a run: attempts, queue wait, duration and commits observed; $(jq -c .workers <<<"$st")"

# The human form names each part
out=$("$CLIENT" stats) || fail "stats"
for word in jobs workers submitted finished attempts queue_wait_seconds job_duration_seconds commit_seconds; do
    grep -q "^$word" <<<"$out" || fail "stats has no $word line: $out"
done
ok "stats prints every part"

# A restarted broker counts from its database: the same counts, the histograms empty
kill_ours -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
start_broker
counts_match "after a restart"
st=$("$CLIENT" stats --json)
[ "$(jq .attempts_total.succeeded <<<"$st")" = 1 ] || fail "attempts after restart: $(jq -c .attempts_total <<<"$st")"
[ "$(jq .histograms.job_duration_seconds.count <<<"$st")" = 0 ] || fail "histograms kept across a restart"
ok "a restarted broker seeds its counts from the database"

# Bad input: stats takes no operand
refused_usage "stats with an operand" "stats" "$CLIENT" stats 12
echo PASS
