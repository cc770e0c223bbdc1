#!/usr/bin/env bash
# test_cli.sh - the dnsstream command line and process behaviour.
#
# --version, --help, --check-config (good, bad, embedded default), an unknown option;
# SIGTERM right after the senders finished still writes every frame (the captures in
# shared/fixtures, byte for byte in the PowerDNS output); a garbled frame closes only
# its own connection, is logged with a reason and counted, while another connection
# keeps delivering; log-format json writes JSON log lines.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init cli
ds_need_cmd socat ss python3
if [ ! -x "$DS_BIN" ]; then
    ds_fail "dnsstream binary exists at $DS_BIN"
    ds_finish
fi
W=$DS_WORK
FIX=$DS_SHARED_DIR/fixtures
DD=$FIX/dnsdist-1.7.3.lp16     # 22 frames
REC=$FIX/pdns-recursor-4.8.8.lp16 # 24 frames
for f in "$DD" "$REC"; do
    if [ ! -f "$f" ]; then
        ds_fail "fixture $f exists (DS_SHARED_DIR=$DS_SHARED_DIR)"
        ds_finish
    fi
done

# ---- options --------------------------------------------------------------------------
VERSION=$(sed -n 's/^project(dnsstream VERSION \([0-9.]*\).*/\1/p' "$DS_SOURCE_DIR/CMakeLists.txt")
out=$("$DS_BIN" --version 2>&1)
rc=$?
ds_eq "--version exits 0" 0 "$rc"
ds_check "--version prints dnsstream $VERSION ($out)" grep -q "dnsstream.*$VERSION" <<<"$out"

out=$("$DS_BIN" --help 2>&1)
rc=$?
ds_eq "--help exits 0" 0 "$rc"
ds_check "--help describes -c" grep -q -- '-c' <<<"$out"
ds_check "--help describes --check-config" grep -q -- '--check-config' <<<"$out"

"$DS_BIN" --no-such-option >"$W/badopt.out" 2>&1
rc=$?
ds_check "an unknown option exits non-zero ($rc)" test "$rc" -ne 0
ds_check "an unknown option is named in the message" grep -q -- 'no-such-option' "$W/badopt.out"

mkdir -p "$W/state"
cat >"$W/good.conf" <<EOF
input pdns 127.0.0.1 $(ds_free_port)
output file $W/never.jsonl format=json
metrics-interval 0
state-directory $W/state
EOF
"$DS_BIN" --check-config "$W/good.conf" >"$W/check-good.out" 2>&1
ds_eq "--check-config accepts a good file" 0 "$?"
ds_check "--check-config starts nothing (no output file)" test ! -e "$W/never.jsonl"

printf 'log-level info\n# a comment\nno-such-directive 1 2\n' >"$W/bad.conf"
"$DS_BIN" --check-config "$W/bad.conf" >"$W/check-bad.out" 2>&1
rc=$?
ds_check "--check-config rejects an unknown directive ($rc)" test "$rc" -ne 0
ds_check "the error names file and line (bad.conf:3)" grep -q 'bad.conf:3' "$W/check-bad.out"

"$DS_BIN" --print-default-config >"$W/default.conf" 2>"$W/print-default.err"
ds_eq "--print-default-config exits 0" 0 "$?"
ds_check "--print-default-config prints the shipped conf/dnsstream.conf" \
    cmp -s "$W/default.conf" "$DS_SOURCE_DIR/conf/dnsstream.conf"
"$DS_BIN" --check-config "$W/default.conf" >"$W/check-default.out" 2>&1
ds_eq "--check-config accepts the embedded default configuration" 0 "$?"
"$DS_BIN" --check-config "$W/no-such.conf" >"$W/check-missing.out" 2>&1
rc=$?
ds_check "--check-config fails for a missing file ($rc)" test "$rc" -ne 0

