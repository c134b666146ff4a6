#!/bin/sh
# run_tables - mt and scikit-learn side by side on real tables (tests/bench/bench_tables.py),
# then the CSV load-and-encode speed with 5 categorical columns (run_csv.sh), in one run,
# every figure under a line naming the machine. Informational: exits 0 when mt is behind.
# usage: tests/bench/run_tables.sh BUILD_DIR [EPOCHS] [SEEDS]
set -eu
BUILD=${1:?usage: run_tables.sh BUILD_DIR [EPOCHS] [SEEDS]}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

"$PY" -c "import sklearn, numpy" 2>/dev/null \
    || { echo "run_tables: $PY lacks sklearn or numpy (apt-get install python3-sklearn)"; exit 1; }
cmake --build "$BUILD" --target mtworker mtclient >"$TMP/build.log" 2>&1 \
    || { cat "$TMP/build.log"; exit 1; }
# one thread for both sides: mt's child is given --threads 1, numpy's BLAS this
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
sh "$SRC/tests/bench/machine.sh"
echo "sklearn $("$PY" -c 'import sklearn; print(sklearn.__version__)'), numpy $("$PY" -c 'import numpy; print(numpy.__version__)')"
"$PY" "$SRC/tests/bench/bench_tables.py" "$BUILD" "$SRC/test_data" "$TMP" "${2:-200}" "${3:-5}"
echo
echo "== preprocessing speed (run_csv.sh) =="
sh "$SRC/tests/bench/run_csv.sh" "$BUILD" 100
