#!/usr/bin/env bash
# test_owners - owners and roles: with keys a client stops and fetches only its own jobs, an
# admin (keys/admins/) every job, everyone reads; without keys nothing is refused
. "$(dirname "$0")/lib.sh"

make_keys alice bob root w1
cp "$O/alice" "$O/bob" "$K/clients/"
cp "$O/w1" "$K/workers/"
# No admins/ folder yet: a keys folder without one starts (no admins)
export MT_BROKER_KEY=$K/broker MT_CERT=$O/alice_secret    # lib.sh's helpers run as alice
start_broker --keys "$K"
grep -q "0 admin keys" "$T/broker.log" || fail "the broker did not start without admins/"
mkdir "$K/admins"
cp "$O/root" "$K/admins/"
make_data "$T/big.csv" 20000

# refused WHO CODE ARGS...: mtclient as WHO exits CODE; its stderr is kept in $T/refused.err
refused () {
    local who=$1 code=$2 rc=0
    shift 2
    as "$who" "$@" >"$T/refused.out" 2>"$T/refused.err" || rc=$?
    [ "$rc" -eq "$code" ] || fail "$who: mtclient $* exited $rc, not $code: $(cat "$T/refused.err")"
}
admin_loaded () {
    as root --timeout 1 list >/dev/null
}
wait_for "the admin key to be loaded" 10 admin_loaded
ok "admins/ made after start: the admin key is admitted as a client"

# The admin key is a client key: it is not admitted on the workers socket
start_worker as-admin --cert "$O/root_secret" --broker-key "$K/broker"
start_worker w1 --cert "$O/w1_secret" --broker-key "$K/broker"
wait_for "the worker" 15 workers_connected 1

# Alice's long job runs; her second waits behind it, queued
a=$(as alice submit --data "$T/big.csv" --target y --epochs 100000 --checkpoint-every 1) \
    || fail "alice cannot submit"
MT_CERT=$O/alice_secret wait_state "$a" running 30
q=$(as alice submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 3) \
    || fail "alice's second submit"
[ "$(field alice "$q" state)" = queued ] || fail "alice's second job is not queued"
[ "$(as alice workers --json | jq length)" = 1 ] || fail "the admin key joined as a worker"

# Everyone admitted reads status, lists and workers, and sees the owner's key name
for who in alice bob root; do
    [ "$(field "$who" "$a" owner)" = alice ] || fail "$who sees owner '$(field "$who" "$a" owner)'"
    [ "$(field "$who" "$a" state)" = running ] || fail "$who sees job $a $(field "$who" "$a" state)"
    [ "$(as "$who" list --json | jq -r "map(select(.id == $a)) | .[0].owner")" = alice ] \
        || fail "$who's list does not name alice as the owner of job $a"
    as "$who" workers >/dev/null || fail "$who cannot list the workers"
done
ok "alice, bob and the admin read status, list and workers; the owner is 'alice'"

# Bob may not stop alice's jobs, running or queued: forbidden (exit 4), naming her and the
# way out; the jobs go on untouched
attempt=$(field bob "$a" attempt)
refused bob 4 stop "$a"
grep -q "job $a belongs to alice" "$T/refused.err" && grep -q "ask its owner, or an admin" \
    "$T/refused.err" && grep -q "(forbidden)\|forbidden" "$T/refused.err" \
    || fail "bob's stop said: $(cat "$T/refused.err")"
ok "bob's stop of alice's running job: $(cat "$T/refused.err")"
refused bob 4 stop "$q"
refused bob 4 --json stop "$q"
sleep 1
[ "$(field bob "$a" state)" = running ] || fail "job $a is $(field bob "$a" state) after bob's stop"
[ "$(field bob "$a" attempt)" = "$attempt" ] || fail "bob's stop changed job $a's attempt"
[ "$(field bob "$q" state)" = queued ] || fail "job $q is $(field bob "$q" state) after bob's stop"
MT_CERT=$O/alice_secret wait_epoch "$a" 2 60
ok "alice's jobs go on after bob's refused stops"