# ---- SIGTERM right after the senders finished -------------------------------------------
IN=$(ds_free_port)
cat >"$W/flush.conf" <<EOF
input pdns 127.0.0.1 $IN
output file $W/flush.jsonl format=json
output file $W/flush.pdns format=pdns
log-level info
metrics-interval 0
state-directory $W/state
EOF
ds_start flush "$DS_BIN" -c "$W/flush.conf"
ds_check "dnsstream listens on 127.0.0.1:$IN" ds_wait_port tcp "$IN" 10
# The first capture, then wait until it is written, so the file order is known.
socat -u "OPEN:$DD" "TCP:127.0.0.1:$IN" >"$W/socat1.log" 2>&1
ds_eq "socat sent the dnsdist capture" 0 "$?"
ds_check "the 22 dnsdist frames were written while running" \
    ds_wait_for 15 ds_json_count_is 22 "$W/flush.jsonl"
# The second capture, and SIGTERM as soon as socat has closed its connection.
socat -u "OPEN:$REC" "TCP:127.0.0.1:$IN" >"$W/socat2.log" 2>&1
ds_eq "socat sent the recursor capture" 0 "$?"
ds_stop flush 20
ds_eq "dnsstream exits 0 on SIGTERM" 0 "$DS_EXIT_STATUS"
ds_eq "all 46 frames are in the JSON output after SIGTERM" 46 "$(ds_json_count "$W/flush.jsonl")"
ds_check "the PowerDNS output is the two captures byte for byte" \
    cmp -s "$W/flush.pdns" <(cat "$DD" "$REC")

ds_pycheck "$(
    cat <<'PYEOF'
work, dd, rec = sys.argv[1:4]
events = load_events(work + '/flush.jsonl')
tnames = {1: 'DNSQueryType', 2: 'DNSResponseType', 3: 'DNSOutgoingQueryType',
          4: 'DNSIncomingResponseType'}
want = []
for path in (dd, rec):
    for fr in lp16_frames(open(path, 'rb').read()):
        f = dict(pb_fields(fr))
        want.append((tnames[f[1]], f[2].hex(), f.get(11)))
got = [(e.get('type'), str(e.get('messageId')).lower(), e.get('id')) for e in events]
check('JSON events carry the type, messageId and id of each captured frame, in order',
      got == want, next(((i, a, b) for i, (a, b) in enumerate(zip(got, want)) if a != b),
                        (len(got), len(want))))
PYEOF
)" "$W" "$DD" "$REC"

# ---- a garbled frame closes only its own connection ------------------------------------
IN=$(ds_free_port)
cat >"$W/garble.conf" <<EOF
input pdns 127.0.0.1 $IN
output file $W/garble.jsonl format=json
log-level info
metrics-interval 1
state-directory $W/state
EOF
ds_start garble "$DS_BIN" -c "$W/garble.conf"
ds_check "dnsstream listens on 127.0.0.1:$IN" ds_wait_port tcp "$IN" 10
python3 - "$IN" "$DD" "$W/garble.jsonl" >"$W/garble-client.txt" 2>&1 <<'PYEOF'
import json, socket, sys, time
port, capture, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = open(capture, 'rb').read()
frames, i = [], 0
while i < len(data):
    n = (data[i] << 8) | data[i + 1]
    frames.append(data[i:i + 2 + n])
    i += 2 + n

def events():
    try:
        return sum(1 for l in open(out) if json.loads(l).get('type') != 'metrics')
    except FileNotFoundError:
        return 0

def wait_events(n, secs=15):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if events() >= n:
            return events() == n
        time.sleep(0.05)
    return False

good = socket.create_connection(('127.0.0.1', port))
bad = socket.create_connection(('127.0.0.1', port))
print('BADPORT', bad.getsockname()[1])
good.sendall(b''.join(frames[0:5]))
bad.sendall(b''.join(frames[5:8]))
print('STEP1', 'ok' if wait_events(8) else 'timeout %d' % events())
# A frame of 10 bytes with wire type 7 (no such type), then two good frames.
bad.sendall(b'\x00\x0a' + b'\xff' * 10 + frames[8] + frames[9])
bad.settimeout(10)
try:
    closed = bad.recv(1) == b''
