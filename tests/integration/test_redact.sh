#!/usr/bin/env bash
# test_redact - with keys, a job's blob hashes reach only those who may act on it: bob reads
# alice's jobs with every hash taken out (map, spec, error text), so he cannot name her data
# or model in a SUBMIT; alice and an admin see them all; bytes bob holds himself he may use
. "$(dirname "$0")/lib.sh"

make_keys alice bob root w1
mkdir "$K/admins"
cp "$O/alice" "$O/bob" "$K/clients/"
cp "$O/root" "$K/admins/"
cp "$O/w1" "$K/workers/"
export MT_BROKER_KEY=$K/broker MT_CERT=$O/alice_secret    # lib.sh's helpers run as alice
start_broker --keys "$K"

sha () {
    sha256sum <"$1" | cut -d' ' -f1
}
# no_hash FILE HASH...: FILE holds no SHA-256 at all, nor the first 12 digits of any HASH
no_hash () {
    local file=$1 hash
    shift
    ! grep -Eq '[0-9a-fA-F]{64}' "$file" || fail "$file holds a hash: $(grep -Eo '[0-9a-fA-F]{64}' "$file" | head -1)"
    for hash in "$@"; do
        ! grep -q "${hash:0:12}" "$file" || fail "$file holds ${hash:0:12}, a prefix of a hidden hash"
    done
}

# Alice trains on her own data, fetches her model and warm-starts a second job from it; the
# second waits, queued, while no worker is connected
make_data "$T/alice.csv" 300
d=$(sha "$T/alice.csv")
start_worker w1 --cert "$O/w1_secret" --broker-key "$K/broker"
wait_for "the worker" 15 workers_connected 1
m=$(as alice submit --data "$T/alice.csv" --target y --epochs 3) || fail "alice cannot submit"
wait_state "$m" succeeded 60
as alice fetch "$m" -o "$T/alice.safetensors" >/dev/null || fail "alice cannot fetch her model"
model=$(sha "$T/alice.safetensors")
# ... and a classification job measured on a validation file of her own (--val-data)
awk 'NR == 1 || NR % 5' "$MT_TEST_DATA/iris.csv" >"$T/iris-train.csv"    # every class in both
awk 'NR == 1 || NR % 5 == 0' "$MT_TEST_DATA/iris.csv" >"$T/iris-val.csv"
vd=$(sha "$T/iris-val.csv")
v=$(as alice submit --data "$T/iris-train.csv" --val-data "$T/iris-val.csv" --target species \
    --task classification --epochs 3) || fail "alice cannot submit with --val-data"
wait_state "$v" succeeded 60
stop_worker
wait_for "the worker to leave" 15 eval '[ "$(as alice workers --json | jq length)" = 0 ]'
w=$(as alice submit --data "$T/alice.csv" --target y --epochs 3 --init "$T/alice.safetensors") \
    || fail "alice cannot warm-start from her model"
[ "$(field alice "$w" state)" = queued ] || fail "alice's warm start is not queued"

# The owner and the admin see every hash, and no redacted marker
for who in alice root; do
    [ "$(field "$who" "$m" model_hash)" = "$model" ] || fail "$who sees model_hash '$(field "$who" "$m" model_hash)'"
    [ "$(field "$who" "$m" spec.data_hash)" = "$d" ] || fail "$who sees data_hash '$(field "$who" "$m" spec.data_hash)'"
    [ "$(field "$who" "$w" spec.init_hash)" = "$model" ] || fail "$who sees init_hash '$(field "$who" "$w" spec.init_hash)'"
    [ "$(field "$who" "$v" spec.val_data_hash)" = "$vd" ] || fail "$who sees val_data_hash '$(field "$who" "$v" spec.val_data_hash)'"
    [ "$(field "$who" "$m" redacted)" = null ] || fail "$who's map of job $m is marked redacted"
    [ "$(as "$who" list --json | jq -r "map(select(.id == $m)) | .[0].model_hash")" = "$model" ] \
        || fail "$who's list hides the model hash of job $m"
    as "$who" status "$m" | grep -q "sha256 $d" || fail "$who's status does not show the data's hash"
done
ok "alice and the admin see job $m's model and data hashes, job $w's init hash and job $v's validation file's"

# Everything bob can get about alice's jobs, with and without --json, holds no hash at all
B=$T/bob.all
for job in "$m" "$w" "$v"; do
    as bob status "$job" --json >>"$B" || fail "bob cannot read job $job"
    as bob status "$job" >>"$B" || fail "bob cannot read job $job (human)"
    as bob stop "$job" >>"$B" 2>&1 && fail "bob stopped alice's job $job"
    as bob fetch "$job" -o "$T/bob.safetensors" >>"$B" 2>&1 && fail "bob fetched alice's job $job"
    as bob --json fetch "$job" -o "$T/bob.safetensors" >>"$B" 2>&1
done
as bob watch "$m" --json >>"$B" || fail "bob cannot watch job $m"
as bob list --json >>"$B" || fail "bob cannot list"
as bob list >>"$B" || fail "bob cannot list (human)"
as bob list --state succeeded --json >>"$B" || fail "bob cannot list the succeeded jobs"
as bob workers --json >>"$B" || fail "bob cannot list the workers"
[ -s "$B" ] || fail "bob got nothing"
no_hash "$B" "$d" "$model" "$vd"
ok "bob's status, watch, list, workers, stop and fetch of alice's jobs name no hash"

