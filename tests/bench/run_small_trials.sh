#!/bin/sh
# run_small_trials - what a sweep's trial costs beyond its training: sweeps of tiny iris trials
# (one epoch each, then 50 epochs each: the "whole 50-epoch iris job" of issue 17), as many at
# once as there are workers, no early stopping, each round on a new broker and workers. Prints
# per round trials/s, the training a trial (its own metrics.seconds), a worker slot's time
# beside it, and the CPU of the broker and of the workers (with their training processes) per
# trial. With a second build, the rounds alternate between the two, side by side on the same
# machine, and the medians of each are printed with their ratio. Informational: exits 0.
# usage: tests/bench/run_small_trials.sh BUILD_DIR [OTHER_BUILD_DIR] [ROUNDS]
#        (env: WORKERS, default 2; TINY, default 300 one-epoch trials; FIFTY, default 150)
set -eu
BUILD=$(cd "${1:?usage: run_small_trials.sh BUILD_DIR [OTHER_BUILD_DIR] [ROUNDS]}" && pwd)
OTHER=${2:+$(cd "$2" && pwd)}
ROUNDS=${3:-1}
WORKERS=${WORKERS:-2}
TINY=${TINY:-300}
FIFTY=${FIFTY:-150}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/bench/fleet.sh"

# one BUILD EPOCHS TRIALS: a new broker and workers, one sweep; prints
# "trials wall_s train_s broker_ticks worker_ticks"
one () {
    dir=$TMP/run.$$.$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
    start_fleet "$1" "$dir" "$WORKERS"
    b0=$(ticks "$broker")
    t0=$(date +%s.%N)
    id=$($c sweep --data "$SRC/test_data/iris.csv" --target species --task classification \
         --epochs "$2" --param lr=log-uniform:1e-3:1e-1 --search random --trials "$3" --seed 1 \
         --parallel "$WORKERS" --early-stop none --name small)
    #  Looked at seldom (each look is two processes on the same CPUs); the
    #  end is the last trial's finished_at, not the look that saw it
    while [ "$($c sweep status "$id" --top 1 --json | jq -r .state)" = running ]; do
        sleep 0.25
    done
    b1=$(ticks "$broker")
    w=0
    for pid in $workers $(for p in $workers; do pgrep -P "$p" || true; done); do
        w=$((w + $(ticks "$pid")))
    done
    $c list --sweep "$id" --limit 10000 --json > "$dir/trials.json"
    train=$(jq '[.[].metrics.seconds] | add' "$dir/trials.json")
    t1=$(jq '[.[].finished_at] | max / 1000' "$dir/trials.json")
    kill $workers "$broker" 2>/dev/null || true
    wait $workers "$broker" 2>/dev/null || true
    echo "$3 $(echo "$t1 - $t0" | bc) $train $((b1 - b0)) $w"
}

# show LABEL EPOCHS FIGURES: one round's line
show () {
    echo "$3" | awk -v label="$1" -v e="$2" -v w="$WORKERS" '{
        n = $1; s = $2; t = $3
        printf "%-8s %2d-epoch trials: %4d in %5.2f s: %4.0f trials/s; training %5.2f ms a trial," \
               " %5.2f ms of a worker slot beside it (%4.1f%% trained); CPU a trial: broker %.2f ms," \
               " workers %.2f ms\n", label, e, n, s, n / s, t * 1000 / n, (s * w - t) * 1000 / n,
               100 * t / (s * w), $4 * 10 / n, $5 * 10 / n }'
}

sh "$SRC/tests/bench/machine.sh"
echo "small trials: iris (150 rows, 4 inputs, 3 classes), $WORKERS workers x 1 thread," \
     "--parallel $WORKERS, no early stopping; $TINY trials of 1 epoch, $FIFTY of 50; $ROUNDS round(s)"
: > "$TMP/figures"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for b in "$BUILD" $OTHER; do
        label=this; [ "$b" = "$BUILD" ] || label=other
        for spec in "1 $TINY" "50 $FIFTY"; do
            set -- $spec
            f=$(one "$b" "$1" "$2")
            show "$label" "$1" "$f"
            echo "$label $1 $f" >> "$TMP/figures"
        done
    done
    r=$((r + 1))
done
median () { sort -n | awk '{ v[NR] = $1 } END { print v[int ((NR + 1) / 2)] }'; }
if [ -n "$OTHER" ]; then
    echo "medians over $ROUNDS rounds (this: $BUILD; other: $OTHER):"
    for e in 1 50; do
        for label in this other; do
            rate=$(grep "^$label $e " "$TMP/figures" | awk '{ print $3 / $4 }' | median)
            cpu=$(grep "^$label $e " "$TMP/figures" | awk '{ print $6 * 10 / $3 }' | median)
            echo "$label $rate $cpu"
        done | awk -v e="$e" '{ r[$1] = $2; c[$1] = $3 }
            END { printf "  %2d-epoch trials/s: this %.1f, other %.1f, ratio %.2f; broker CPU a" \
                         " trial: this %.2f ms, other %.2f ms\n", e, r["this"], r["other"],
                         r["this"] / r["other"], c["this"], c["other"] }'
    done
fi
