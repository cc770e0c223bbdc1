# shellcheck shell=bash disable=SC2034
# tests/integration/lib.sh - shared helpers for the integration test scripts.
#
# What it is for: every tests/integration/test_*.sh sources this file to get a scratch
# directory, free loopback ports picked at run time, bounded polling instead of sleeps,
# daemons started in the background with pid files and stopped on every exit path,
# and the pass/fail counters that end in the "N passed, N failed" line.
# Who owns what: the scratch directory ($DS_WORK) and every daemon started with
# ds_start belong to the calling script; ds_cleanup (an EXIT trap) stops the daemons
# and removes the directory (kept on failure, or with DS_KEEP_WORK=1).
# Which shell may call it: bash only, one test script per process; call ds_start
# from the script's own shell (never inside $(...)) so the daemon stays its child.
#
# Environment: DS_BUILD_DIR (the CMake build directory, holds ./dnsstream),
# DS_SOURCE_DIR (the repository), DS_SHARED_DIR (default $DS_SOURCE_DIR/../shared).

set -u
set -o pipefail

DS_T_PASSED=0
DS_T_FAILED=0
DS_T_NAME=""
DS_WORK=""
DS_DAEMONS=()

# ds_init NAME: check the environment, make the scratch directory, install the traps.
ds_init() {
    DS_T_NAME=$1
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    : "${DS_SOURCE_DIR:=$(cd "$here/../.." && pwd)}"
    : "${DS_BUILD_DIR:=$DS_SOURCE_DIR/build}"
    : "${DS_SHARED_DIR:=$DS_SOURCE_DIR/../shared}"
    export DS_SOURCE_DIR DS_BUILD_DIR DS_SHARED_DIR
    DS_PEERS="$here/peers"
    DS_BIN="$DS_BUILD_DIR/dnsstream"
    DS_WORK=$(mktemp -d "${TMPDIR:-/tmp}/ds-it-$DS_T_NAME.XXXXXX")
    trap ds_cleanup EXIT
    trap 'ds_log "interrupted"; exit 130' INT TERM HUP
    ds_log "scratch directory $DS_WORK"
}

ds_log() {
    printf '[%s %s] %s\n' "$DS_T_NAME" "$(date +%H:%M:%S.%3N)" "$*" >&2
}

# ds_need_cmd CMD...: fail the whole script (exit 1) when a required program is missing.
ds_need_cmd() {
    local c missing=0
    for c in "$@"; do
        if ! command -v "$c" >/dev/null 2>&1; then
            ds_log "required program not found: $c (run scripts/install-deps.sh)"
            missing=1
        fi
    done
    if [ "$missing" -ne 0 ]; then
        ds_fail "required programs present"
        exit 1
    fi
}

# ---- results -------------------------------------------------------------------------

ds_pass() {
    DS_T_PASSED=$((DS_T_PASSED + 1))
    printf 'PASS %s\n' "$*"
}

ds_fail() {
    DS_T_FAILED=$((DS_T_FAILED + 1))
    printf 'FAIL %s\n' "$*"
}

# ds_check DESC CMD...: pass when CMD succeeds.
ds_check() {
    local desc=$1
    shift
    if "$@"; then ds_pass "$desc"; else ds_fail "$desc"; fi
}

# ds_eq DESC EXPECTED ACTUAL
ds_eq() {
    if [ "$2" = "$3" ]; then
        ds_pass "$1 ($3)"
    else
        ds_fail "$1: expected '$2', got '$3'"
    fi
}

# ds_finish: print the summary line and exit with the result (the EXIT trap cleans up).
ds_finish() {
    if [ "$DS_T_PASSED" -eq 0 ] && [ "$DS_T_FAILED" -eq 0 ]; then
        ds_fail "the script checked nothing"
    fi
    echo "$DS_T_PASSED passed, $DS_T_FAILED failed"
    [ "$DS_T_FAILED" -eq 0 ]
    exit $?
}

# ---- ports ---------------------------------------------------------------------------

