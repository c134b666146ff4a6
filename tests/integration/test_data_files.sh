#!/usr/bin/env bash
# test_data_files - files that are not what they seem are refused at submit and by the worker, by name; undefined metrics are null with a reason
. "$(dirname "$0")/lib.sh"

start_broker
mkdir -p "$T/shared"
# Made here: files holding NUL bytes are not kept as text in git
printf '\xff\xfex\x00,\x00y\x00\n\x001\x00,\x002\x00\n\x00' > "$T/shared/utf16.csv"
printf 'x\x00,\x00y\x00\n\x001\x00,\x002\x00\n\x00' > "$T/shared/utf16_nobom.csv"
printf 'x,y\n1,2\n\x00\x00\x00\x00' > "$T/shared/binary.csv"
for f in cr_only.csv json_array.jsonl json_array.csv cp1252_header.csv; do
    cp "$MT_TEST_DATA/bad/$f" "$T/shared/$f"
done
declare -A said=(
    [utf16.csv]="utf16.csv looks like UTF-16 text (it starts with a UTF-16 byte order mark); save it as UTF-8"
    [utf16_nobom.csv]="utf16_nobom.csv looks like UTF-16 text (every other byte is 0x00); save it as UTF-8"
    [binary.csv]="binary.csv: byte 0x00 at offset 8: this is not a text file"
    [cr_only.csv]="cr_only.csv: line endings are CR only (old Mac); convert them to LF or CRLF"
    [json_array.jsonl]="json_array.jsonl is a JSON array; write one JSON object per line (JSON Lines)"
    [json_array.csv]="json_array.csv is a JSON array; write one JSON object per line (JSON Lines)"
    [cp1252_header.csv]="cp1252_header.csv:1: column 2: name is not valid UTF-8 (byte 0xE9 at byte 4 of it); the file may be in Windows-1252: save it as UTF-8"
)

# Submit reads the head and refuses each, exit 2, submitting nothing
for f in "${!said[@]}"; do
    refused_usage "submit $f" "${said[$f]}" "$CLIENT" submit --data "$T/shared/$f" --target y
done
[ "$("$CLIENT" list --json | jq length)" = 0 ] || fail "a refused file was submitted"

# The worker's full load says the same for a file it reads itself
start_worker shared --data-root "$T/shared"
wait_for "a worker" 10 workers_connected 1
for f in utf16.csv cr_only.csv json_array.jsonl cp1252_header.csv; do
    j=$("$CLIENT" submit --data-path "$f" --target y --epochs 3) || fail "submit --data-path $f"
    wait_state "$j" failed 30
    err=$(job_field "$j" error)
    echo "$err" | grep -qF -- "${said[$f]}" || fail "worker on $f: '$err'"
    [ "$(job_field "$j" attempt)" = 1 ] || fail "$f was retried"
    ok "worker on $f: $err"
done

# A UTF-8 byte order mark is fine
printf '\xef\xbb\xbfx,y\r\n' > "$T/bom.csv"
for i in $(seq 1 20); do printf '%d,%d\r\n' "$i" $(( 2 * i + 1 )) >> "$T/bom.csv"; done
b=$("$CLIENT" submit --data "$T/bom.csv" --target y --epochs 3) || fail "submit of a BOM file"
wait_state "$b" succeeded 60
ok "a UTF-8 BOM file trains"

# No validation rows: val_loss and val_metric are null, with the reason
j=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5 --val-split 0) \
    || fail "submit --val-split 0"
wait_state "$j" succeeded 60
"$CLIENT" status "$j" --json > "$T/noval.json"
jq -e '.metrics.val_metric == null and .metrics.val_loss == null
       and .metrics.undefined.val_metric == "no validation rows (validation_split 0)"
       and .metrics.undefined.val_loss == "no validation rows (validation_split 0)"
       and (.metrics.train_metric | type) == "number"
       and (.metrics.undefined | has("train_metric") | not)
       and .progress.val_metric == null' "$T/noval.json" >/dev/null \
    || fail "metrics without validation rows: $(jq -c '{metrics, progress}' "$T/noval.json")"
ok "no validation rows: $(jq -c .metrics.undefined "$T/noval.json")"

# A constant target: R^2 is null for both splits, with the reason
{ echo "x,y"; for i in $(seq 1 30); do echo "$i,7"; done; } > "$T/flat.csv"
c=$("$CLIENT" submit --data "$T/flat.csv" --target y --epochs 3) || fail "submit flat"
wait_state "$c" succeeded 60
"$CLIENT" status "$c" --json > "$T/flat.json"
jq -e '.metrics.val_metric == null and .metrics.train_metric == null
       and (.metrics.undefined.val_metric | test("every validation row has the same value"))
       and (.metrics.undefined.train_metric | test("every training row has the same value"))
       and (.metrics.val_loss | type) == "number"' "$T/flat.json" >/dev/null \
    || fail "metrics of a constant target: $(jq -c .metrics "$T/flat.json")"
ok "constant target: $(jq -c .metrics.undefined "$T/flat.json")"

# A normal job: numbers, and no "undefined" map
n=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5) || fail "submit"
wait_state "$n" succeeded 60
"$CLIENT" status "$n" --json > "$T/normal.json"
jq -e '(.metrics.val_metric | type) == "number" and (.metrics.train_metric | type) == "number"
       and (.metrics | has("undefined") | not)' "$T/normal.json" >/dev/null \
    || fail "metrics of a normal job: $(jq -c .metrics "$T/normal.json")"
ok "a normal job's metrics are numbers"

# predict reads the head the same way
"$CLIENT" fetch "$n" -o "$T/m.safetensors" >/dev/null || fail "fetch"
refused_usage "predict on UTF-16" "${said[utf16.csv]}" \
    "$CLIENT" predict --model "$T/m.safetensors" --data "$T/shared/utf16.csv"
refused_usage "predict on CR only" "${said[cr_only.csv]}" \
    "$CLIENT" predict --model "$T/m.safetensors" --data "$T/shared/cr_only.csv"
