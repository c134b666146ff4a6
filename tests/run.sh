#!/usr/bin/env bash
# run.sh - the test command: install what is missing, build strictly, run every test,
# then again under AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${MT_TEST_JOBS:-2}

echo "=== build (warnings are errors)"
MT_EXTRA_PACKAGES="clang libclang-rt-14-dev iproute2 locales python3-torch python3-numpy python3-sklearn \
    python3-selenium chromium chromium-driver python3-prometheus-client" \
    deploy/setup.sh build-ci -DMT_WERROR=ON
# unit_dataset checks numbers read the same in a decimal-comma locale, and fails without one
if ! grep -qixE 'de_DE\.utf-?8' <<<"$(locale -a 2>/dev/null)"; then
    echo "=== generating the de_DE.UTF-8 locale"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo localedef -i de_DE -f UTF-8 de_DE.UTF-8
fi
echo "=== tests"
(cd build-ci && ctest -j "$jobs" --output-on-failure)

echo "=== build with ASan + UBSan"
deploy/setup.sh build-asan -DMT_WERROR=ON -DMT_SANITIZE=ON
echo "=== tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest -j "$jobs" --output-on-failure)

if command -v clang >/dev/null 2>&1; then
    echo "=== fuzz targets under libFuzzer (clang), 20 s each"
    CC=clang cmake -S . -B build-fuzz -DMT_FUZZ=ON -DMT_WERROR=ON >/dev/null
    targets=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
    # shellcheck disable=SC2086
    cmake --build build-fuzz -j "$(nproc)" --target $targets
    (cd build-fuzz && ctest -j "$jobs" -R '^fuzz_' --output-on-failure)
fi
