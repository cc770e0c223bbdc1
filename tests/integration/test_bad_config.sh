#!/usr/bin/env bash
# test_bad_config.sh - a bad dnsstream.conf stops everything before it starts.
#
# For each bad file (every one opens with a valid "input pdns" line, so a program that
# started listeners while reading would be caught): both "dnsstream --check-config FILE"
# and "dnsstream -c FILE" exit non-zero, print the loader's exact "FILE:LINE: reason"
# (or "FILE: reason" for whole-file problems) on stderr, and make no bind() or listen()
# call (strace) - and nothing listens on the input's port afterwards (ss).  Good files
# (conf/dnsstream.conf and the product document's forwarder lines) pass --check-config
# with exit 0, also without binding anything.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init bad_config
ds_need_cmd strace ss timeout
if [ ! -x "$DS_BIN" ]; then
    ds_fail "dnsstream binary exists at $DS_BIN"
    ds_finish
fi
W=$DS_WORK
P=$(ds_free_port)
IN="input pdns 127.0.0.1 $P"

# run_plain NAME CMD...: run CMD (at most 20 s); sets RC, stderr in $W/NAME.err.
run_plain() {
    local name=$1
    shift
    timeout -k 5 20 "$@" >"$W/$name.out" 2>"$W/$name.err" </dev/null
    RC=$?
}

# run_traced NAME CMD...: the same under strace, which records the bind/listen calls of
# every thread and child in $W/NAME.strace.  LeakSanitizer cannot run under ptrace, so
# leak checking is off here (run_plain keeps it).
run_traced() {
    local name=$1
    shift
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        timeout -k 5 20 strace -f -qq -e trace=bind,listen -e signal=none \
        -o "$W/$name.strace" "$@" >"$W/$name.out" 2>"$W/$name.err" </dev/null
    RC=$?
}

# no_sockets NAME: the traced run made no bind() or listen() call.
no_sockets() {
    ! grep -Eq '(^|[[:space:]])(bind|listen)\(' "$W/$1.strace"
}

# expect_bad NAME CONTENT MESSAGE: CONTENT is refused with MESSAGE, in both modes.
expect_bad() {
    local name=$1 content=$2 msg=$3
    local f="$W/$name.conf"
    printf '%s' "$content" >"$f"
    msg=${msg//@F@/$f}
    local mode args
    for mode in check run; do
        if [ "$mode" = check ]; then args=(--check-config "$f"); else args=(-c "$f"); fi
        run_plain "$name.$mode" "$DS_BIN" "${args[@]}"
        if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ "$RC" -ne 137 ]; then
            ds_pass "$name ($mode): exit status $RC"
        else
            ds_fail "$name ($mode): exit status $RC (expected non-zero, without a timeout)"
        fi
        if grep -qF -- "$msg" "$W/$name.$mode.err"; then
            ds_pass "$name ($mode): stderr has '$msg'"
        else
            ds_fail "$name ($mode): stderr lacks '$msg'; it was:" \
                "$(head -c 600 "$W/$name.$mode.err")"
        fi
        run_traced "$name.$mode.traced" "$DS_BIN" "${args[@]}"
        if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] &&
            no_sockets "$name.$mode.traced"; then
            ds_pass "$name ($mode, strace): exit status $RC, no bind or listen"
        else
            ds_fail "$name ($mode, strace): exit status $RC, calls:" \
                "$(grep -E 'bind|listen' "$W/$name.$mode.traced.strace" | head -3)"
        fi
        if ds_port_listening tcp "$P"; then
            ds_fail "$name ($mode): port $P is listening afterwards"
        fi
    done
}

# A 210-character forwarder line is fine (inih only sees the directive name); our own
# limit is 4096 characters: "log-level" + 4083 blanks + "debug" is one too many.
LONG_FWD="forwarder ipv4 siem.corp.local 6514 tls=on tls-ca-file=/etc/dnsstream/tls/ca.pem"
LONG_FWD="$LONG_FWD tls-client-certificate=/etc/dnsstream/tls/client.pem"
LONG_FWD="$LONG_FWD tls-client-key=/etc/dnsstream/tls/client.key tls-server-name=siem.corp.local"
LONG="log-level$(printf '%4083s' '')debug"

expect_bad unknown_directive "$IN
output stdout
queue-sise 1000000
" "@F@:3: unknown directive 'queue-sise'"

expect_bad bad_value "$IN
output stdout
# the queue
queue-size 12x
" "@F@:4: queue-size: bad size '12x' (use bytes, or a number with k, M or G)"

expect_bad missing_argument "$IN
forwarder ipv4 siem.corp.local
" "@F@:2: forwarder: missing PORT (usage: forwarder ipv4|ipv6 HOST PORT [key=value ...])"