# ds_free_port [ADDR]: print a port that is free for both TCP and UDP on ADDR
# (default 127.0.0.1), as the kernel hands out ephemeral ports.
ds_free_port() {
    python3 - "${1:-127.0.0.1}" <<'EOF'
import socket, sys
addr = sys.argv[1]
fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
for _ in range(200):
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.bind((addr, 0))
    port = t.getsockname()[1]
    u = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        u.bind((addr, port))
    except OSError:
        t.close()
        continue
    u.close()
    t.close()
    print(port)
    sys.exit(0)
sys.exit(1)
EOF
}

# ---- polling -------------------------------------------------------------------------

# ds_wait_for SECONDS CMD...: run CMD every 50 ms until it succeeds; 1 on deadline.
ds_wait_for() {
    local secs=$1
    shift
    local deadline=$((SECONDS + secs))
    while true; do
        if "$@"; then return 0; fi
        if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
        sleep 0.05
    done
}

# ds_port_listening tcp|udp PORT: a socket is bound or listening on PORT (any address).
ds_port_listening() {
    local flag=-ltnH
    [ "$1" = udp ] && flag=-lunH
    [ -n "$(ss $flag "sport = :$2" 2>/dev/null)" ]
}

# ds_wait_port tcp|udp PORT [SECONDS]: wait until something listens on PORT.
ds_wait_port() {
    ds_wait_for "${3:-10}" ds_port_listening "$1" "$2"
}

# ds_count_established PORT: established TCP connections whose local port is PORT.
ds_count_established() {
    ss -tnH state established "( sport = :$1 )" 2>/dev/null | wc -l
}

# ds_count_lines FILE [REGEX]: lines in FILE (matching REGEX), 0 when it does not exist.
ds_count_lines() {
    if [ ! -f "$1" ]; then echo 0; return; fi
    if [ $# -ge 2 ]; then
        grep -c -- "$2" "$1" || true
    else
        wc -l <"$1" | tr -d ' '
    fi
}

# ds_file_has_lines FILE N [REGEX]: FILE holds at least N lines (matching REGEX).
ds_file_has_lines() {
    local file=$1 n=$2
    shift 2
    [ "$(ds_count_lines "$file" "$@")" -ge "$n" ]
}

# ---- daemons -------------------------------------------------------------------------

# ds_start NAME CMD...: start CMD in the background, stdout+stderr to $DS_WORK/NAME.log,
# pid in $DS_WORK/NAME.pid.  Call from the script's own shell.
ds_start() {
    local name=$1
    shift
    "$@" >"$DS_WORK/$name.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$DS_WORK/$name.pid"
    DS_DAEMONS+=("$name")
    ds_log "started $name (pid $pid): $*"
}

ds_pid() {
    cat "$DS_WORK/$1.pid" 2>/dev/null
}

# ds_running NAME: the daemon's process is still alive.
ds_running() {
    local pid
    pid=$(ds_pid "$1") || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# ds_stop NAME [SECONDS]: SIGTERM, wait up to SECONDS (default 10) for the exit, then
# SIGKILL.  Sets DS_EXIT_STATUS to the daemon's exit status (137 when it had to be
# killed, 255 when it was not running); returns 0 when it stopped by itself.
ds_stop() {
    local name=$1 secs=${2:-10} pid
    DS_EXIT_STATUS=255
    pid=$(ds_pid "$name") || return 1
    [ -n "$pid" ] || return 1
    rm -f "$DS_WORK/$name.pid"
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        DS_EXIT_STATUS=$?
        ds_log "$name (pid $pid) had already exited with status $DS_EXIT_STATUS"
        return 1
    fi
    kill -TERM "$pid" 2>/dev/null
    if ds_wait_for "$secs" ds_pid_gone "$pid"; then
        wait "$pid" 2>/dev/null
        DS_EXIT_STATUS=$?
        ds_log "stopped $name (pid $pid), exit status $DS_EXIT_STATUS"
        return 0
    fi
    ds_log "$name (pid $pid) ignored SIGTERM for ${secs}s, killing it"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    DS_EXIT_STATUS=137
    return 1
}

# A child that has exited but was not reaped is a zombie: treat it as gone.
ds_pid_gone() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
    case "$state" in Z*) return 0 ;; esac
    return 1
}

