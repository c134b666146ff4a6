#!/usr/bin/env bash
# test_upload_race - five clients submit the same new 30 MB file at once: all succeed (a second
# uploader joins the upload in progress, PROTOCOL.md section 5), and the blob is stored once
. "$(dirname "$0")/lib.sh"

start_broker
make_data "$T/big.csv" 900000
size=$(stat -c %s "$T/big.csv")
[ "$size" -gt 30000000 ] || fail "the data file is only $size bytes"
hash=$(sha256sum "$T/big.csv" | cut -d' ' -f1)

pids=()
for i in 1 2 3 4 5; do
    "$CLIENT" --timeout 60 submit --data "$T/big.csv" --target y --epochs 1 --name "race$i" \
        >"$T/submit$i.out" 2>"$T/submit$i.err" &
    pids+=("$!")
done
failed=0
for i in 1 2 3 4 5; do
    wait "${pids[$((i - 1))]}" || { failed=$((failed + 1)); echo "submit $i: $(cat "$T/submit$i.err")"; }
done
[ "$failed" = 0 ] || fail "$failed of 5 parallel submits of the same new file failed"
ids=$(cat "$T"/submit*.out | sort -u | wc -l)
[ "$ids" = 5 ] || fail "5 submits made $ids distinct jobs"
ok "5 parallel submits of a new $size-byte file all succeeded"
grep -l $'\r' "$T"/submit*.err "$T"/submit*.out && fail "a progress bar was drawn into captured output"

# Stored once, whole, and nothing left half-uploaded
[ -f "$T/data/blobs/$hash" ] || fail "blob $hash is not stored"
[ "$(stat -c %s "$T/data/blobs/$hash")" = "$size" ] || fail "the stored blob has the wrong size"
[ "$(sha256sum "$T/data/blobs/$hash" | cut -d' ' -f1)" = "$hash" ] || fail "the stored blob's bytes differ"
[ "$(ls "$T/data/blobs" | wc -l)" = 1 ] || fail "blobs: $(ls "$T/data/blobs")"
[ -z "$(ls "$T/data/incoming")" ] || fail "partial uploads left: $(ls "$T/data/incoming")"
for id in $(cat "$T"/submit*.out); do
    [ "$("$CLIENT" status "$id" --json | jq -r .spec.data_hash)" = "$hash" ] \
        || fail "job $id does not name the blob"
done
ok "the blob is stored once, whole, and every job names it"
