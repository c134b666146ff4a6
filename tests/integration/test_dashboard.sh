#!/usr/bin/env bash
# test_dashboard - the dashboard in headless Chromium: jobs listed, a live curve, stop, a
# checkpoint link, the workers, the submit form, a sweep's leaderboard and curves, the sweep
# form, and sign-in with --tokens; screenshots in $MT_BIN_DIR/artifacts
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gateway_lib.sh"

ART=$MT_BIN_DIR/artifacts
PY=/usr/bin/python3
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
    if [ ! -x "$tool" ]; then
        echo "skip: $tool is missing (apt-get install chromium chromium-driver)" >&2
        exit 77
    fi
done
"$PY" -c "import selenium" 2>/dev/null \
    || { echo "skip: python3-selenium is missing (apt-get install python3-selenium)" >&2; exit 77; }
need jq jq
mkdir -p "$ART"

# run_browser MODE ARGS...: dashboard.py; its skip (77) is ours, its failure fails the test
run_browser () {
    local rc=0
    "$PY" "$(dirname "$0")/dashboard.py" "$@" || rc=$?
    [ "$rc" -eq 77 ] && exit 77
    [ "$rc" -eq 0 ] || fail "the dashboard check '$1' failed (screenshots in $ART)"
}

start_broker
start_workers 1
make_data "$T/big.csv" 20000
start_gateway

# One job that finished (with a model), one that runs until stopped
done_job=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5 \
           --name quick) || fail "submit quick"
wait_trained "$done_job" succeeded 30
long_job=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000 \
           --checkpoint-every 1 --name long) || fail "submit long"
wait_state "$long_job" running 20
ok "jobs $done_job (succeeded) and $long_job (running) to look at"

run_browser open "$GW" "$ART" "$MT_TEST_DATA/sample_dataset.csv" "$done_job" "$long_job"
[ "$(job_field "$long_job" state)" = stopped ] \
    || fail "the broker says job $long_job is $(job_field "$long_job" state), not stopped"
ok "the broker agrees: job $long_job stopped"

# A small sweep on iris, ASHA pruning at epochs 1 and 2 (eta 2)
sweep=$("$CLIENT" sweep --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
        --val-split 0.25 --epochs 6 --param 'lr=0.3|0.1|0.03|0.01|0.003' --param 'hidden=8|16' \
        --search grid --early-stop asha --min-epochs 1 --reduction 2 --parallel 2 \
        --name dash) || fail "sweep"
sweep_ended () { [ "$("$CLIENT" sweep status "$sweep" --json | jq -r .state)" != running ]; }
sweep_progress () { "$CLIENT" sweep status "$sweep" --json | jq -c '[.trials[] | .epochs_run]'; }
wait_moving 60 sweep_ended sweep_progress || fail "sweep $sweep stalled"
run_browser sweep "$GW" "$ART" "$sweep"
# The sweeps page's form makes a sweep whose trials the broker runs
run_browser sweepform "$GW" "$ART" "$MT_TEST_DATA/iris.csv" species

# With tokens: sign-in first, then the same table
kill -TERM "$GW_PID"
wait "$GW_PID" 2>/dev/null
secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'viewer read %s\n' "$secret" > "$T/tokens"
chmod 600 "$T/tokens"
start_gateway --tokens "$T/tokens"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/api/v1/jobs")" = 401 ] \
    || fail "/api/v1/jobs answered without a token"
run_browser tokens "$GW" "$ART" "$secret" "$done_job"
ok "screenshots: $(cd "$ART" && ls dashboard-*.png | tr '\n' ' ')"
echo PASS