expect_bad too_many_arguments "$IN
output stdout
log-level info debug
" "@F@:3: log-level: too many arguments: 'debug' (usage: log-level error|warn|info|debug)"

expect_bad unknown_option "$IN
forwarder ipv4 siem.corp.local 514 colour=red
" "@F@:2: forwarder: unknown option 'colour=red'"

expect_bad duplicate "$IN
output stdout
queue-size 1M
queue-size 2M
" "@F@:4: queue-size: '2M' repeats the setting on line 3 (each setting may appear once)"

expect_bad inconsistent "$IN
forwarder ipv4 10.0.0.1 6000 format=pdns syslog=rfc5424
" "@F@:2: forwarder: syslog=rfc5424 cannot carry format=pdns (binary; use syslog=none)"

expect_bad ipv6_family "$IN
forwarder ipv4 2001:db8::1 514
" "@F@:2: forwarder: '2001:db8::1' is an IPv6 address (use forwarder ipv6)"

expect_bad long_line "$IN
output stdout
$LONG
" "@F@:3: line too long (4097 characters, at most 4096)"

expect_bad section "$IN
[forwarders]
forwarder ipv4 siem.corp.local 514
" "@F@:2: sections are not used in dnsstream.conf: '[forwarders]'"

expect_bad bad_input_address "$IN
input pdns localhost 6001
output stdout
" "@F@:2: input: bad ADDRESS 'localhost' (use a numeric IPv4 or IPv6 address)"

expect_bad dnstap_reserved "$IN
input dnstap unix /run/dnstap.sock
output stdout
" "@F@:2: input: type 'dnstap' is not yet supported"

expect_bad no_destination "$IN
log-level info
" "@F@: no destination (add an 'output' or a 'forwarder' line)"

expect_bad no_input "output stdout
" "@F@: no input (add a line 'input pdns ADDRESS PORT')"

# A file that does not exist.
run_plain missing "$DS_BIN" --check-config "$W/does-not-exist.conf"
ds_check "missing file: exit status $RC is non-zero" test "$RC" -ne 0 -a "$RC" -ne 124
ds_check "missing file: stderr names it" \
    grep -qF "$W/does-not-exist.conf: cannot open: No such file or directory" "$W/missing.err"

# ---- good files -----------------------------------------------------------------------
good() {
    local name=$1 f=$2 desc=$3
    run_plain "$name" "$DS_BIN" --check-config "$f"
    ds_eq "--check-config accepts $desc" 0 "$RC"
    run_traced "$name.traced" "$DS_BIN" --check-config "$f"
    if [ "$RC" -eq 0 ] && no_sockets "$name.traced"; then
        ds_pass "--check-config of $desc binds nothing"
    else
        ds_fail "--check-config of $desc under strace: exit $RC, calls:" \
            "$(grep -E 'bind|listen' "$W/$name.traced.strace" | head -3)"
    fi
}

good shipped "$DS_SOURCE_DIR/conf/dnsstream.conf" "conf/dnsstream.conf"

cat >"$W/product.conf" <<EOF
$IN
forwarder ipv4 siem.corp.local 514
forwarder ipv6 siem-v6.corp.local 6514 tls=on tls-client-certificate=auto
$LONG_FWD
forwarder-recovery durable
queue-size 104857600
queue-recovery on
queue-filename dnsstream.queue
state-directory $W
EOF
good product "$W/product.conf" "the product document's lines"
ds_check "--check-config created no queue file" test ! -e "$W/dnsstream.queue"

# ---- control: the same tracing does see a listener -------------------------------------
# So that "no bind or listen" above cannot pass just because strace saw nothing: run a good
# file for real under the same strace, wait for the port, stop dnsstream (by its pid, the
# child of strace) and look for its bind and listen on $P.
cat >"$W/control.conf" <<EOF
$IN
output file $W/control.jsonl
metrics-interval 0
state-directory $W
EOF
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    strace -f -qq -e trace=bind,listen -e signal=none -o "$W/control.strace" \
    "$DS_BIN" -c "$W/control.conf" >"$W/control.log" 2>&1 </dev/null &
SPID=$!
if ds_wait_port tcp "$P" 20; then
    ds_pass "control: a good file listens on port $P"
else
    ds_fail "control: a good file listens on port $P"
fi
DPID=$(ps -o pid= --ppid "$SPID" | head -1 | tr -d ' ')
[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null
if ds_wait_for 20 ds_pid_gone "$SPID"; then
    wait "$SPID" 2>/dev/null
else
    ds_log "strace (pid $SPID) still running, killing it and dnsstream (pid $DPID)"
    [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
    kill -KILL "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
fi
ds_check "control: strace recorded bind() to port $P" \
    grep -q "bind(.*htons($P)" "$W/control.strace"
ds_check "control: strace recorded listen()" grep -q 'listen(' "$W/control.strace"

ds_finish
