#!/usr/bin/env bash
# test_client_output - what mtclient prints: watch on a terminal and into a file, predict --json
. "$(dirname "$0")/lib.sh"
need script bsdutils            # the terminal for watch

start_broker
start_workers 1
make_data "$T/data.csv" 20000

# watch into a file (not a terminal): plain lines, no bar, none before the first progress
# report, at most one a second, then the state and the final line
"$CLIENT" submit --data "$T/data.csv" --target y --epochs 20 --hidden 256,256 --batch-size 32 \
    --watch >"$T/watch.out" 2>"$T/watch.err" || fail "submit --watch: $(cat "$T/watch.err")"
j=$(head -n 1 "$T/watch.out")
grep -q '\[' "$T/watch.out" && fail "watch into a file drew a bar: $(cat "$T/watch.out")"
# (a report within the first epoch says "epoch 0/20" with the steps done: only step 0 is
# a line printed before any report)
grep -qE "epoch 0/20  step 0( |$)" "$T/watch.out" \
    && fail "watch into a file printed progress before any report: $(cat "$T/watch.out")"
grep -q $'\r' "$T/watch.out" && fail "watch into a file redrew a line"
grep -qE "^[0-9]+%  epoch [0-9]+/20  step [0-9]+  loss " "$T/watch.out" \
    || fail "watch into a file printed no progress line: $(cat "$T/watch.out")"
lines=$(grep -cE "^[0-9]+%  epoch" "$T/watch.out")
took=$(job_field "$j" metrics.seconds | cut -d. -f1)
[ "$lines" -le $(( took + 3 )) ] || fail "$lines progress lines in $took s: more than one a second"
tail -n 1 "$T/watch.out" | grep -q "^job $j succeeded in " || fail "no final line: $(cat "$T/watch.out")"
ok "watch into a file: $lines plain progress lines in $took s"

# watch of a job that has ended already: its final line only
"$CLIENT" watch "$j" >"$T/ended.out" || fail "watch of a succeeded job"
[ "$(wc -l <"$T/ended.out")" -eq 1 ] && grep -q "^job $j succeeded in " "$T/ended.out" \
    || fail "watch of an ended job printed: $(cat "$T/ended.out")"
ok "watch of an ended job: $(cut -c1-60 "$T/ended.out")..."

# watch on an 80-column terminal: the bar's line fits, and keeps loss, the validation
# metric and the ETA (script(1) gives it a terminal; its size is unknown, so COLUMNS says)
# A job that runs until it is stopped, so the watch sees reports however fast this
# machine is; it is stopped 3 s after its validation metric first shows
k=$("$CLIENT" submit --data "$T/data.csv" --target y --epochs 1000000 --hidden 64) \
    || fail "submit"
wait_epoch "$k" 2 60
( sleep 3; "$CLIENT" stop "$k" >/dev/null ) &
stopper=$!
PIDS+=("$stopper")
COLUMNS=80 script -qec "stty cols 0 rows 0 2>/dev/null; $CLIENT watch $k" /dev/null \
    >"$T/tty.out" 2>&1 || true          # exit 1: the watched job was stopped
wait "$stopper"
grep -q "stopped" "$T/tty.out" || fail "watch on a terminal did not follow the job to its stop: $(tail -c 300 "$T/tty.out")"
tr '\r' '\n' <"$T/tty.out" | sed 's/\x1b\[K//g' | grep '%  epoch' >"$T/bars" || true
[ -s "$T/bars" ] || fail "no progress bar on a terminal: $(cat "$T/tty.out")"
while IFS= read -r line; do
    [ "$(LC_ALL=C.UTF-8 bash -c 'echo ${#1}' _ "$line")" -le 79 ] \
        || fail "a progress line is wider than 79 columns: $line"
done <"$T/bars"
grep -E "loss [^ ]+  val_r2 [^ ]+ .*ETA [0-9]" "$T/bars" | grep -q '\[' \
    || fail "an 80-column line lost the bar, the validation metric or the ETA: $(tail -n 3 "$T/bars")"
ok "watch on 80 columns: $(grep ETA "$T/bars" | tail -n 1)"

# predict --json: the CSV's columns, and one list per row
"$CLIENT" fetch "$j" -o "$T/m.safetensors" >/dev/null || fail "fetch"
"$CLIENT" predict --model "$T/m.safetensors" --data "$T/data.csv" --json >"$T/p.json" \
    || fail "predict --json"
[ "$(jq -c .columns "$T/p.json")" = '["prediction"]' ] || fail "predict --json columns: $(head -c 200 "$T/p.json")"
[ "$(jq '.predictions | length' "$T/p.json")" = 20000 ] || fail "predict --json rows"
"$CLIENT" predict --model "$T/m.safetensors" --data "$T/data.csv" --out "$T/p.csv" || fail "predict"
[ "$(jq -r '.predictions[0][0]' "$T/p.json")" = "$(sed -n 2p "$T/p.csv")" ] \
    || fail "predict --json and the CSV differ: $(jq -r '.predictions[0][0]' "$T/p.json") vs $(sed -n 2p "$T/p.csv")"
c=$("$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --task classification --epochs 5) \
    || fail "submit iris"
wait_state "$c" succeeded 30
"$CLIENT" fetch "$c" -o "$T/iris.safetensors" >/dev/null || fail "fetch iris"
"$CLIENT" predict --model "$T/iris.safetensors" --data "$MT_TEST_DATA/iris.csv" --json --out "$T/iris.json" \
    || fail "predict --json iris"
[ "$(jq -c .columns "$T/iris.json")" = '["label","p_setosa","p_versicolor","p_virginica"]' ] \
    || fail "predict --json iris columns: $(jq -c .columns "$T/iris.json")"
jq -e '.predictions | length == 150 and all(.[]; (.[0] | type) == "string" and length == 4)' \
    "$T/iris.json" >/dev/null || fail "predict --json iris rows"
ok "predict --json"

# --data from a pipe: predict reads it once, whole; submit refuses it (it hashes the file
# before uploading it, so it reads it twice), naming the flag
cat "$T/data.csv" | "$CLIENT" predict --model "$T/m.safetensors" --data /dev/stdin >"$T/piped.csv" \
    || fail "predict from a pipe"
cmp -s "$T/piped.csv" "$T/p.csv" || fail "predict from a pipe differs from predict from the file"
rc=0
out=$(cat "$T/data.csv" | "$CLIENT" submit --data /dev/stdin --target y 2>&1) || rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q -- "--data: /dev/stdin is not a regular file" \
    || fail "submit from a pipe said '$out' (exit $rc)"
ok "--data from a pipe: predict reads it, submit refuses it ($out)"
echo PASS
