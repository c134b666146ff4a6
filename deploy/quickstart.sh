#!/usr/bin/env bash
# quickstart.sh - from a fresh Debian 12 machine to a trained model, in one command.
#
#   deploy/quickstart.sh             build, start a broker, two workers and the HTTP gateway on
#                                    loopback (or keep the ones already running), train on
#                                    test_data, fetch the model
#   deploy/quickstart.sh --restart   stop the quickstart fleet first, then do the same
#   deploy/stop.sh                   stop the quickstart fleet
#
# Everything lives under mt-quickstart/ in the repository (or $MT_QUICKSTART_DIR): the database
# mt.db, the broker's blobs data/, the workers' caches cache-1/ and cache-2/, logs/, pid files.
# Ports: $MT_CLIENT_PORT (default 5555), $MT_WORKER_PORT (default 5556) and $MT_HTTP_PORT
# (the gateway and its dashboard, default 8080), on 127.0.0.1 only.
# Running it again is safe: processes still running from an earlier run are reused.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=deploy/quickstart-lib.sh
. "$top/deploy/quickstart-lib.sh"

restart=false
for arg in "$@"; do
    case $arg in
        --restart) restart=true ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "quickstart: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

client_port=${MT_CLIENT_PORT:-5555}
worker_port=${MT_WORKER_PORT:-5556}
http_port=${MT_HTTP_PORT:-8080}
for p in "$client_port" "$worker_port" "$http_port"; do
    if ! [[ $p =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
        echo "quickstart: bad port '$p' (MT_CLIENT_PORT / MT_WORKER_PORT / MT_HTTP_PORT take" \
             "1-65535)" >&2
        exit 2
    fi
done
if [ "$client_port" = "$worker_port" ]; then
    echo "quickstart: MT_CLIENT_PORT and MT_WORKER_PORT must differ (both are $client_port)" >&2
    exit 2
fi
client_ep=tcp://127.0.0.1:$client_port
worker_ep=tcp://127.0.0.1:$worker_port
export MT_BROKER=$client_ep     # every mtclient below talks to our broker
rel=${qs#"$top"/}               # the folder as shown to the user, relative to the repository

bold="" plain=""
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }

# --- 1. packages and build -------------------------------------------------------------------
step "Installing what is missing and building into build/ (deploy/setup.sh)"
"$top/deploy/setup.sh" "$top/build"
for b in mtbroker mtworker mtclient mtgateway; do
    [ -x "$build/$b" ] || { echo "quickstart: the build did not produce build/$b" >&2; exit 1; }
done

# --- 2. the fleet --------------------------------------------------------------------------
mkdir -p "$qs/data" "$qs/cache-1" "$qs/cache-2" "$qs/logs"

# A fleet from an earlier run on other ports, or built from binaries replaced since: restart it.
if ! $restart && [ -f "$qs/ports" ] && [ "$(cat "$qs/ports")" != "$client_port $worker_port" ] \
   && { qs_running broker || qs_running worker-1 || qs_running worker-2 \
        || qs_running gateway; }; then
    echo "quickstart: the running fleet uses ports $(cat "$qs/ports"); restarting it on" \
         "$client_port $worker_port"
    restart=true
fi
if $restart; then
    step "Stopping the quickstart fleet (--restart)"
    "$top/deploy/stop.sh"
fi
for name in broker worker-1 worker-2 gateway; do
    if qs_running "$name" && qs_stale "$name"; then
        echo "quickstart: $name (pid $(qs_pid "$name")) runs a binary rebuilt since; restarting it"
        qs_stop "$name"
    fi
done

# Say who holds a port, as far as we can tell.
port_owner() {
    command -v ss >/dev/null 2>&1 || return 0
    ss -Hltnp "sport = :$1" 2>/dev/null | sed 's/^/    /'
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

step "Starting the broker and two workers on 127.0.0.1:$client_port (clients), :$worker_port (workers)"
if qs_running broker; then
    echo "broker    already running (pid $(qs_pid broker))"
else
    busy=()
    for p in "$client_port" "$worker_port"; do
        port_busy "$p" && busy+=("$p")
    done
    if [ ${#busy[@]} -gt 0 ]; then
        {
            echo
            echo "quickstart: ERROR: port(s) ${busy[*]} on 127.0.0.1 are already in use by another"
            echo "program (not a broker started by this quickstart):"
            for p in "${busy[@]}"; do port_owner "$p"; done
            echo "Stop that program, or choose free ports, e.g.:"
            echo "    MT_CLIENT_PORT=6555 MT_WORKER_PORT=6556 deploy/quickstart.sh"
        } >&2
        exit 1
    fi
    qs_start broker "$build/mtbroker" --clients "$client_ep" --workers "$worker_ep" \
        --db "$qs/mt.db" --data-dir "$qs/data"
    echo "$client_port $worker_port" > "$qs/ports"
    # Ready when it answers a client.
    for _ in $(seq 1 50); do
        if ! qs_running broker; then
            echo "quickstart: the broker exited at once; the end of $rel/logs/broker.log:" >&2
            tail -n 5 "$qs/logs/broker.log" | sed 's/^/    /' >&2
            rm -f "$qs/broker.pid"
            exit 1
        fi
        "$build/mtclient" --timeout 1 workers >/dev/null 2>&1 && break
        sleep 0.2
    done
    "$build/mtclient" --timeout 2 workers >/dev/null ||
        { echo "quickstart: the broker (pid $(qs_pid broker)) does not answer on $client_ep" >&2; exit 1; }
    echo "broker    started (pid $(qs_pid broker)), log $rel/logs/broker.log"
fi
for i in 1 2; do
    if qs_running "worker-$i"; then
        echo "worker-$i  already running (pid $(qs_pid "worker-$i"))"
    else
        qs_start "worker-$i" "$build/mtworker" --broker "$worker_ep" --cache-dir "$qs/cache-$i"
        echo "worker-$i  started (pid $(qs_pid "worker-$i")), log $rel/logs/worker-$i.log"
    fi
done
# Both workers registered with the broker (their names end in their pids).
want="$(hostname):$(qs_pid worker-1) $(hostname):$(qs_pid worker-2)"
for _ in $(seq 1 50); do
    names=$("$build/mtclient" --timeout 2 workers --json | jq -r '.[].name' | tr '\n' ' ')
    ok=true
    for w in $want; do [[ " $names" == *" $w "* ]] || ok=false; done
    $ok && break
    for i in 1 2; do
        if ! qs_running "worker-$i"; then
            echo "quickstart: worker-$i exited; the end of $rel/logs/worker-$i.log:" >&2
            tail -n 5 "$qs/logs/worker-$i.log" | sed 's/^/    /' >&2
            exit 1
        fi
    done
    sleep 0.2
done
$ok || { echo "quickstart: the workers did not register with the broker within 10 s;" \
              "see $rel/logs/" >&2; exit 1; }
"$build/mtclient" workers

step "Starting the HTTP gateway on 127.0.0.1:$http_port (dashboard, REST API, /metrics)"
http_url=http://127.0.0.1:$http_port
if qs_running gateway && [ "$(cat "$qs/http-port" 2>/dev/null)" = "$http_port" ]; then
    echo "gateway   already running (pid $(qs_pid gateway))"
else
    qs_stop gateway >/dev/null
    if port_busy "$http_port"; then
        {
            echo "quickstart: ERROR: port $http_port on 127.0.0.1 is in use by another program:"
            port_owner "$http_port"
            echo "Choose another one, e.g.: MT_HTTP_PORT=8081 deploy/quickstart.sh"
        } >&2
        exit 1
    fi
    # the default data of a submit that names none (the old curl), copied so the gateway's
    # command line names this folder (qs_running)
    cp test_data/sample_dataset.csv "$qs/sample_dataset.csv"
    qs_start gateway "$build/mtgateway" --broker "$client_ep" --listen "127.0.0.1:$http_port" \
        --default-data "$qs/sample_dataset.csv"
    echo "$http_port" > "$qs/http-port"
    for _ in $(seq 1 50); do
        curl -sf "$http_url/health" >/dev/null 2>&1 && break
        qs_running gateway || break
        sleep 0.2
    done
    if ! curl -sf "$http_url/health" >/dev/null 2>&1; then
        echo "quickstart: the gateway does not answer on $http_url; the end of" \
             "$rel/logs/gateway.log:" >&2
        tail -n 5 "$qs/logs/gateway.log" | sed 's/^/    /' >&2
        exit 1
    fi
    echo "gateway   started (pid $(qs_pid gateway)), log $rel/logs/gateway.log"
fi
echo "dashboard $http_url/"

# --- 3. a job --------------------------------------------------------------------------------
step "Training: mtclient submit --data test_data/sample_dataset.csv --target y --name quickstart --watch"
out="$qs/logs/submit.out"
limit=${MT_QUICKSTART_TIMEOUT:-300}    # seconds; this job takes about one
set +e
timeout "$limit" "$build/mtclient" submit --data test_data/sample_dataset.csv --target y \
    --name quickstart --watch | tee "$out"
rc=${PIPESTATUS[0]}
set -e
job=$(head -n 1 "$out" | tr -dc '0-9')
if [ "$rc" -ne 0 ] || [ -z "$job" ]; then
    echo >&2
    if [ "$rc" -eq 124 ]; then
        echo "quickstart: the job did not end within $limit s (MT_QUICKSTART_TIMEOUT)." >&2
    else
        echo "quickstart: the job did not succeed (mtclient exit $rc)." >&2
    fi
    if [ -n "$job" ]; then
        echo "Its state:" >&2
        "$build/mtclient" status "$job" 2>&1 | head -n 9 | sed 's/^/    /' >&2 || true
        echo "See build/mtclient status $job and the logs in $rel/logs/." >&2
    fi
    echo "The fleet is left running; stop it with deploy/stop.sh." >&2
    exit 1
fi

step "Result of job $job"
"$build/mtclient" status "$job" --json \
    | jq -r '.metrics | "final loss \(.loss)   val_loss \(.val_loss)   val_metric \(.val_metric)"'

"$build/mtclient" fetch "$job" -o "$qs/model.safetensors" >/dev/null
echo "model     $rel/model.safetensors ($(stat -c %s "$qs/model.safetensors") bytes)"

step "Predicting with it, offline: build/mtclient predict --model $rel/model.safetensors --data test_data/sample_dataset.csv"
"$build/mtclient" predict --model "$qs/model.safetensors" --data test_data/sample_dataset.csv \
    > "$qs/predictions.csv"
head -n 6 "$qs/predictions.csv"
echo "... ($(($(wc -l < "$qs/predictions.csv") - 1)) rows in $rel/predictions.csv)"

# --- 4. what next ----------------------------------------------------------------------------
flag=""
[ "$client_ep" = tcp://127.0.0.1:5555 ] || flag=" --broker $client_ep"
cat <<EOF

${bold}The fleet is still running${plain} (broker pid $(qs_pid broker), workers $(qs_pid worker-1) $(qs_pid worker-2), gateway $(qs_pid gateway)).
The dashboard: ${bold}$http_url/${plain}   The API, as the old service took it:
    curl -X POST $http_url/api/train -H "Content-Type: application/json" -d '{"epochs":2,"batch_size":16,"lr":0.01}'
    curl "$http_url/api/train/status?job_id=$job"
From $top:
    build/mtclient$flag workers
    build/mtclient$flag submit --data test_data/iris.csv --target species --task classification --watch
    build/mtclient$flag list
    build/mtclient predict --model $rel/model.safetensors --data test_data/sample_dataset.csv
Logs are in $rel/logs/. To stop the fleet:
    deploy/stop.sh
or by hand:
    kill \$(cat $rel/gateway.pid $rel/worker-1.pid $rel/worker-2.pid $rel/broker.pid)
EOF