except ConnectionResetError:
    closed = True
except socket.timeout:
    closed = False
print('BADCLOSED', 'yes' if closed else 'no')
good.sendall(b''.join(frames[10:15]))
print('STEP2', 'ok' if wait_events(13) else 'timeout %d' % events())
good.close()
PYEOF
cat "$W/garble-client.txt"
BADPORT=$(sed -n 's/^BADPORT //p' "$W/garble-client.txt")
ds_check "frames on both connections were written" grep -q '^STEP1 ok' "$W/garble-client.txt"
ds_check "dnsstream closed the connection that sent the garbled frame" \
    grep -q '^BADCLOSED yes' "$W/garble-client.txt"
ds_check "the other connection keeps delivering (13 events)" grep -q '^STEP2 ok' \
    "$W/garble-client.txt"
has_metrics() { [ "$(ds_json_count "$W/garble.jsonl" type=metrics)" -ge 2 ]; }
ds_check "metrics events are written every second" ds_wait_for 10 has_metrics
ds_stop garble 20
ds_eq "dnsstream exits 0 on SIGTERM" 0 "$DS_EXIT_STATUS"
ds_eq "exactly 13 DNS events: nothing after the garbled frame on its connection" 13 \
    "$(($(ds_json_count "$W/garble.jsonl") - $(ds_json_count "$W/garble.jsonl" type=metrics)))"
ds_check "the log names the closed connection (port $BADPORT) and a reason" \
    grep -Eiq "$BADPORT.*(garbl|malformed|invalid|bad frame|wire type|protobuf)|(garbl|malformed|invalid|bad frame|wire type|protobuf).*$BADPORT" \
    "$W/garble.log"
ds_pycheck "$(
    cat <<'PYEOF'
events = load_events(sys.argv[1])
metrics = [e for e in events if e.get('type') == 'metrics']
want = {'metrics.inputs.badFrames': 1, 'metrics.inputs.frames': 13,
        'metrics.inputs.connectionsAccepted': 2, 'metrics.inputs.connectionsOpen': 0}
# The periodic events (every second while running) and the last one, written at stop.
periodic, final = metrics[:-1], (metrics[-1] if metrics else None)
later = [m for m in periodic if get(m, 'metrics.inputs.frames') == 13]
check('a periodic metrics event after the garbled frame exists', later, len(periodic))
if later:
    expect_fields('the periodic metrics event counts the garbled frame and both connections',
                  later[-1], want)
expect_fields('the metrics event written at stop keeps the input totals', final, want)
PYEOF
)" "$W/garble.jsonl"

# ---- log-format json -----------------------------------------------------------------
IN=$(ds_free_port)
cat >"$W/jsonlog.conf" <<EOF
input pdns 127.0.0.1 $IN
output file $W/jsonlog.jsonl format=json
log-level info
log-format json
metrics-interval 0
state-directory $W/state
EOF
ds_start jsonlog "$DS_BIN" -c "$W/jsonlog.conf"
ds_check "dnsstream listens on 127.0.0.1:$IN" ds_wait_port tcp "$IN" 10
ds_stop jsonlog 20
ds_eq "dnsstream exits 0 on SIGTERM" 0 "$DS_EXIT_STATUS"
ds_pycheck "$(
    cat <<'PYEOF'
lines = [l for l in open(sys.argv[1]) if l.strip()]
bad = []
for l in lines:
    try:
        if not isinstance(json.loads(l), dict):
            bad.append(l)
    except ValueError:
        bad.append(l)
check('log-format json: %d log lines, each a JSON object' % len(lines), lines and not bad, bad[:3])
PYEOF
)" "$W/jsonlog.log"

ds_finish
