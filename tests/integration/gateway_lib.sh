# gateway_lib - what the mtgateway tests share, sourced after lib.sh: the binary, start_gateway,
# and code/expect to ask a route and check its status and error code
GATEWAY=$MT_BIN_DIR/mtgateway
[ -x "$GATEWAY" ] || fail "$GATEWAY is missing: build the mtgateway target"
need curl curl

# start_gateway [flags...]: a gateway on a free loopback port for the broker at $CLIENTS; sets
# GW (its base URL) and GW_PID once /health answers 200
start_gateway () {
    local port
    port=$(free_port)
    "$GATEWAY" --broker "$CLIENTS" --listen "127.0.0.1:$port" "$@" >>"$T/gateway.log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    GW=http://127.0.0.1:$port
    wait_for "the gateway to answer /health" 10 curl -sf "$GW/health"
}

# code METHOD PATH [curl args...]: the HTTP status; the body is in $T/body
code () {
    local method=$1 path=$2
    shift 2
    curl -s -o "$T/body" -w '%{http_code}' -X "$method" "$GW$path" "$@"
}

# expect STATUS ERROR_CODE METHOD PATH [curl args...]: the status and, unless ERROR_CODE is -,
# the error's code and a message (needs jq)
expect () {
    local status=$1 error=$2 got
    shift 2
    got=$(code "$@")
    [ "$got" = "$status" ] || fail "$1 $2: status $got, not $status: $(cat "$T/body")"
    if [ "$error" != - ]; then
        [ "$(jq -r .error.code "$T/body")" = "$error" ] \
            || fail "$1 $2: error $(cat "$T/body"), not $error"
        [ -n "$(jq -r .error.message "$T/body")" ] || fail "$1 $2: no message"
    fi
}
