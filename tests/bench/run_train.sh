#!/bin/sh
# run_train - build bench_train against a build folder's static libraries and run the
# training benchmark side by side with PyTorch 1.13 and numpy (bench_train.py), then
# print a table of ratios with PASS/MISS per target. Informational: exits 0 on a miss.
# Prints the machine line (machine.sh) first and again, with the load average, at the end;
# each case names its thread count (t=N). bench_sgemm (OpenBLAS alone) gives (b)'s cap.
# usage: tests/bench/run_train.sh BUILD_DIR [--no-csv]
set -eu
BUILD=${1:?usage: run_train.sh BUILD_DIR [--no-csv]}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
# the machine first: no figure below without it (OpenBLAS as the benchmarks get it)
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE sh "$SRC/tests/bench/machine.sh"

cmake --build "$BUILD" --target mt_engine mt_proto >"$TMP/build.log" 2>&1 \
    || { cat "$TMP/build.log"; exit 1; }
cc -O2 -D_GNU_SOURCE -I "$SRC/include" -I "$SRC/worker/engine/include" "$SRC/tests/bench/bench_train.c" \
   "$BUILD/libmt_engine.a" "$BUILD/libmt_proto.a" \
   $(pkg-config --cflags --libs openblas jansson libczmq libzmq msgpack libsodium) -lm \
   -o "$TMP/bench_train"
cc -O2 "$SRC/tests/bench/bench_sgemm.c" $(pkg-config --cflags --libs openblas) -o "$TMP/bench_sgemm"
"$PY" -c "import numpy, torch" 2>/dev/null \
    || { echo "run_train: $PY lacks numpy or torch; nothing to compare with"; exit 0; }

CSV_MBS=
if [ "${2:-}" != "--no-csv" ]; then
    echo "== CSV load (tests/bench/run_csv.sh) =="
    OUT=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE sh "$SRC/tests/bench/run_csv.sh" "$BUILD" 100)
    echo "$OUT"
    CSV_MBS=$(echo "$OUT" | sed -n 's/.*median \([0-9.]*\) MB\/s.*/\1/p' | head -n 1)
fi
echo "== training (bench_train.c vs bench_train.py), $(nproc) CPUs; each case runs with" \
     "OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=t and mt's --threads t, torch.set_num_threads(t) =="
echo "caller's environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)}" \
     "OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-(unset)}; both removed for every command below"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    "$PY" "$SRC/tests/bench/bench_train.py" report "$TMP/bench_train" "$TMP/bench_sgemm" "$TMP" \
    $CSV_MBS
# the machine again, with the load average at the end (other work on the machine shows here)
echo "after: $(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE sh "$SRC/tests/bench/machine.sh")"
