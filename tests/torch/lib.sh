# lib - what the comparisons with PyTorch and sklearn share: strict bash, the build's
# folders from ctest, python3 with the modules a check needs (or a skip) and a temp folder
set -euo pipefail
PY=/usr/bin/python3
: "${MT_BIN_DIR:?}" "${MT_SOURCE_DIR:?}" "${MT_TEST_DATA:?}"

# begin PREFIX NOTE MODULE...: skip (exit 77, saying why and NOTE when given) unless $PY
# imports every MODULE; then DIR is a fresh temp folder named after PREFIX, removed at exit
begin () {
    local prefix=$1 note=$2
    shift 2
    local names
    names=$(echo "$*" | sed 's/ \([^ ]*\)$/ and \1/')
    if ! "$PY" -c "import $(echo "$*" | tr ' ' ,)" 2>/dev/null; then
        echo "skipped: $PY cannot import $names${note:+ ($note)}" >&2
        exit 77
    fi
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT
}