# Alice stops her own queued job; the admin stops her running one
as alice stop "$q" >/dev/null || fail "alice cannot stop her own job"
[ "$(field alice "$q" state)" = stopped ] || fail "alice's stop left job $q $(field alice "$q" state)"
as root stop "$a" >/dev/null || fail "the admin's stop: $(as root stop "$a" 2>&1)"
MT_CERT=$O/root_secret wait_state "$a" stopped 30
ok "alice stopped her own queued job; the admin stopped her running one"

# A finished model: bob's fetch is refused and writes nothing; alice's and the admin's match
m=$(as alice submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 3) || fail "submit"
MT_CERT=$O/alice_secret wait_state "$m" succeeded 60
refused bob 4 fetch "$m" -o "$T/bob.safetensors"
grep -q "job $m belongs to alice" "$T/refused.err" || fail "bob's fetch said: $(cat "$T/refused.err")"
[ ! -e "$T/bob.safetensors" ] || fail "bob's refused fetch wrote a file"
ls "$T"/bob.safetensors* >/dev/null 2>&1 && fail "bob's refused fetch left a temp file"
as alice fetch "$m" -o "$T/alice.safetensors" >/dev/null || fail "alice cannot fetch her model"
as root fetch "$m" -o "$T/root.safetensors" >/dev/null || fail "the admin cannot fetch alice's model"
cmp -s "$T/alice.safetensors" "$T/root.safetensors" || fail "the admin fetched other bytes"
[ "$(sha256sum <"$T/alice.safetensors" | cut -d' ' -f1)" = "$(field alice "$m" model_hash)" ] \
    || fail "alice's model does not match its hash"
ok "bob's fetch of alice's model refused (nothing written); alice's and the admin's agree"

# Bob's own job is his; the admin's own job names the admin
b=$(as bob submit --data "$T/big.csv" --target y --epochs 100000) || fail "bob submit"
refused alice 4 stop "$b"
grep -q "job $b belongs to bob" "$T/refused.err" || fail "alice's stop said: $(cat "$T/refused.err")"
case $(field bob "$b" state) in queued|running) ;; *) fail "alice's stop moved job $b" ;; esac
as bob stop "$b" >/dev/null || fail "bob cannot stop his own job"
MT_CERT=$O/bob_secret wait_state "$b" stopped 30
r=$(as root submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 3) || fail "root submit"
[ "$(field bob "$r" owner)" = root ] || fail "the admin's job names '$(field bob "$r" owner)'"
ok "bob stops his own job, not alice; the admin's job is root's"

# Roles follow the folders: bob's key put in admins/ may act on alice's job, taken out may not
MT_CERT=$O/alice_secret wait_state "$r" succeeded 60
cp "$O/bob" "$K/admins/"
kill -HUP "$BROKER_PID"
wait_for "bob to be an admin" 10 as bob fetch "$m" -o "$T/bob.safetensors"
cmp -s "$T/alice.safetensors" "$T/bob.safetensors" || fail "bob as an admin fetched other bytes"
rm "$K/admins/bob" "$T/bob.safetensors"
kill -HUP "$BROKER_PID"
bob_refused () {
    refused bob 4 fetch "$m" -o "$T/bob.safetensors"
}
wait_for "bob's admin role to end" 10 bob_refused
ok "an admin key added and removed: the role follows admins/"

# Without keys nothing is refused: every local client acts on every job
kill -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
unset CLIENT_PORT WORKER_PORT BROKER_STARTED MT_BROKER_KEY MT_CERT
start_broker
alice_key=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$O/alice")
[ "$(job_field "$m" owner)" = "$alice_key" ] \
    || fail "without keys, alice's job names '$(job_field "$m" owner)', not her key"
"$CLIENT" fetch "$m" -o "$T/local.safetensors" >/dev/null || fail "a keyless fetch of alice's job"
start_worker plain
wait_for "the keyless worker" 15 workers_connected 1
p=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 3) || fail "submit"
wait_state "$p" succeeded 60
[ "$(job_field "$p" owner)" = local ] || fail "a keyless job's owner is '$(job_field "$p" owner)'"
"$CLIENT" fetch "$p" -o "$T/plain.safetensors" >/dev/null || fail "a keyless fetch"
s=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000) || fail "submit"
"$CLIENT" stop "$s" >/dev/null || fail "a keyless stop"
ok "without keys: owner 'local' (or the key of a job submitted with keys), fetch and stop as before"
echo PASS
