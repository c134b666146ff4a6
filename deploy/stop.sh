#!/usr/bin/env bash
# stop.sh - stop the fleet deploy/quickstart.sh started: the gateway, the workers, the broker.
# SIGTERM through the pid files in mt-quickstart/ (or $MT_QUICKSTART_DIR), a wait of up to
# 15 s each, SIGKILL only if that runs out; the pid files are removed. The database, data,
# caches and logs stay (delete mt-quickstart/ to start from nothing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "${MT_QUICKSTART_DIR:-$top/mt-quickstart}" ]; then
    echo "stop: no quickstart folder; nothing to stop"
    exit 0
fi
# shellcheck source=deploy/quickstart-lib.sh
. "$top/deploy/quickstart-lib.sh"

any=false
for name in gateway worker-1 worker-2 broker; do
    [ -e "$qs/$name.pid" ] || continue
    any=true
    qs_stop "$name"
done
$any || echo "stop: the quickstart fleet is not running (no pid files in $qs)"
