#!/usr/bin/env bash
# test_fwd_multi.sh - several forwarder targets: broadcast, failover, roundrobin, sharded.
#
# Three faultcollectors (JSON lines, they record each event's sequence number); dnsstream
# takes PowerDNS events from send_pdns.py (event k, counting from 0, gets ring sequence
# number k+1 and comes from client 10.0.x.y with index k % clients).
#   broadcast   kill one collector: the other two receive every event without a gap and
#               without a duplicate; the killed one catches up when it returns
#   failover    everything to the first collector; when it dies, the second takes over
#               with nothing missing; the third gets nothing
#   roundrobin  batches rotate 1, 2, 3, 1, ... over the collectors; every event once
#   sharded     each client address goes to one collector, crc32(address) % 3; when that
#               collector dies its share moves to the next one, the others' stay put
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init fwd_multi
ds_need_cmd python3 ss

FC="$DS_BUILD_DIR/faultcollector"
SEND="$DS_PEERS/fwd/send_pdns.py"

last_seq_is() { [ -f "$1" ] && [ "$(tail -n 1 "$1" | cut -d' ' -f2)" = "$2" ]; }
total_lines_at_least() {
    local n=$1 sum=0 f
    shift
    for f in "$@"; do sum=$((sum + $(ds_count_lines "$f"))); done
    [ "$sum" -ge "$n" ]
}
connected_count() { grep -c -- '-> connected' "$1" 2>/dev/null || echo 0; }
connections_at_least() { [ "$(connected_count "$1")" -ge "$2" ]; }

# start_run NAME MODE: three collectors c1..c3 and a dnsstream with three forwarders.
start_run() {
    RUN=$1
    local mode=$2 i
    RD="$DS_WORK/$RUN"
    mkdir -p "$RD"
    PIN=$(ds_free_port)
    for i in 1 2 3; do
        PORT[$i]=$(ds_free_port)
        ds_start "$RUN-c$i" "$FC" --port "${PORT[$i]}" --out "$RD/c$i.seqs"
        ds_wait_port tcp "${PORT[$i]}" || ds_fail "$RUN: collector $i listening"
    done
    cat >"$RD/ds.conf" <<EOF
instance-name multi
input pdns 127.0.0.1 $PIN
forwarder ipv4 127.0.0.1 ${PORT[1]} format=json syslog=none connect-timeout=1s write-timeout=2s
forwarder ipv4 127.0.0.1 ${PORT[2]} format=json syslog=none connect-timeout=1s write-timeout=2s
forwarder ipv4 127.0.0.1 ${PORT[3]} format=json syslog=none connect-timeout=1s write-timeout=2s
forwarder-mode $mode
forwarder-recovery durable
forwarder-batch-size 100
forwarder-backoff 50ms 200ms
metrics-interval 0
state-directory $RD
EOF
    ds_start "$RUN-ds" "$DS_BIN" -c "$RD/ds.conf"
    ds_wait_port tcp "$PIN" || ds_fail "$RUN: dnsstream listening"
    ds_wait_for 10 connections_at_least "$DS_WORK/$RUN-ds.log" 3 ||
        ds_fail "$RUN: three targets connected"
}

stop_run() {
    ds_stop "$RUN-ds"
    ds_eq "$RUN: dnsstream stopped cleanly" 0 "$DS_EXIT_STATUS"
    local i
    for i in 1 2 3; do ds_stop "$RUN-c$i" || true; done
}

# ---------------------------------------------------------------- broadcast
start_run bc broadcast
python3 "$SEND" "$PIN" 10000 || ds_fail "bc: send 1"
for i in 1 2 3; do
    ds_check "bc: collector $i has 1..10000" ds_wait_for 30 last_seq_is "$RD/c$i.seqs" 10000
done
ds_stop bc-c2
python3 "$SEND" "$PIN" 10000 --start 10000 --rate 20000 || ds_fail "bc: send 2"
ds_check "bc: collector 1 reached 20000 while 2 was down" ds_wait_for 30 last_seq_is "$RD/c1.seqs" 20000
ds_check "bc: collector 3 reached 20000 while 2 was down" ds_wait_for 30 last_seq_is "$RD/c3.seqs" 20000
ds_start bc-c2b "$FC" --port "${PORT[2]}" --out "$RD/c2b.seqs"
ds_check "bc: the returning collector caught up to 20000" ds_wait_for 30 last_seq_is "$RD/c2b.seqs" 20000
python3 "$SEND" "$PIN" 5000 --start 20000 || ds_fail "bc: send 3"
for f in c1 c2b c3; do
    ds_check "bc: $f reached 25000" ds_wait_for 30 last_seq_is "$RD/$f.seqs" 25000
done
ds_pycheck '
import sys
d = sys.argv[1]
def seqs(name):
    return [int(l.split()[1]) for l in open(d + "/" + name + ".seqs")]
for name in ("c1", "c3"):
    s = seqs(name)
    check("bc: %s got 1..25000 exactly once, in order, on one connection" % name,
          s == list(range(1, 25001)), (len(s), s[:3]))
back = seqs("c2") + seqs("c2b")
missing = sorted(set(range(1, 25001)) - set(back))
check("bc: the killed collector has everything after catching up", not missing, missing[:10])
check("bc: its duplicates are within one batch plus the previous (%d)" % (len(back) - len(set(back))),
      len(back) - len(set(back)) <= 200)
