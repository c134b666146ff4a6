#!/usr/bin/env bash
# setup.sh - install what mt needs from Debian (only what is missing) and build it
# Usage: deploy/setup.sh [BUILD_DIR [extra cmake flags...]]
#   env: MT_EXTRA_PACKAGES, more Debian packages to install (tests/run.sh adds the test tools)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true

packages=(build-essential cmake pkg-config libczmq-dev libzmq3-dev libmsgpack-dev
          libsqlite3-dev libopenblas-dev libsodium-dev libjansson-dev libgoogle-perftools-dev
          libmicrohttpd-dev libjs-chart.js curl openssl sqlite3 jq ${MT_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

cmake -S "$top" -B "$build" "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