# ds_cleanup: EXIT trap.  Stops every daemon still running (last started first) and
# removes the scratch directory unless something failed or DS_KEEP_WORK=1.
ds_cleanup() {
    local rc=$? i name
    trap - EXIT INT TERM HUP
    for ((i = ${#DS_DAEMONS[@]} - 1; i >= 0; i--)); do
        name=${DS_DAEMONS[$i]}
        if [ -f "$DS_WORK/$name.pid" ]; then
            ds_stop "$name" 5 || true
        fi
    done
    if [ -n "$DS_WORK" ] && [ -d "$DS_WORK" ]; then
        if [ "$rc" -ne 0 ] || [ "$DS_T_FAILED" -ne 0 ] || [ "${DS_KEEP_WORK:-0}" = 1 ]; then
            ds_log "keeping $DS_WORK for inspection"
            ds_dump_logs
        else
            rm -rf -- "$DS_WORK"
        fi
    fi
    exit "$rc"
}

# ds_dump_logs: print the tail of every daemon log (on failure, so CI shows why).
ds_dump_logs() {
    local f
    for f in "$DS_WORK"/*.log; do
        [ -f "$f" ] || continue
        echo "----- tail of $f"
        tail -n 30 "$f"
    done
}

# ds_subst TEMPLATE OUT VAR=VALUE...: copy TEMPLATE to OUT replacing each @VAR@.
ds_subst() {
    local in=$1 out=$2
    shift 2
    cp "$in" "$out"
    local kv
    for kv in "$@"; do
        local k=${kv%%=*} v=${kv#*=}
        v=${v//\\/\\\\}
        v=${v//|/\\|}
        v=${v//&/\\&}
        sed -i "s|@$k@|$v|g" "$out"
    done
    if grep -q '@[A-Z0-9_]*@' "$out"; then
        ds_log "unsubstituted placeholder left in $out: $(grep -o '@[A-Z0-9_]*@' "$out" | head -1)"
        return 1
    fi
}

# ---- checks written in Python --------------------------------------------------------

# ds_pycheck SCRIPT ARGS...: run a Python check script (with DS_PY_PRELUDE in front) and
# add its "PASS ..." / "FAIL ..." lines to the counters.  A script that dies without
# printing a FAIL line counts as one failure.
ds_pycheck() {
    local script=$1 out rc
    shift
    out=$(python3 -c "$DS_PY_PRELUDE
$script" "$@" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    local p f
    p=$(printf '%s\n' "$out" | grep -c '^PASS ' || true)
    f=$(printf '%s\n' "$out" | grep -c '^FAIL ' || true)
    DS_T_PASSED=$((DS_T_PASSED + p))
    DS_T_FAILED=$((DS_T_FAILED + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        ds_fail "python check exited with status $rc"
    fi
}

# ds_json_count FILE [KEY=VALUE...]: number of JSON lines in FILE whose top-level KEY
# equals VALUE (all pairs must match; numbers compare as text).  Lines that are not
# JSON are not counted.
ds_json_count() {
    python3 - "$@" <<'PYEOF'
import json, sys
path, conds = sys.argv[1], [a.split('=', 1) for a in sys.argv[2:]]
n = 0
try:
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if all(str(ev.get(k)) == v for k, v in conds):
                n += 1
except FileNotFoundError:
    pass
print(n)
PYEOF
}

# ds_json_count_is N FILE [KEY=VALUE...]: ds_json_count equals N (for ds_wait_for).
ds_json_count_is() {
    local n=$1
    shift
    [ "$(ds_json_count "$@")" = "$n" ]
}

# Common Python for ds_pycheck scripts: check(), load_events(), get().
DS_PY_PRELUDE=$(cat <<'PYEOF'
import ipaddress, json, sys

def check(desc, cond, detail=''):
    if cond:
        print('PASS ' + desc)
    else:
        print('FAIL ' + desc + (': ' + str(detail) if detail != '' else ''))
    return bool(cond)

def load_events(path):
    """Every line of a JSON-lines file; a line that is not a JSON object is a failure."""
    events, bad = [], []
    with open(path, encoding='utf-8', errors='replace') as f:
        for no, line in enumerate(f, 1):
            try:
                ev = json.loads(line)
                if not isinstance(ev, dict):
                    raise ValueError('not an object')
                events.append(ev)
            except ValueError as e:
                bad.append((no, str(e), line[:200]))
    check('%s: every line is a JSON object (%d lines)' % (path.rsplit('/', 1)[-1], len(events)),
          not bad, bad[:3])
    return events

def get(ev, dotted, default=None):
    cur = ev
    for part in dotted.split('.'):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur

def varint(buf, i):
    shift = val = 0
    while True:
        b = buf[i]
        i += 1
        val |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return val, i

def pb_fields(buf):
    """Top-level (field number, value) pairs of a protobuf message, in wire order."""
    i, out = 0, []
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = varint(buf, i)
        elif wt == 2:
            n, i = varint(buf, i)
            val, i = bytes(buf[i:i + n]), i + n
        elif wt == 5:
            val, i = bytes(buf[i:i + 4]), i + 4
        elif wt == 1:
            val, i = bytes(buf[i:i + 8]), i + 8
        else:
            raise ValueError('wire type %d' % wt)
        out.append((num, val))
    if i != len(buf):
        raise ValueError('truncated message')
    return out

def lp16_frames(data):
    """Split a stream of 2-byte big-endian length-prefixed frames."""
    frames, i = [], 0
    while i + 2 <= len(data):
        n = (data[i] << 8) | data[i + 1]
        frames.append(data[i + 2:i + 2 + n])
        i += 2 + n
    if i != len(data):
        raise ValueError('trailing %d bytes' % (len(data) - i))
    return frames

def parse_dig(path):
    """What dig +qr printed: query id/size, response id/status/size and answer records."""
    r = {'qid': None, 'id': None, 'status': None, 'qsize': None, 'rsize': None, 'answers': []}
    headers, section = 0, None
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if '->>HEADER<<-' in line:
                headers += 1
                fields = dict(p.strip().split(': ', 1) for p in line.split('->>HEADER<<-')[1].split(','))
                if headers == 1:
                    r['qid'] = int(fields['id'])
                else:
                    r['id'], r['status'] = int(fields['id']), fields['status']
            elif line.startswith(';; QUERY SIZE:'):
                r['qsize'] = int(line.split(':')[1])
            elif line.startswith(';; MSG SIZE'):
                r['rsize'] = int(line.split(':')[1])
            elif line.startswith(';; ') and line.endswith('SECTION:'):
                section = line[3:-9] if headers >= 2 else None
            elif not line:
                section = None
            elif line.startswith(';'):
                continue
            elif section == 'ANSWER':
                name, ttl, cls, typ, rdata = line.split(None, 4)
                r['answers'].append((name, int(ttl), cls, typ, rdata))
    return r

def _norm_rdata(rtype, rdata):
    """A and AAAA rdata compared as addresses (so 2001:db8::1 equals 2001:0db8::1)."""
    if rtype in ('A', 'AAAA') and isinstance(rdata, str):
        try:
            return str(ipaddress.ip_address(rdata))
        except ValueError:
            pass
    return rdata

def json_rrs(ev, ttl=True):
    """The answer records of a JSON response event, sorted, as (name, type, class[, ttl], rdata)."""
    return sorted((rr.get('name'), rr.get('type'), rr.get('class')) +
                  ((rr.get('ttl'),) if ttl else ()) + (_norm_rdata(rr.get('type'), rr.get('rdata')),)
                  for rr in (get(ev, 'response.rrs') or []))

def dig_rrs(dig, ttl=True):
    """The answer records dig printed, in the same form as json_rrs."""
    return sorted((n, t, c) + ((tl,) if ttl else ()) + (_norm_rdata(t, d),)
                  for n, tl, c, t, d in dig['answers'])

def expect_fields(desc, ev, want):
    """want: {dotted key: value}; one check per event, listing every mismatch."""
    bad = {k: (v, get(ev, k)) for k, v in want.items() if get(ev, k) != v}
    return check(desc, ev is not None and not bad,
                 'no event' if ev is None else 'expected/got ' + repr(bad))
PYEOF
)
