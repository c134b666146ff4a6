#!/usr/bin/env bash
# test_gateway_sweeps - mtgateway's sweep, paging, resume, delete and checkpoint routes against a
# real broker and 2 workers: a sweep made over HTTP on iris, its leaderboard equal to
# mtclient sweep status --json, stop and resume, jobs?sweep= pages, a job's checkpoint equal to
# mtclient fetch --checkpoint's, resume and delete of a job, the roles, and bad input on each
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gateway_lib.sh"

need jq jq

secret () { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

sweep_state () { curl -sf "$GW/api/v1/sweeps/$1" | jq -r .state; }
sweep_ended () { [ "$(sweep_state "$1")" != running ]; }
sweep_progress () { curl -sf "$GW/api/v1/sweeps/$1" | jq -c '[.trials[] | [.state, .epochs_run]]'; }
has_checkpoint () { local c; c=$(job_field "$1" checkpoint_epoch); [ "$c" != null ] && [ "$c" -gt 0 ]; }

start_broker
start_workers 2
start_gateway --timeout 5

# --- A sweep made over HTTP --------------------------------------------------------------
expect 201 - POST "/api/v1/datasets?name=iris.csv" --data-binary "@$MT_TEST_DATA/iris.csv"
iris=$(jq -r .hash "$T/body")
base="\"dataset\":\"$iris\",\"data_name\":\"iris.csv\",\"target\":\"species\",\"task\":\"classification\",\"val_split\":0.25"
body="{$base,\"epochs\":4,\"params\":[\"lr=0.1|0.03|0.01\",\"hidden=8|16\"],\"search\":\"grid\",\"parallel\":2,\"early_stop\":\"none\",\"name\":\"gw-grid\"}"
expect 201 - POST /api/v1/sweeps -H "Content-Type: application/json" -d "$body"
s=$(jq -r .sweep "$T/body")
[ "$(jq -r .trials "$T/body")" = 6 ] || fail "a 3x2 grid is not 6 trials: $(cat "$T/body")"
expect 200 - GET /api/v1/sweeps
jq -e --argjson s "$s" '.sweeps[0].id == $s and .sweeps[0].name == "gw-grid"' "$T/body" \
    >/dev/null || fail "GET /api/v1/sweeps does not list sweep $s first: $(cat "$T/body")"
wait_moving 60 "sweep_ended $s" "sweep_progress $s" || fail "sweep $s stalled"
expect 200 - GET "/api/v1/sweeps/$s"
[ "$(jq -r .state "$T/body")" = finished ] || fail "sweep $s: $(cat "$T/body")"
[ "$(jq '.trials | length' "$T/body")" = 6 ] || fail "the leaderboard has not 6 trials"
diff <(jq -S . "$T/body") <("$CLIENT" sweep status "$s" --json | jq -S .) \
    || fail "GET /api/v1/sweeps/$s differs from mtclient sweep status --json"
expect 200 - GET "/api/v1/sweeps/$s?full=1"
jq -e '.full.counts.succeeded == 6 and (.full.trials | length) == 6' "$T/body" >/dev/null \
    || fail "?full=1 has not the broker's map: $(jq -c .full.counts "$T/body")"
ok "POST /api/v1/sweeps: sweep $s of 6 trials finished; its leaderboard is mtclient's JSON"

# --- jobs?sweep= pages, with the cursor --------------------------------------------------
want=$("$CLIENT" list --sweep "$s" --json | jq -c '[.[].id]')
[ "$(echo "$want" | jq length)" = 6 ] || fail "mtclient list --sweep $s: $want"
got="[]" cursor="" pages=0
while :; do
    expect 200 - GET "/api/v1/jobs?sweep=$s&limit=4${cursor:+&cursor=$cursor}"
    jq -e --argjson s "$s" 'all(.jobs[]; .sweep == $s)' "$T/body" >/dev/null \
        || fail "a job of another sweep on a page of sweep $s"
    got=$(jq -c --argjson got "$got" '$got + [.jobs[].id]' "$T/body")
    pages=$(( pages + 1 ))
    cursor=$(jq -r '.next // empty' "$T/body")
    [ -n "$cursor" ] || break
    [ "$pages" -lt 10 ] || fail "the pages of sweep $s do not end"
done
[ "$pages" -ge 2 ] || fail "6 jobs at limit 4 came in $pages page"
[ "$got" = "$want" ] || fail "the pages hold $got, not $want"
expect 200 - GET "/api/v1/jobs?sweep=$s&state=succeeded&limit=100"
[ "$(jq '.jobs | length' "$T/body")" = 6 ] && [ "$(jq -r .next "$T/body")" = null ] \
    || fail "sweep and state filters: $(jq -c '[.jobs[].id], .next' "$T/body")"
expect 200 - GET "/api/v1/jobs?name=gw-grid:1"
jq -e '(.jobs | length) == 1 and .jobs[0].name == "gw-grid:1"' "$T/body" >/dev/null \
    || fail "name filter: $(jq -c '[.jobs[].name]' "$T/body")"
ok "GET /api/v1/jobs?sweep=$s: $pages pages of 4, no gap, in mtclient's order; state, name filters"

# --- Stop and resume a sweep -------------------------------------------------------------
body="{$base,\"epochs\":1000000,\"checkpoint_every\":10,\"params\":[\"lr=0.1|0.01|0.001\"],\"search\":\"grid\",\"parallel\":2,\"early_stop\":\"none\"}"
expect 201 - POST /api/v1/sweeps -d "$body"
long=$(jq -r .sweep "$T/body")
running_trial () { curl -sf "$GW/api/v1/jobs?sweep=$long&state=running" | jq -e '.jobs | length > 0'; }
wait_for "a running trial of sweep $long" 30 running_trial
expect 200 - POST "/api/v1/sweeps/$long/stop"
[ "$(jq -r .state "$T/body")" = stopped ] || fail "stop: $(cat "$T/body")"
expect 409 bad_state POST "/api/v1/sweeps/$long/stop"
active () { curl -sf "$GW/api/v1/sweeps/$long" | jq -e '[.trials[] | select(.state == "queued" or .state == "running" or .state == "stopping")] | length == 0'; }
wait_for "sweep $long's trials to stop" 60 active
expect 200 - POST "/api/v1/sweeps/$long/resume"
[ "$(jq -r .state "$T/body")" = running ] && [ "$(jq -r .resumed "$T/body")" -ge 1 ] \
    || fail "resume: $(cat "$T/body")"
expect 200 - POST "/api/v1/sweeps/$long/stop"
wait_for "sweep $long's trials to stop again" 60 active
ok "POST /api/v1/sweeps/$long/stop and /resume; a second stop is 409"

# --- A job's checkpoint, resume and delete -----------------------------------------------
expect 201 - POST /api/v1/jobs -d "{$base,\"epochs\":1000000,\"checkpoint_every\":10}"
j=$(jq -r .job_id "$T/body")
wait_state "$j" running 30
expect 409 bad_state DELETE "/api/v1/jobs/$j"
expect 200 - POST "/api/v1/jobs/$j/stop"
wait_state "$j" stopped 60
has_checkpoint "$j" || fail "stopped job $j has no checkpoint"
expect 200 - GET "/api/v1/jobs/$j/checkpoint"
cp "$T/body" "$T/http.ckpt"
"$CLIENT" fetch "$j" --checkpoint -o "$T/client.ckpt" >/dev/null || fail "mtclient fetch --checkpoint"
[ -s "$T/http.ckpt" ] && cmp "$T/http.ckpt" "$T/client.ckpt" \
    || fail "GET /api/v1/jobs/$j/checkpoint differs from mtclient fetch --checkpoint"
disposition=$(curl -sI "$GW/api/v1/jobs/$j/checkpoint" | tr -d '\r' | grep -i '^content-disposition')
echo "$disposition" | grep -q "job-$j-checkpoint.safetensors" || fail "disposition: $disposition"
expect 200 - POST "/api/v1/jobs/$j/resume"
[ "$(jq -r .job.state "$T/body")" = queued ] || fail "resume: $(cat "$T/body")"
expect 409 bad_state POST "/api/v1/jobs/$j/resume"
wait_state "$j" running 30
expect 200 - POST "/api/v1/jobs/$j/stop"
wait_state "$j" stopped 60
ok "GET /api/v1/jobs/$j/checkpoint is mtclient fetch --checkpoint's bytes; resume queues it"

done_job=$(echo "$want" | jq -r '.[0]')
expect 409 bad_state GET "/api/v1/jobs/$done_job/checkpoint"
expect 200 - DELETE "/api/v1/jobs/$j"
[ "$(jq -r .job_id "$T/body")" = "$j" ] && jq -e '.blobs >= 0' "$T/body" >/dev/null \
    || fail "delete: $(cat "$T/body")"
expect 404 not_found GET "/api/v1/jobs/$j"
expect 404 not_found DELETE "/api/v1/jobs/$j"
ok "DELETE /api/v1/jobs/$j: gone (404) after; a running job is 409"

# --- Bad input on each new route ---------------------------------------------------------
expect 400 bad_request GET "/api/v1/sweeps/x"
expect 404 not_found GET "/api/v1/sweeps/999999"
expect 404 not_found POST "/api/v1/sweeps/999999/stop"
expect 404 not_found POST "/api/v1/sweeps/999999/resume"
expect 400 bad_request POST "/api/v1/sweeps/0/resume"
expect 400 bad_request GET "/api/v1/sweeps?limit=0"
expect 400 bad_request POST /api/v1/sweeps -d '{"params": ['
expect 400 bad_spec POST /api/v1/sweeps -d "{$base,\"epochs\":2}"
expect 400 bad_spec POST /api/v1/sweeps -d "{$base,\"params\":\"lr=0.1\"}"
expect 400 bad_spec POST /api/v1/sweeps -d "{$base,\"params\":[\"speed=1|2\"]}"
grep -q "speed" "$T/body" || fail "an unknown parameter's error does not name it: $(cat "$T/body")"
expect 400 bad_spec POST /api/v1/sweeps -d "{\"target\":\"y\",\"params\":[\"lr=0.1|0.2\"]}"
expect 400 bad_request POST /api/v1/sweeps -d "{$base,\"key\":\"k\",\"params\":[\"lr=0.1|0.2\"]}"
expect 400 bad_request GET "/api/v1/jobs?sweep=x"
expect 400 bad_request GET "/api/v1/jobs?cursor=0"
expect 400 bad_request GET "/api/v1/jobs?state=lost"
expect 400 bad_request POST "/api/v1/jobs/x/resume"
expect 404 not_found POST "/api/v1/jobs/999999/resume"
expect 400 bad_request DELETE "/api/v1/jobs/-1"
expect 404 not_found DELETE "/api/v1/jobs/999999"
expect 404 not_found GET "/api/v1/jobs/999999/checkpoint"
expect 400 bad_request GET "/api/v1/jobs/1x/checkpoint"
ok "bad input on every new route: 400 naming it, 404 unknown"

# A trial is deleted with its sweep only; a plain job that ended, on its own
expect 201 - POST /api/v1/jobs -d "{$base,\"epochs\":1}"
plain=$(jq -r .job_id "$T/body")
wait_state "$plain" succeeded 60

# --- Roles: read may GET, submit may create, stop and resume, delete needs admin ----------
READ=$(secret) SUBMIT=$(secret) ADMIN=$(secret)
printf 'viewer read %s\nci submit %s\nops admin %s\n' "$READ" "$SUBMIT" "$ADMIN" > "$T/tokens"
chmod 600 "$T/tokens"
start_gateway --tokens "$T/tokens"
auth () { echo "Authorization: Bearer $1"; }
expect 200 - GET "/api/v1/sweeps/$s" -H "$(auth "$READ")"
expect 403 forbidden POST /api/v1/sweeps -H "$(auth "$READ")" -d "{$base,\"params\":[\"lr=0.1\"]}"
expect 403 forbidden POST "/api/v1/sweeps/$long/resume" -H "$(auth "$READ")"
expect 403 forbidden POST "/api/v1/jobs/$done_job/resume" -H "$(auth "$READ")"
expect 409 bad_state POST "/api/v1/jobs/$done_job/resume" -H "$(auth "$SUBMIT")"
expect 403 forbidden DELETE "/api/v1/jobs/$plain" -H "$(auth "$SUBMIT")"
expect 200 - DELETE "/api/v1/jobs/$plain" -H "$(auth "$ADMIN")"
expect 409 bad_state DELETE "/api/v1/jobs/$done_job" -H "$(auth "$ADMIN")"
ok "roles: read GETs, submit resumes, delete needs admin; a trial goes only with its sweep"

# --- The OpenAPI document names every new route ------------------------------------------
curl -sf "$GW/api/openapi.json" > "$T/openapi.json" || fail "GET /api/openapi.json"
for route in "get /api/v1/sweeps" "post /api/v1/sweeps" "get /api/v1/sweeps/{id}" \
             "post /api/v1/sweeps/{id}/stop" "post /api/v1/sweeps/{id}/resume" \
             "post /api/v1/jobs/{id}/resume" "delete /api/v1/jobs/{id}" \
             "get /api/v1/jobs/{id}/checkpoint"; do
    set -- $route
    jq -e --arg m "$1" --arg p "$2" '.paths[$p][$m]' "$T/openapi.json" >/dev/null \
        || fail "openapi.json has no $route"
done
ok "openapi.json names every new route"
