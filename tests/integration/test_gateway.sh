#!/usr/bin/env bash
# test_gateway - mtgateway against a real broker and worker, with curl: the old service's
# commands as they were typed, every /api/v1 route with good and bad input, the JSON equal to
# mtclient --json's, the limits (body size, a stalled client), the OpenAPI document, and the
# broker going away and coming back while the gateway stays up
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gateway_lib.sh"

PY=/usr/bin/python3

alive () {
    our_child "$GW_PID" || fail "the gateway (pid $GW_PID) is gone"
}

# --- Options refused before serving -------------------------------------------------------
refused_usage "a public --listen without tokens" "--tokens FILE" \
    "$GATEWAY" --listen "0.0.0.0:$(free_port)"
refused_usage "a bad --max-body" "--max-body" "$GATEWAY" --max-body 12Q
refused_usage "a missing --default-data" "--default-data" \
    "$GATEWAY" --default-data "$T/none.csv" --listen "127.0.0.1:$(free_port)"
refused_usage "--tls-cert without --tls-key" "--tls-key" \
    "$GATEWAY" --tls-cert "$T/none.pem" --listen "127.0.0.1:$(free_port)"

start_broker
start_workers 1
start_gateway --default-data "$MT_TEST_DATA/sample_dataset.csv" --idle-timeout 2 --timeout 2
PORT=${GW##*:}
ok "gateway $GW_PID at $GW"

# --- The old service's commands, exactly -----------------------------------------------
out=$(curl -X POST http://127.0.0.1:$PORT/api/train -H "Content-Type: application/json" -d '{"epochs":2,"batch_size":16,"lr":0.01}' 2>/dev/null)
job=$(echo "$out" | jq -r .job_id)
[ "$(echo "$out" | jq -r .status)" = queued ] || fail "POST /api/train: $out"
[ "$job" -ge 1 ] 2>/dev/null || fail "POST /api/train gave no job id: $out"
[ "$(job_field "$job" spec.lr)" = 0.01 ] && [ "$(job_field "$job" spec.batch_size)" = 16 ] \
    || fail "job $job's spec is not the body's: $("$CLIENT" status "$job" --json | jq -c .spec)"
[ "$(job_field "$job" spec.target)" = y ] || fail "the default data's target is not y"
ok "POST /api/train queued job $job on the default data"
wait_trained "$job" succeeded 30
out=$(curl "http://127.0.0.1:$PORT/api/train/status?job_id=$job" 2>/dev/null)
[ "$(echo "$out" | jq -r '.job_id, .status, .progress.epoch' | tr '\n' ' ')" = "$job succeeded 2 " ] \
    || fail "status: $out"
[ "$(echo "$out" | jq -r 'keys_unsorted[0:3] | join(",")')" = "job_id,status,progress" ] \
    || fail "status does not start with job_id, status, progress"
ok "GET /api/train/status: succeeded at epoch 2"
out=$(curl -X POST http://127.0.0.1:$PORT/api/train/stop -H "Content-Type: application/json" -d "{\"job_id\":$job}" 2>/dev/null)
[ "$(echo "$out" | jq -r .error.code)" = bad_state ] || fail "stopping a finished job: $out"
out=$(curl http://127.0.0.1:$PORT/api/train/jobs 2>/dev/null)
[ "$(echo "$out" | jq ".jobs | map(.id) | index($job) != null")" = true ] || fail "jobs: $out"
out=$(curl http://127.0.0.1:$PORT/health 2>/dev/null)
[ "$(echo "$out" | jq -c .)" = '{"status":"ok","broker":true,"workers":1}' ] || fail "health: $out"
ok "POST /api/train/stop (409 for a finished job), GET /api/train/jobs, GET /health"

# --- The same JSON as mtclient --json ----------------------------------------------------
expect 200 - GET "/api/v1/jobs/$job"
diff <(jq -S . "$T/body") <("$CLIENT" status "$job" --json | jq -S .) \
    || fail "GET /api/v1/jobs/$job differs from mtclient status --json"
expect 200 - GET /api/v1/jobs
diff <(jq -S .jobs "$T/body") <("$CLIENT" list --json | jq -S .) \
    || fail "GET /api/v1/jobs differs from mtclient list --json"
expect 200 - GET /api/v1/workers
diff <(jq -S '.workers | map(del(.last_seen_ms))' "$T/body") \
     <("$CLIENT" workers --json | jq -S 'map(del(.last_seen_ms))') \
    || fail "GET /api/v1/workers differs from mtclient workers --json"
ok "jobs/{id}, jobs and workers are mtclient's --json maps"

# --- Datasets and jobs ------------------------------------------------------------------
make_data "$T/big.csv" 20000
expect 201 - POST "/api/v1/datasets?name=big.csv" --data-binary "@$T/big.csv"
hash=$(jq -r .hash "$T/body")
[ "$hash" = "$(sha256sum "$T/big.csv" | cut -c1-64)" ] || fail "upload hash: $(cat "$T/body")"
[ "$(jq -r .size "$T/body")" = "$(stat -c %s "$T/big.csv")" ] || fail "upload size"
expect 400 bad_request POST /api/v1/datasets --data-binary ""
ok "POST /api/v1/datasets: hash and size of the upload; an empty body is 400"
spec="{\"dataset\":\"$hash\",\"data_name\":\"big.csv\",\"target\":\"y\",\"epochs\":100000,\"checkpoint_every\":1,\"name\":\"long\"}"
expect 201 - POST /api/v1/jobs -H "Content-Type: application/json" -d "$spec"
long=$(jq -r .job_id "$T/body")
[ "$(jq -r .existing "$T/body")" = false ] || fail "a new job is existing"
keyed="{\"key\":\"k1\",\"dataset\":\"$hash\",\"target\":\"y\",\"epochs\":1,\"priority\":-5}"
expect 201 - POST /api/v1/jobs -d "$keyed"
first=$(jq -r .job_id "$T/body")
expect 200 - POST /api/v1/jobs -d "$keyed"
[ "$(jq -r .job_id,.existing "$T/body" | tr '\n' ' ')" = "$first true " ] \
    || fail "the same key again: $(cat "$T/body")"
ok "POST /api/v1/jobs: job $long; a key given twice answers job $first, existing"
expect 400 bad_request POST /api/v1/jobs -d '{"epochs": 2,'
expect 400 bad_request POST /api/v1/jobs -d '[1, 2]'
expect 400 bad_request POST /api/v1/jobs
expect 400 bad_spec POST /api/v1/jobs -d '{"epochs": "two"}'
grep -q "epochs" "$T/body" || fail "bad_spec does not name the field: $(cat "$T/body")"
expect 400 bad_spec POST /api/v1/jobs -d '{"epoch": 2}'
grep -q "epoch" "$T/body" || fail "an unknown field is not named: $(cat "$T/body")"
expect 400 bad_spec POST /api/v1/jobs -d '{"dataset": 5, "target": "y"}'
expect 404 not_found POST /api/v1/jobs -d "{\"dataset\":\"$(printf '%064d' 0)\",\"target\":\"y\"}"
expect 400 bad_request POST /api/train/stop -d '{"job_id": "one"}'
expect 400 bad_request GET /api/train/status
expect 400 bad_request GET "/api/train/status?job_id=x"
ok "malformed JSON, a wrong type, an unknown field, an unknown dataset: 400/404, named"

wait_state "$long" running 20
expect 200 - GET "/api/v1/jobs?state=running"
[ "$(jq -r '.jobs | map(.id) | join(",")' "$T/body")" = "$long" ] || fail "state=running: $(cat "$T/body")"
expect 200 - GET "/api/v1/jobs?name=long"
[ "$(jq -r '.jobs | map(.name) | unique | join(",")' "$T/body")" = long ] || fail "name=long"
expect 200 - GET "/api/v1/jobs?limit=1"
[ "$(jq '.jobs | length' "$T/body")" = 1 ] || fail "limit=1"
next=$(jq -r .next "$T/body")
[ "$next" != null ] || fail "limit=1 of 3 jobs has no next"
expect 200 - GET "/api/v1/jobs?limit=10&cursor=$next"
[ "$(jq "[.jobs[].id | select(. >= $next)] | length" "$T/body")" = 0 ] || fail "cursor"
[ "$(jq '.jobs | length' "$T/body")" = 2 ] && [ "$(jq -r .next "$T/body")" = null ] \
    || fail "the second page: $(cat "$T/body")"
expect 400 bad_request GET "/api/v1/jobs?state=done"
expect 400 bad_request GET "/api/v1/jobs?limit=0"
expect 400 bad_request GET "/api/v1/jobs?cursor=abc"
ok "GET /api/v1/jobs: state, name, limit, cursor and next; bad filters 400"

wait_epoch "$long" 1 30
expect 200 - GET "/api/v1/jobs/$long/history"
[ "$(jq -r .job_id "$T/body")" = "$long" ] && [ "$(jq '.history | length' "$T/body")" -ge 1 ] \
    && [ "$(jq '.history[0] | length' "$T/body")" = 5 ] || fail "history: $(head -c 300 "$T/body")"
expect 404 not_found GET /api/v1/jobs/987654/history
expect 400 bad_request GET /api/v1/jobs/abc
expect 404 not_found GET /api/v1/jobs/987654
expect 404 not_found POST /api/v1/jobs/987654/stop
expect 409 bad_state GET "/api/v1/jobs/$long/model"
ok "history; unknown jobs 404, a bad id 400, a model not there yet 409"
curl -s -o "$T/model.st" -D "$T/headers" "$GW/api/v1/jobs/$job/model"
"$CLIENT" fetch "$job" --out "$T/fetched.st" >/dev/null || fail "mtclient fetch"
cmp "$T/model.st" "$T/fetched.st" || fail "the model's bytes differ from mtclient fetch's"
grep -qi "content-disposition: attachment; filename=\"job-$job.safetensors\"" "$T/headers" \
    || fail "model headers: $(cat "$T/headers")"
ok "GET /api/v1/jobs/$job/model: mtclient fetch's bytes, as an attachment"

expect 200 - POST "/api/v1/jobs/$long/stop"
[ "$(jq -r .id "$T/body")" = "$long" ] || fail "stop: $(head -c 200 "$T/body")"
case $(jq -r .state "$T/body") in stopping|stopped) ;; *) fail "stop: state $(jq -r .state "$T/body")" ;; esac
wait_state "$long" stopped 30
expect 201 - POST /api/v1/jobs -d "$spec"
other=$(jq -r .job_id "$T/body")
wait_state "$other" running 20
out=$(curl -X POST http://127.0.0.1:$PORT/api/train/stop -H "Content-Type: application/json" -d "{\"job_id\":$other}" 2>/dev/null)
case $(echo "$out" | jq -r .status) in stopping|stopped) ;; *) fail "old stop: $out" ;; esac
wait_state "$other" stopped 30
ok "POST /api/v1/jobs/$long/stop and POST /api/train/stop stopped running jobs"

# --- The rest of the routes ----------------------------------------------------------
expect 200 - GET /api/v1/stats
[ "$(jq .jobs.stopped "$T/body")" = 2 ] && [ "$(jq ".workers.idle + .workers.busy" "$T/body")" = 1 ] \
    || fail "stats: $(cat "$T/body")"
expect 200 - GET /api/v1/whoami
[ "$(jq -c . "$T/body")" = '{"name":"local","role":"admin"}' ] || fail "whoami: $(cat "$T/body")"
expect 200 - GET /metrics
grep -q '^mt_jobs{state="stopped"} 2' "$T/body" || fail "/metrics: $(head -20 "$T/body")"
expect 404 not_found GET /api/v1/nothing
expect 405 method_not_allowed DELETE /api/v1/jobs
expect 405 method_not_allowed GET /api/train
ok "stats, whoami, metrics; unknown routes 404, wrong methods 405"

# --- The dashboard's files ----------------------------------------------------------
[ "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$GW/")" = "200 text/html; charset=utf-8" ] \
    || fail "GET /"
[ "$(curl -s -o /dev/null -w '%{content_type}' "$GW/static/app.js")" = "text/javascript; charset=utf-8" ] \
    || fail "/static/app.js's type"
[ "$(curl -s -o /dev/null -w '%{content_type}' "$GW/static/app.css")" = "text/css; charset=utf-8" ] \
    || fail "/static/app.css's type"
for path in "/static/../../CMakeCache.txt" "/static/.hidden" "/static/%2e%2e/mtgateway" \
            "/static/" "/static/nothing.js"; do
    expect 404 not_found GET "$path" --path-as-is
done
ok "/ and /static/*, with their content types; no way out of the folder"

# --- OpenAPI: parses, and names every route the gateway has --------------------------
expect 200 - GET /api/openapi.json
cmp "$T/body" "$MT_SOURCE_DIR/proto/openapi.json" || fail "/api/openapi.json is not proto/openapi.json"
grep -oE '\{ "(GET|POST)", +"[^"]+"' "$MT_SOURCE_DIR/client/gateway/api.c" \
    | sed -E 's/\{ "([A-Z]+)", +"([^"]+)"/\1 \2/' > "$T/routes"
[ "$(wc -l < "$T/routes")" -ge 17 ] || fail "the route table was not read from api.c"
"$PY" - "$T/body" "$T/routes" <<'EOF' || fail "openapi.json misses routes"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3."), doc["openapi"]
missing = []
for line in open(sys.argv[2]):
    method, path = line.split()
    if method.lower() not in doc["paths"].get(path, {}):
        missing.append(line.strip())
for path in ["/", "/static/{file}", "/vendor/chart.js", "/api/openapi.json"]:
    if "get" not in doc["paths"].get(path, {}):
        missing.append("GET " + path)
for path, ops in doc["paths"].items():
    for op in ops.values():
        assert op["responses"], path
if missing:
    print("not in openapi.json:", missing)
    sys.exit(1)
EOF
ok "openapi.json parses and lists all $(wc -l < "$T/routes") routes and the static ones"

# --- Limits ---------------------------------------------------------------------------
head -c 1100000 /dev/zero | tr '\0' ' ' > "$T/big.json"
expect 413 too_large POST /api/v1/jobs -H "Content-Type: application/json" --data-binary "@$T/big.json"
grep -q -- "--max-body" "$T/body" || fail "413 does not name --max-body"
expect 413 too_large POST /api/v1/jobs -H "Transfer-Encoding: chunked" --data-binary "@$T/big.json"
ok "a body over 1 MiB is 413 (with a length, and chunked)"
# A client that sends half its headers and stalls is closed after --idle-timeout
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n' >&5
expect 200 - GET /health
rc=0
timeout 30 cat <&5 > "$T/stalled" || rc=$?
exec 5<&-
[ "$rc" -ne 124 ] || fail "the stalled connection was still open after 30 s"
[ ! -s "$T/stalled" ] || fail "the stalled request got an answer: $(cat "$T/stalled")"
alive
ok "a stalled client was closed, and others were answered meanwhile"

# --- The broker away and back ----------------------------------------------------------
kill_ours -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
# A cached job map may still be served until the hub sees the connection drop (it checks
# every HUB_IDLE_MS, 50 ms); then the cache is emptied and every route answers 503
gone () { [ "$(code GET "/api/v1/jobs/$job")" = 503 ]; }
wait_for "the gateway to see the broker gone" 10 gone
expect 503 broker_unavailable GET "/api/v1/jobs/$job"
expect 503 broker_unavailable GET /api/v1/jobs
expect 503 - GET /health
[ "$(jq -c . "$T/body")" = '{"status":"unavailable","broker":false,"workers":0}' ] \
    || fail "health without a broker: $(cat "$T/body")"
expect 503 broker_unavailable POST /api/train -d '{"epochs":1}'
alive
ok "the broker stopped: 503 broker_unavailable, /health says broker false"
start_broker
wait_for "the gateway to see the broker again" 20 curl -sf "$GW/health"
expect 200 - GET "/api/v1/jobs/$job"
[ "$(jq -r .state "$T/body")" = succeeded ] || fail "after the restart: $(head -c 200 "$T/body")"
alive
ok "the broker restarted: the gateway (pid $GW_PID, still up) answers again"
echo PASS
