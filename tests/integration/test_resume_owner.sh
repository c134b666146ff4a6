#!/usr/bin/env bash
# test_resume_owner - RESUME counts --max-queued against the job's owner, not the key that resumes
. "$(dirname "$0")/lib.sh"

make_keys alice root
cp "$O/alice" "$K/clients/"
mkdir "$K/admins"
cp "$O/root" "$K/admins/"
export MT_BROKER_KEY=$K/broker MT_CERT=$O/alice_secret    # lib.sh's helpers run as alice
start_broker --keys "$K" --max-queued 1
data=$MT_TEST_DATA/sample_dataset.csv

# No worker: alice's jobs stay queued. She stops one and queues another: at her limit
a=$(as alice submit --data "$data" --target y --epochs 3) || fail "alice's submit"
as alice stop "$a" >/dev/null || fail "alice's stop of job $a"
b=$(as alice submit --data "$data" --target y --epochs 3) || fail "alice's second submit"
[ "$(field alice "$b" state)" = queued ] || fail "job $b is $(field alice "$b" state)"

# The admin, with nothing queued, resumes her job: refused, as her own resume would be
rc=0
as root resume "$a" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "the admin's resume of job $a queued alice's second job past her limit"
grep -q "owner, alice, has 1 jobs queued" "$T/err" || fail "the refusal said: $(cat "$T/err")"
[ "$(field alice "$a" state)" = stopped ] || fail "the refused resume moved job $a"
ok "the admin's resume of alice's job refused at alice's limit: $(cat "$T/err")"

# The admin at its own limit, alice under hers: the resume is taken
r=$(as root submit --data "$data" --target y --epochs 3) || fail "root's submit"
as alice stop "$b" >/dev/null || fail "alice's stop of job $b"
as root resume "$a" >/dev/null 2>"$T/err" || fail "the admin's resume was refused: $(cat "$T/err")"
[ "$(field alice "$a" state)" = queued ] || fail "job $a is $(field alice "$a" state) after its resume"
[ "$(field root "$r" state)" = queued ] || fail "root's job $r is $(field root "$r" state)"
ok "the admin's own queued job does not count against alice's resume"
echo PASS
