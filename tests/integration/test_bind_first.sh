#!/usr/bin/env bash
# test_bind_first - mtbroker binds its ports before it writes: on a taken port it exits 1,
# naming the port, and leaves no database, lock or data folder behind
. "$(dirname "$0")/lib.sh"

start_broker
# no_files NAME: nothing of the broker NAME's files exists
no_files () {
    local f
    for f in "$T/$1.db" "$T/$1.db-wal" "$T/$1.db-shm" "$T/$1.db.lock" "$T/$1-data"; do
        [ ! -e "$f" ] || fail "the refused broker $1 left $f"
    done
}
# taken NAME CLIENTS WORKERS [flags...]: a broker on these endpoints is refused for the
# endpoint named in TAKEN
taken () {
    local name=$1 clients=$2 workers=$3 rc=0
    shift 3
    "$BROKER" --clients "$clients" --workers "$workers" --db "$T/$name.db" \
        --data-dir "$T/$name-data" "$@" >"$T/$name.log" 2>&1 || rc=$?
    [ "$rc" -eq 1 ] || fail "a broker on a taken port exited $rc: $(cat "$T/$name.log")"
    grep -qF "cannot bind $TAKEN: Address already in use" "$T/$name.log" \
        && grep -q "another port" "$T/$name.log" \
        || fail "a broker on a taken port said: $(cat "$T/$name.log")"
    no_files "$name"
}

TAKEN=$CLIENTS taken clients "$CLIENTS" "tcp://127.0.0.1:$(free_port)"
ok "the clients port taken: $(tail -1 "$T/clients.log")"
TAKEN=$WORKERS taken workers "tcp://127.0.0.1:$(free_port)" "$WORKERS"
ok "the workers port taken: exit 1, no file"

# The same with keys: the keys are read, the ports still come before the files
make_keys
TAKEN=$CLIENTS taken keyed "$CLIENTS" "tcp://127.0.0.1:$(free_port)" --keys "$K"
ok "with --keys, the clients port taken: exit 1, no file"

# An existing database is not touched either: no lock file is made beside it, and the
# running broker's database is not migrated, locked or opened by the refused one
need sqlite3 sqlite3
sqlite3 "$T/old.db" <"$MT_SOURCE_DIR/tests/unit/store_v1.sql" || fail "cannot make a v1 database"
before=$(sqlite3 "$T/old.db" 'PRAGMA user_version')
rc=0
"$BROKER" --clients "$CLIENTS" --workers "tcp://127.0.0.1:$(free_port)" --db "$T/old.db" \
    --data-dir "$T/old-data" >"$T/old.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a broker on a taken port with an old database exited $rc"
[ "$(sqlite3 "$T/old.db" 'PRAGMA user_version')" = "$before" ] \
    || fail "the refused broker migrated the database"
[ ! -e "$T/old.db.lock" ] && [ ! -e "$T/old-data" ] || fail "the refused broker left files"
ok "an old database beside a taken port: not migrated (schema $before), no lock"

"$CLIENT" list >/dev/null || fail "the first broker stopped answering"
ok "the broker holding the ports answers on"
echo PASS
