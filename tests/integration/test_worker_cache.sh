#!/usr/bin/env bash
# test_worker_cache - mtworker --cache-max-bytes: the cached tables stay within the bound, least recently used going first and the job's own staying; a table evicted is fetched again; each job folder goes when its job ends; a bad bound is refused
. "$(dirname "$0")/lib.sh"

out=$("$WORKER" --broker tcp://127.0.0.1:1 --cache-dir "$T/bad" --cache-max-bytes lots 2>&1) \
    && fail "--cache-max-bytes lots was taken"
echo "$out" | grep -q "cache-max-bytes: 'lots' is not a byte count" || fail "bad bound: $out"
ok "a bad --cache-max-bytes is refused: $out"

start_broker
BOUND=25000
start_worker 1 --cache-max-bytes "$BOUND"
wait_for "worker 1" 10 workers_connected 1
CACHE=$T/cache-1

# three tables of about 10 KB each: two fit the bound, three do not
for n in 300 301 302; do make_data "$T/t$n.csv" "$n"; done
hash_of () { sha256sum "$1" | cut -d' ' -f1; }
cached () { [ -e "$CACHE/blobs/$(hash_of "$1")" ]; }
cache_bytes () { du -cb "$CACHE"/blobs/* 2>/dev/null | tail -1 | cut -f1; }
train () {
    local j
    j=$("$CLIENT" submit --data "$1" --target y --epochs 2) || fail "submit $1"
    wait_state "$j" succeeded 30
    echo "$j"
}

train "$T/t300.csv" >/dev/null
train "$T/t301.csv" >/dev/null
cached "$T/t300.csv" && cached "$T/t301.csv" || fail "two tables within the bound were not both kept"
train "$T/t302.csv" >/dev/null
cached "$T/t300.csv" && fail "the least recently used table was kept past the bound"
cached "$T/t301.csv" && cached "$T/t302.csv" || fail "the newer tables were not kept"
[ "$(cache_bytes)" -le "$BOUND" ] || fail "the cache holds $(cache_bytes) bytes, over $BOUND"
ok "the third table evicted the least recently used one: $(cache_bytes) bytes cached of $BOUND"

# the evicted table is fetched again, and now the oldest (t301) goes
j=$(train "$T/t300.csv")
cached "$T/t300.csv" && cached "$T/t302.csv" || fail "job $j's table or the newer one is missing"
cached "$T/t301.csv" && fail "the least recently used table (t301) was kept past the bound"
[ "$(job_field "$j" metrics.epochs_run)" = 2 ] || fail "job $j on the re-fetched table"
ok "an evicted table is fetched again for the next job that needs it"

# no job folder outlives its job (the spare kept for the next job aside)
left=$(find "$CACHE/jobs" -mindepth 1 -maxdepth 1 ! -name '.spare' ! -name '.lock' | wc -l)
[ "$left" = 0 ] || fail "job folders left behind: $(ls -a "$CACHE/jobs")"
ok "no job folder outlives its job"