' "$RD"
stop_run
ds_stop bc-c2b || true

# ---------------------------------------------------------------- failover
start_run fo failover
python3 "$SEND" "$PIN" 5000 || ds_fail "fo: send 1"
ds_check "fo: collector 1 has 1..5000" ds_wait_for 30 last_seq_is "$RD/c1.seqs" 5000
ds_stop fo-c1
python3 "$SEND" "$PIN" 5000 --start 5000 || ds_fail "fo: send 2"
ds_check "fo: collector 2 took over up to 10000" ds_wait_for 30 last_seq_is "$RD/c2.seqs" 10000
ds_pycheck '
import sys
d = sys.argv[1]
c = {n: [int(l.split()[1]) for l in open("%s/%s.seqs" % (d, n))] for n in ("c1", "c2", "c3")}
check("fo: collector 1 got 1..5000 in order", c["c1"] == list(range(1, 5001)), len(c["c1"]))
check("fo: the third collector got nothing", c["c3"] == [])
allseq = c["c1"] + c["c2"]
missing = sorted(set(range(1, 10001)) - set(allseq))
check("fo: nothing missing across the failover", not missing, missing[:10])
check("fo: collector 2 starts at most one batch before 5001 (%d)" % c["c2"][0], c["c2"][0] >= 4901)
check("fo: collector 2 in order", c["c2"] == sorted(c["c2"]))
' "$RD"
stop_run

# ---------------------------------------------------------------- roundrobin
start_run rr roundrobin
python3 "$SEND" "$PIN" 30000 --rate 30000 || ds_fail "rr: send"
ds_check "rr: 30000 events delivered" ds_wait_for 30 total_lines_at_least 30000 \
    "$RD/c1.seqs" "$RD/c2.seqs" "$RD/c3.seqs"
ds_pycheck '
import sys
d = sys.argv[1]
owner = {}
counts = []
for i in (1, 2, 3):
    s = [int(l.split()[1]) for l in open("%s/c%d.seqs" % (d, i))]
    counts.append(len(s))
    for q in s:
        check("rr: seq %d delivered once" % q, q not in owner) if q in owner else None
        owner[q] = i
check("rr: every event once (%s)" % counts, sorted(owner) == list(range(1, 30001)))
check("rr: every collector got a share", all(n > 0 for n in counts), counts)
runs = []
for q in range(1, 30001):
    if not runs or runs[-1] != owner[q]:
        runs.append(owner[q])
bad = [k for k in range(1, len(runs)) if runs[k] != runs[k - 1] % 3 + 1]
check("rr: %d batches rotate 1, 2, 3, 1, ..." % len(runs), not bad and runs[0] == 1, runs[:12])
' "$RD"
stop_run

# ---------------------------------------------------------------- sharded
start_run sh sharded
python3 "$SEND" "$PIN" 20000 --clients 50 || ds_fail "sh: send 1"
ds_check "sh: 20000 events delivered" ds_wait_for 30 total_lines_at_least 20000 \
    "$RD/c1.seqs" "$RD/c2.seqs" "$RD/c3.seqs"
for i in 1 2 3; do cp "$RD/c$i.seqs" "$RD/c$i.part1"; done
ds_stop sh-c1
python3 "$SEND" "$PIN" 20000 --clients 50 --start 20000 || ds_fail "sh: send 2"
ds_check "sh: the rest delivered" ds_wait_for 30 total_lines_at_least 40000 \
    "$RD/c1.seqs" "$RD/c2.seqs" "$RD/c3.seqs"
ds_pycheck '
import sys, zlib
d = sys.argv[1]
def client(seq):
    c = (seq - 1) % 50
    return bytes([10, 0, c // 256, c % 256 + 1])
def home(seq, up=(1, 2, 3)):
    h = zlib.crc32(client(seq)) % 3 + 1
    while h not in up:
        h = h % 3 + 1
    return h
got = {}
for i in (1, 2, 3):
    for l in open("%s/c%d.seqs" % (d, i)):
        got.setdefault(int(l.split()[1]), []).append(i)
wrong1 = [q for q in range(1, 20001) if not got.get(q) or got[q][0] != home(q)]
check("sh: with all up, each event first at crc32(client) %% 3 (%d wrong)" % len(wrong1), not wrong1,
      [(q, got.get(q), home(q)) for q in wrong1[:5]])
again = [q for q in range(1, 20001) if len(got.get(q, [])) > 1]
check("sh: delivered again only from collector 1 last batch, to collector 2 (%d)" % len(again),
      len(again) <= 100 and all(got[q] == [1, 2] for q in again), [(q, got[q]) for q in again[:5]])
missing = [q for q in range(20001, 40001) if q not in got]
check("sh: nothing missing after collector 1 died", not missing, missing[:10])
wrong2 = [q for q in range(20001, 40001) if home(q, (2, 3)) not in got.get(q, [])]
check("sh: collector 1 share moved to collector 2, the others stayed (%d wrong)" % len(wrong2),
      not wrong2, [(q, got.get(q), home(q, (2, 3))) for q in wrong2[:5]])
per = [sum(1 for q in got if i in got[q]) for i in (1, 2, 3)]
check("sh: every collector had a share before (%s)" % per, all(per))
' "$RD"
stop_run

ds_finish