# ... and say what they hide: the map's model_hash and the spec's hash fields are null, a
# field that was never set stays absent, and the rest of the spec still reads
[ "$(field bob "$m" redacted)" = true ] || fail "bob's map of job $m is not marked redacted"
[ "$(field bob "$m" state)" = succeeded ] || fail "bob sees job $m $(field bob "$m" state)"
[ "$(field bob "$m" owner)" = alice ] || fail "bob sees job $m's owner '$(field bob "$m" owner)'"
as bob status "$m" --json | jq -e '.model_hash == null and .spec.data_hash == null
    and (.spec | has("data_hash")) and (.spec | has("init_hash") | not) and .spec.epochs == 3
    and .spec.target == "y"' >/dev/null || fail "bob's map of job $m: $(as bob status "$m" --json)"
as bob status "$w" --json | jq -e '.spec.init_hash == null and (.spec | has("init_hash"))' \
    >/dev/null || fail "bob's map of job $w does not show a hidden init"
as bob list --json | jq -e "map(select(.id == $m or .id == $w)) | length == 2
    and all(.redacted == true and .model_hash == null and .spec.data_hash == null)" >/dev/null \
    || fail "bob's list does not redact alice's jobs"
as bob status "$m" >"$T/bob.status" || fail "bob's status"
grep -q "data      sha256 hidden" "$T/bob.status" && grep -q "model     sha256 hidden" \
    "$T/bob.status" && grep -q "lr 0.01, batch 16, 3 epochs" \
    "$T/bob.status" && ! grep -q unreadable "$T/bob.status" \
    || fail "bob's status of job $m: $(cat "$T/bob.status")"
# A hidden validation file is null like the other hashes, not a string of x's, and bob's status
# still reads the spec: a classification job, measured in val_acc
as bob status "$v" --json | jq -e '.redacted == true and .spec.val_data_hash == null
    and (.spec | has("val_data_hash")) and .spec.data_hash == null and .spec.task == "classification"
    and .spec.target == "species"' >/dev/null || fail "bob's map of job $v: $(as bob status "$v" --json)"
as bob status "$v" >"$T/bob.val" || fail "bob's status of job $v"
grep -q "spec      classification of 'species'" "$T/bob.val" && grep -q "val_acc" "$T/bob.val" \
    && grep -q "data      sha256 hidden" "$T/bob.val" && ! grep -q "unreadable\|val_r2\|xxxxxxxxxxxx" \
    "$T/bob.val" || fail "bob's status of job $v: $(cat "$T/bob.val")"
ok "bob's maps are marked redacted: null model_hash, data_hash, init_hash and val_data_hash; the spec reads"

# Bytes bob holds himself he may still use: the upload's "already stored" tells him only of a
# file he has. His job is his: he sees its hashes, alice sees it redacted
cp "$T/alice.csv" "$T/bob.csv"
b=$(as bob submit --data "$T/bob.csv" --target y --epochs 2) || fail "bob cannot submit his copy"
[ "$(field bob "$b" spec.data_hash)" = "$d" ] || fail "bob does not see his own job's data hash"
[ "$(field alice "$b" redacted)" = true ] && [ "$(field alice "$b" spec.data_hash)" = null ] \
    || fail "alice sees bob's job unredacted"
[ "$(field root "$b" spec.data_hash)" = "$d" ] || fail "the admin does not see bob's hash"
as bob stop "$b" >/dev/null || fail "bob cannot stop his own job"
ok "bob's own upload of the same bytes: his job shows him the hash; alice sees it redacted"

# A hash quoted in any string of a job's map is hidden from others: alice names her job after
# her data's hash, and the stored data set is corrupted (same size, one byte changed), so the
# worker's fetch fails naming the hash it expected
make_data "$T/other.csv" 400
eh=$(sha "$T/other.csv")
e=$(as alice submit --data "$T/other.csv" --target y --epochs 2 --max-retries 0 \
    --name "from-$eh") || fail "alice's submit of other.csv"
blob=$T/data/blobs/$eh
[ -f "$blob" ] || fail "no blob $blob"
printf 'Z' | dd of="$blob" bs=1 seek=0 conv=notrunc 2>/dev/null
as alice stop "$w" >/dev/null || fail "alice cannot stop her warm start"
start_worker w1b --cert "$O/w1_secret" --broker-key "$K/broker"
wait_state "$e" failed 60
field alice "$e" error | grep -q "$eh" || fail "job $e's error names no hash: $(field alice "$e" error)"
[ "$(field alice "$e" name)" = "from-$eh" ] || fail "alice sees job $e named '$(field alice "$e" name)'"
as bob status "$e" --json >"$T/bob.error" || fail "bob cannot read job $e"
no_hash "$T/bob.error" "$eh"
[ "$(jq -r '.error | length > 0' "$T/bob.error")" = true ] || fail "bob sees no error for job $e"
[ "$(jq -r .name "$T/bob.error")" = "from-$(printf 'x%.0s' $(seq 64))" ] \
    || fail "bob sees job $e named '$(jq -r .name "$T/bob.error")'"
ok "job $e's error names its hash to alice; bob reads it with the hash hidden: $(jq -r .error "$T/bob.error")"

# Without keys nothing is hidden: the same database, read by a local client
kill -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
unset CLIENT_PORT WORKER_PORT BROKER_STARTED MT_BROKER_KEY MT_CERT
start_broker
[ "$(job_field "$m" model_hash)" = "$model" ] && [ "$(job_field "$m" spec.data_hash)" = "$d" ] \
    && [ "$(job_field "$m" redacted)" = null ] || fail "without keys job $m is redacted"
[ "$("$CLIENT" list --json | jq 'map(select(has("redacted"))) | length')" = 0 ] \
    || fail "without keys a listed job is redacted"
ok "without keys every job shows its hashes, as before"
echo PASS
