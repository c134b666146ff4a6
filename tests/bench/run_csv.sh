#!/bin/sh
# run_csv - build bench_csv against a build folder's libraries, time it on a ~100 MB CSV,
# and compare with numpy's loadtxt (and pandas' read_csv when installed) for context; then
# time it on a ~100 MB table with 5 categorical columns (inferred, one-hot encoded, one with
# missing values), which must load and encode at 100 MB/s or more.
# With BASE_BUILD (another checkout's build folder, e.g. of an older commit), it first times
# that loader and this one in turns on the same numeric file (ROUNDS rounds, 5 by default)
# and prints each one's median and the ratio.
# usage: tests/bench/run_csv.sh BUILD_DIR [MB] [BASE_BUILD [ROUNDS]]
set -eu
BUILD=${1:?usage: run_csv.sh BUILD_DIR [MB] [BASE_BUILD [ROUNDS]]}
MB=${2:-100}
BASE=${3:-}
ROUNDS=${4:-5}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# bench_csv.c of this tree, against the headers and libraries of a build folder's tree
bench () {
    tree=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt")
    cmake --build "$1" --target mt_engine mt_proto >"$TMP/build.log" 2>&1 \
        || { cat "$TMP/build.log"; exit 1; }
    cc -O2 -D_GNU_SOURCE -I "$tree/include" -I "$tree/worker/engine/include" \
       "$SRC/tests/bench/bench_csv.c" "$1/libmt_engine.a" "$1/libmt_proto.a" \
       $(pkg-config --libs jansson) -lm -o "$2"
}
median () { sort -n | awk '{ v [NR] = $1 } END { print (NR % 2 ? v [(NR + 1) / 2] : (v [NR / 2] + v [NR / 2 + 1]) / 2) }'; }
bench "$BUILD" "$TMP/bench_csv"
sh "$SRC/tests/bench/machine.sh"
"$TMP/bench_csv" make "$TMP/data.csv" "$MB"
if [ -n "$BASE" ]; then
    bench "$(cd "$BASE" && pwd)" "$TMP/bench_base"
    : >"$TMP/base.txt"
    : >"$TMP/this.txt"
    for round in $(seq "$ROUNDS"); do
        for side in base this; do
            prog=$TMP/bench_csv
            [ "$side" = base ] && prog=$TMP/bench_base
            "$prog" load "$TMP/data.csv" 1 | sed -n 's/.*median \([0-9.]*\) MB\/s.*/\1/p' >>"$TMP/$side.txt"
        done
    done
    B=$(median <"$TMP/base.txt")
    T=$(median <"$TMP/this.txt")
    echo "side by side, $ROUNDS rounds in turns: base $B MB/s [$(tr '\n' ' ' <"$TMP/base.txt")]," \
         "this $T MB/s [$(tr '\n' ' ' <"$TMP/this.txt")]: $(awk -v t="$T" -v b="$B" 'BEGIN { printf "%.2f", t / b }')x"
fi
OUT=$("$TMP/bench_csv" load "$TMP/data.csv" 3)
echo "$OUT"
MT=$(echo "$OUT" | sed -n 's/.*median \([0-9.]*\) MB\/s.*/\1/p')
"$TMP/bench_csv" make-categorical "$TMP/cat.csv" "$MB"
CAT=$("$TMP/bench_csv" load "$TMP/cat.csv" 3)
rm -f "$TMP/cat.csv"
echo "$CAT" | sed 's/^mt csv:/mt csv, 10 numeric + 5 categorical columns:/'
CAT_MBS=$(echo "$CAT" | sed -n 's/.*median \([0-9.]*\) MB\/s.*/\1/p')
echo "categorical table: median $CAT_MBS MB/s, the bar is 100 MB/s on one core:" \
     "$(awk -v r="$CAT_MBS" 'BEGIN { print (r >= 100 ? "PASS" : "MISS") }')"

PY=/usr/bin/python3
[ -x "$PY" ] || exit 0
for lib in numpy pandas; do
    "$PY" -c "import $lib" 2>/dev/null || { echo "$lib: not installed, skipped"; continue; }
    "$PY" - "$TMP/data.csv" "$lib" "$MT" <<'PYEOF'
import os, statistics, sys, time
path, lib, mt = sys.argv[1], sys.argv[2], float(sys.argv[3])
mb = os.path.getsize(path) / 1e6
def load():
    if lib == "numpy":
        import numpy as np
        return np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    import pandas as pd
    return pd.read_csv(path, dtype="float32")
rates = []
for _ in range(3):
    start = time.perf_counter()
    load()
    rates.append(mb / (time.perf_counter() - start))
median = statistics.median(rates)
call = "np.loadtxt(float32)" if lib == "numpy" else "pd.read_csv(float32)"
print("%s %s: best %.0f MB/s, median %.0f MB/s; mt is %.1fx" % (lib, call, max(rates), median, mt / median))
PYEOF
done
