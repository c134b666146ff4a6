#!/bin/sh
# run_board - what a big sweep's leaderboard costs the broker: a sweep of TRIALS one-epoch iris
# trials (default 10,000) run to its end on 2 workers, then SWEEP_STATUS asked ROUNDS times with
# --top 1, --top 200 (the dashboard's) and no limit (every trial up to the 1 MiB cap). Prints the
# broker's CPU and the wall time per look; each look holds the broker's reactor, so nothing else
# moves meanwhile. With a second build, the same on a new broker of that build, and the ratios.
# Informational: exits 0.
# usage: tests/bench/run_board.sh BUILD_DIR [OTHER_BUILD_DIR]   (env: TRIALS, ROUNDS=20)
set -eu
BUILD=$(cd "${1:?usage: run_board.sh BUILD_DIR [OTHER_BUILD_DIR]}" && pwd)
OTHER=${2:+$(cd "$2" && pwd)}
TRIALS=${TRIALS:-10000}
ROUNDS=${ROUNDS:-20}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/bench/fleet.sh"
now_ms () { echo $(( $(date +%s%N) / 1000000 )); }

# one LABEL BUILD: prints "LABEL ARG cpu_ms wall_ms trials_listed" for each kind of look
one () {
    dir=$TMP/$1
    start_fleet "$2" "$dir" 2
    id=$($c sweep --data "$SRC/test_data/iris.csv" --target species --task classification \
         --epochs 1 --param lr=log-uniform:1e-3:1e-1 --search random --trials "$TRIALS" --seed 1 \
         --parallel 2 --early-stop none --name board)
    while [ "$($c sweep status "$id" --top 1 --json | jq -r .state)" = running ]; do
        sleep 1
    done
    kill $workers 2>/dev/null || true
    for arg in "--top 1" "--top 200" "all"; do
        flag=$arg; [ "$arg" = all ] && flag=""
        # shellcheck disable=SC2086
        $c sweep status "$id" $flag --json > "$dir/status.json"     # warm
        b0=$(ticks "$broker"); t0=$(now_ms)
        n=0
        while [ $n -lt "$ROUNDS" ]; do
            # shellcheck disable=SC2086
            $c sweep status "$id" $flag --json > /dev/null
            n=$((n + 1))
        done
        b1=$(ticks "$broker"); t1=$(now_ms)
        echo "$1 $(echo "$arg" | tr ' ' _) $(( (b1 - b0) * 10 / ROUNDS )) $(( (t1 - t0) / ROUNDS ))" \
             "$(jq '.trials | length' "$dir/status.json")"
    done
    kill "$broker" 2>/dev/null || true
    wait "$broker" $workers 2>/dev/null || true
}

sh "$SRC/tests/bench/machine.sh"
echo "leaderboard: a sweep of $TRIALS one-epoch iris trials, all ended; $ROUNDS looks of each kind" \
     "(the wall time includes starting mtclient)"
: > "$TMP/figures"
one this "$BUILD" >> "$TMP/figures"
[ -z "$OTHER" ] || one other "$OTHER" >> "$TMP/figures"
awk '{ printf "%-6s %-9s broker CPU %4d ms a look, wall %4d ms, %5d trials listed\n",
              $1, $2, $3, $4, $5
       cpu[$1 " " $2] = $3 }
     END { for (k in cpu) { split(k, p, " ")
               if (p[1] == "this" && cpu["other " p[2]] > 0)
                   printf "ratio  %-9s broker CPU other/this %.1f\n", p[2],
                          cpu["other " p[2]] / (cpu[k] > 0 ? cpu[k] : 1) } }' "$TMP/figures"
