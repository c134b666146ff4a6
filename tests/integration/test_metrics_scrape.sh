#!/usr/bin/env bash
# test_metrics_scrape - /metrics parses with python3-prometheus-client and its job counts
# match `mtclient list --json`; counters, workers and histograms agree with what was done
. "$(dirname "$0")/lib.sh"

GATEWAY=$MT_BIN_DIR/mtgateway
PY=/usr/bin/python3
[ -x "$GATEWAY" ] || fail "$GATEWAY is missing: build the mtgateway target"
"$PY" -c "import prometheus_client" 2>/dev/null \
    || fail "python3-prometheus-client is missing (apt-get install python3-prometheus-client)"
need curl curl

start_broker
port=$(free_port)
"$GATEWAY" --broker "$CLIENTS" --listen "127.0.0.1:$port" >>"$T/gateway.log" 2>&1 &
PIDS+=("$!")
URL=http://127.0.0.1:$port
wait_for "the gateway to answer /health" 10 curl -sf "$URL/health"

# Before any worker: three queued jobs, one of them stopped at once; then a worker runs two
ids=()
for i in 1 2 3; do
    ids+=("$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y \
            --epochs 3 --name "scrape-$i")") || fail "submit $i"
done
"$CLIENT" stop "${ids[2]}" >/dev/null || fail "stop ${ids[2]}"
start_workers 1
wait_trained "${ids[0]}" succeeded 30
wait_trained "${ids[1]}" succeeded 30
"$CLIENT" list --json > "$T/list.json" || fail "mtclient list --json"
curl -sf -D "$T/headers" "$URL/metrics" > "$T/metrics.txt" || fail "GET /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/headers" \
    || fail "/metrics Content-Type: $(grep -i '^content-type' "$T/headers")"

"$PY" - "$T/metrics.txt" "$T/list.json" <<'PYEOF' || fail "/metrics does not match mtclient list"
import collections, json, sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
jobs = json.load(open(sys.argv[2]))
families = {f.name: f for f in text_string_to_metric_families(text)}   # raises on bad text

def samples(family, name=None):
    return [s for s in families[family].samples if name is None or s.name == name]

def check(cond, what):
    if not cond:
        sys.exit("mismatch: " + what)
    print("ok: " + what)

want = {"mt_jobs": "gauge", "mt_workers": "gauge", "mt_jobs_submitted": "counter",
        "mt_jobs_finished": "counter", "mt_attempts": "counter",
        "mt_queue_wait_seconds": "histogram", "mt_job_duration_seconds": "histogram",
        "mt_broker_commit_seconds": "histogram", "mt_build_info": "gauge"}
for name, kind in want.items():
    check(name in families and families[name].type == kind, "%s is a %s" % (name, kind))

by_state = collections.Counter(job["state"] for job in jobs)
gauge = {s.labels["state"]: int(s.value) for s in samples("mt_jobs")}
for state in ("queued", "running", "stopping", "succeeded", "failed", "stopped"):
    check(gauge.get(state, 0) == by_state.get(state, 0),
          "mt_jobs{state=%s} %d = mtclient list's %d" % (state, gauge.get(state, 0),
                                                         by_state.get(state, 0)))
submitted = samples("mt_jobs_submitted", "mt_jobs_submitted_total")
check(len(submitted) == 1 and int(submitted[0].value) == len(jobs),
      "mt_jobs_submitted_total = %d jobs" % len(jobs))
finished = {s.labels["outcome"]: int(s.value)
            for s in samples("mt_jobs_finished", "mt_jobs_finished_total")}
check(finished.get("succeeded") == 2 and finished.get("stopped") == 1,
      "mt_jobs_finished_total: %s" % finished)
attempts = {s.labels["outcome"]: int(s.value)
            for s in samples("mt_attempts", "mt_attempts_total")}
check(attempts.get("succeeded") == 2, "mt_attempts_total: %s" % attempts)
workers = {s.labels["state"]: int(s.value) for s in samples("mt_workers")}
check(sum(workers.values()) == 1, "mt_workers: %s" % workers)

for name in ("mt_queue_wait_seconds", "mt_job_duration_seconds", "mt_broker_commit_seconds"):
    buckets = samples(name, name + "_bucket")
    count = samples(name, name + "_count")
    check(buckets and buckets[-1].labels["le"] == "+Inf" and count
          and buckets[-1].value == count[0].value,
          "%s: the +Inf bucket is the count (%s)" % (name, count and count[0].value))
    values = [b.value for b in buckets]
    check(values == sorted(values), "%s: buckets are cumulative" % name)
check(samples("mt_queue_wait_seconds", "mt_queue_wait_seconds_count")[0].value >= 2,
      "two jobs waited in the queue and started")
check(samples("mt_job_duration_seconds", "mt_job_duration_seconds_count")[0].value >= 2,
      "two jobs ran to their end")
check(samples("mt_broker_commit_seconds", "mt_broker_commit_seconds_count")[0].value >= 1,
      "the broker timed its commits")
check(len(samples("mt_build_info")) == 1 and samples("mt_build_info")[0].value == 1,
      "mt_build_info 1")
PYEOF
ok "/metrics parsed and matches mtclient list"
echo PASS
