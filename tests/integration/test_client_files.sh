#!/usr/bin/env bash
# test_client_files - fetch -o and predict --out write what users mean: a link's target, a
# device or a FIFO straight through, - for stdout, never a folder; and status shows defaults
. "$(dirname "$0")/lib.sh"

# fetch downloads into a private folder under TMPDIR first: here, to see it is removed
mkdir "$T/tmp"
export TMPDIR=$T/tmp
start_broker
start_workers 1
d=$MT_TEST_DATA/sample_dataset.csv
j=$("$CLIENT" submit --data "$d" --target y --epochs 3) || fail "submit"
wait_state "$j" succeeded 60
"$CLIENT" fetch "$j" -o "$T/model.safetensors" >/dev/null || fail "fetch"
hash=$(job_field "$j" model_hash)
sha () { sha256sum "$1" | cut -d' ' -f1; }
[ "$(sha "$T/model.safetensors")" = "$hash" ] || fail "the fetched model's hash is not the job's"

# A regular file: mode 0644 under the umask, for fetch and predict alike
(umask 022; "$CLIENT" fetch "$j" -o "$T/m644" >/dev/null) || fail "fetch under umask 022"
(umask 022; "$CLIENT" predict --model "$T/model.safetensors" --data "$d" --out "$T/p644") \
    || fail "predict under umask 022"
(umask 077; "$CLIENT" fetch "$j" -o "$T/m600" >/dev/null) || fail "fetch under umask 077"
(umask 077; "$CLIENT" predict --model "$T/model.safetensors" --data "$d" --out "$T/p600") \
    || fail "predict under umask 077"
[ "$(stat -c %a "$T/m644") $(stat -c %a "$T/p644") $(stat -c %a "$T/m600") $(stat -c %a "$T/p600")" \
    = "644 644 600 600" ] || fail "modes: $(stat -c '%n %a' "$T"/m6* "$T"/p6*)"
ok "fetch and predict make files 0644 under the umask"

# A symbolic link: its target is replaced, the link stays a link (relative and absolute)
echo old >"$T/target"
ln -s target "$T/rel-link"
ln -s "$T/target" "$T/abs-link"
"$CLIENT" fetch "$j" -o "$T/rel-link" >/dev/null || fail "fetch onto a relative link"
[ -L "$T/rel-link" ] && [ "$(sha "$T/target")" = "$hash" ] || fail "fetch onto a link replaced the link"
echo old >"$T/target"
"$CLIENT" predict --model "$T/model.safetensors" --data "$d" --out "$T/abs-link" || fail "predict onto a link"
[ -L "$T/abs-link" ] && cmp -s "$T/target" "$T/p644" || fail "predict onto a link replaced the link"
ln -s not-yet "$T/dangling"
"$CLIENT" fetch "$j" -o "$T/dangling" >/dev/null || fail "fetch onto a dangling link"
[ -L "$T/dangling" ] && [ "$(sha "$T/not-yet")" = "$hash" ] || fail "fetch onto a dangling link"
ok "a link's target is replaced and the link kept"

# A FIFO: written straight through (a reader takes the bytes); it stays a FIFO
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/from-fifo" &
reader=$!
"$CLIENT" fetch "$j" -o "$T/fifo" >/dev/null || fail "fetch into a FIFO"
wait "$reader"
[ -p "$T/fifo" ] && [ "$(sha "$T/from-fifo")" = "$hash" ] || fail "fetch into a FIFO: $(ls -l "$T/fifo")"
cat "$T/fifo" >"$T/pred-fifo" &
reader=$!
"$CLIENT" predict --model "$T/model.safetensors" --data "$d" --out "$T/fifo" || fail "predict into a FIFO"
wait "$reader"
[ -p "$T/fifo" ] && cmp -s "$T/pred-fifo" "$T/p644" || fail "predict into a FIFO"
ok "a FIFO is written through"

# A device node made here (never a system one): written through, still a device
if [ "$(id -u)" = 0 ] && mknod "$T/null" c 1 3 2>/dev/null; then
    "$CLIENT" fetch "$j" -o "$T/null" >/dev/null || fail "fetch onto a device"
    "$CLIENT" predict --model "$T/model.safetensors" --data "$d" --out "$T/null" || fail "predict onto a device"
    [ -c "$T/null" ] || fail "fetch or predict replaced a device node: $(ls -l "$T/null")"
    ok "a device node is written through and stays a device"
else
    echo "SKIP (loudly): cannot make a device node here (not root, or no CAP_MKNOD): the device case is untested in this run" >&2
fi

# - is stdout: the bytes alone (no path line after them)
"$CLIENT" fetch "$j" -o - >"$T/stdout.bin" || fail "fetch -o -"
[ "$(sha "$T/stdout.bin")" = "$hash" ] || fail "fetch -o - printed more or less than the model"
"$CLIENT" predict --model "$T/model.safetensors" --data "$d" --out - >"$T/stdout.csv" || fail "predict --out -"
cmp -s "$T/stdout.csv" "$T/p644" || fail "predict --out - differs"
[ ! -e ./- ] || fail "a file named - was made"
ok "- writes to stdout"

# A folder (or a link to one) is refused before anything is asked or written: exit 2
mkdir "$T/folder"
ln -s folder "$T/folder-link"
for out in "$T/folder" "$T/folder-link"; do
    rc=0
    said=$("$CLIENT" fetch "$j" -o "$out" 2>&1 >/dev/null) || rc=$?
    [ "$rc" = 2 ] && echo "$said" | grep -q "^mtclient: -o: $out is a folder; give a file name" \
        || fail "fetch -o a folder: exit $rc: $said"
    rc=0
    said=$("$CLIENT" predict --model "$T/model.safetensors" --data "$d" --out "$out" 2>&1 >/dev/null) || rc=$?
    [ "$rc" = 2 ] && echo "$said" | grep -q "^mtclient: --out: $out is a folder" \
        || fail "predict --out a folder: exit $rc: $said"
done
[ -z "$(ls -A "$T/folder")" ] || fail "something was written into the folder: $(ls -A "$T/folder")"
ok "a folder is refused: $said"
# No temp file is left beside any output, nor a download folder
left=$(find "$T" -maxdepth 1 -regex '.*/\(m644\|m600\|p644\|p600\|target\|not-yet\)\.[A-Za-z0-9]\{6\}')
[ -z "$left$(ls -A "$T/tmp")" ] || fail "temp files left: $left $(ls -A "$T/tmp")"

# status shows the defaults the spec module fills in, not zeros
"$CLIENT" status "$j" | grep -q "adam lr 0.01, batch 16, 3 epochs" \
    || fail "status does not show the defaults: $("$CLIENT" status "$j" | grep spec)"
ok "status shows the defaults"
echo PASS
