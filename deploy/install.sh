#!/usr/bin/env bash
# install.sh - install mt as system services (run as root, on each machine of the fleet).
# Usage: deploy/install.sh [BUILD_DIR]      (default: build/ in the repository)
#
# Copies mtbroker, mtworker and mtclient to /usr/local/bin, the systemd units to
# /etc/systemd/system, the multi-host guide to /usr/local/share/doc/mt, creates the system
# user and group `mt`, and an example /etc/mt/worker.env if there is none. It enables and
# starts nothing: it prints the commands for that. Build first with deploy/setup.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}

if [ "$(id -u)" -ne 0 ]; then
    echo "install: run as root (sudo deploy/install.sh)" >&2
    exit 1
fi
for b in mtbroker mtworker mtclient; do
    if [ ! -x "$build/$b" ]; then
        echo "install: $build/$b is missing; build first: deploy/setup.sh $build" >&2
        exit 1
    fi
done

install -m 0755 "$build/mtbroker" "$build/mtworker" "$build/mtclient" /usr/local/bin/
echo "install: binaries in /usr/local/bin"

if ! getent group mt >/dev/null; then
    groupadd --system mt
fi
if ! getent passwd mt >/dev/null; then
    useradd --system --gid mt --home-dir /var/lib/mt --no-create-home \
            --shell /usr/sbin/nologin --comment "mt training fleet" mt
    echo "install: created the system user mt"
fi

install -m 0644 "$top/deploy/mtbroker.service" "$top/deploy/mtworker@.service" /etc/systemd/system/
install -d -m 0755 /usr/local/share/doc/mt
install -m 0644 "$top/deploy/MULTIHOST.md" /usr/local/share/doc/mt/
install -d -m 0755 /etc/mt
if [ ! -e /etc/mt/worker.env ]; then
    cat > /etc/mt/worker.env <<'ENV'
# Read by mtworker@.service. The broker's workers endpoint (default: this machine):
#MT_BROKER_WORKERS=tcp://broker-host:5556
# OpenBLAS threads per training (default 1):
#MT_WORKER_THREADS=1
# CurveZMQ (deploy/MULTIHOST.md): this worker's secret cert and the broker's public cert
#MT_CERT=/etc/mt/keys/worker-1_secret
#MT_BROKER_KEY=/etc/mt/keys/broker
ENV
    chmod 0644 /etc/mt/worker.env
    echo "install: wrote /etc/mt/worker.env (all commented out)"
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

cat <<'NEXT'
install: done. Next, on the broker's machine:
    systemctl enable --now mtbroker
and on every machine that trains (set MT_BROKER_WORKERS in /etc/mt/worker.env first if the
broker is elsewhere; see /usr/local/share/doc/mt/MULTIHOST.md):
    systemctl enable --now mtworker@1 mtworker@2
Check with: mtclient workers
NEXT
