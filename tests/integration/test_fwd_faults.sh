#!/usr/bin/env bash
# test_fwd_faults.sh - recovery modes against a collector that misbehaves (real sockets).
#
# For each case: dnsstream takes 20,000 PowerDNS events on its input and forwards them
# as JSON lines (batches of 100) to tests/tools/faultcollector, whose first connection
# fails after 5,000 events (reset, stall, close without reading, or half-close; its
# receive buffer is 4 KiB so little is acknowledged without being read).  The collector
# records every sequence number it reads; the forwarder reconnects and goes on.
# Checked per case, from the recorded sequence numbers (1..20000, metrics disabled):
#   durable      nothing missing, whatever the fault; duplicates at most 2 batches
#                (the batch in flight plus the previous one)
#   best-effort  nothing missing when the failure is seen promptly (half-close);
#                duplicates at most 1 batch (the one in flight)
#   drop         no duplicates; nothing missing after a half-close
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init fwd_faults
ds_need_cmd python3 ss

FC="$DS_BUILD_DIR/faultcollector"
SEND="$DS_PEERS/fwd/send_pdns.py"
N=20000
BATCH=100
AFTER=5000

# run_case RECOVERY FAULT MAX_MISSING MAX_DUPS
run_case() {
    local rec=$1 fault=$2 max_missing=$3 max_dups=$4
    local name="$rec-$fault" dir="$DS_WORK/$rec-$fault"
    mkdir -p "$dir"
    local pin pc
    pin=$(ds_free_port)
    pc=$(ds_free_port)
    cat >"$dir/ds.conf" <<EOF
instance-name faults
input pdns 127.0.0.1 $pin
forwarder ipv4 127.0.0.1 $pc format=json syslog=none write-timeout=1s connect-timeout=1s
forwarder-recovery $rec
forwarder-batch-size $BATCH
forwarder-backoff 50ms 400ms
metrics-interval 0
state-directory $dir
EOF
    ds_start "fc-$name" "$FC" --port "$pc" --out "$dir/seqs" --fault "$fault:$AFTER" \
        --rcvbuf 4096 --stall-ms 2500
    ds_wait_port tcp "$pc" || { ds_fail "$name: collector listening"; return; }
    ds_start "ds-$name" "$DS_BIN" -c "$dir/ds.conf"
    ds_wait_port tcp "$pin" || { ds_fail "$name: dnsstream listening"; return; }
    python3 "$SEND" "$pin" "$N" || ds_fail "$name: sending $N events"
    # In-order delivery: once the last event arrived, everything the forwarder will
    # ever send for this run has arrived.
    if ! ds_wait_for 60 grep -q " $N\$" "$dir/seqs"; then
        ds_fail "$name: event $N reached the collector"
    fi
    ds_stop "ds-$name"
    ds_stop "fc-$name"
    ds_pycheck '
import sys
path, n, max_missing, max_dups, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
seqs, conns = [], set()
for line in open(path):
    c, s = line.split()
    conns.add(int(c))
    seqs.append(int(s))
seen = set(seqs)
missing = sorted(set(range(1, n + 1)) - seen)
dups = len(seqs) - len(seen)
print("%s: %d received, %d distinct, %d missing, %d duplicates, %d connections"
      % (name, len(seqs), len(seen), len(missing), dups, len(conns)))
check("%s: the fault cut the first connection (%d connections)" % (name, len(conns)), len(conns) >= 2)
check("%s: missing %d <= %d" % (name, len(missing), max_missing), len(missing) <= max_missing, missing[:10])
check("%s: duplicates %d <= %d" % (name, dups, max_dups), dups <= max_dups)
check("%s: nothing outside 1..%d" % (name, n), all(1 <= s <= n for s in seen))
# after reconnecting, events arrive in order: each connection is increasing
by = {}
for line in open(path):
    c, s = map(int, line.split())
    by.setdefault(c, []).append(s)
check("%s: in order on every connection" % name,
      all(all(a < b for a, b in zip(v, v[1:])) for v in by.values()))
' "$dir/seqs" "$N" "$max_missing" "$max_dups" "$name"
}

run_case durable reset 0 $((2 * BATCH))
run_case durable stall 0 $((2 * BATCH))
run_case durable close 0 $((2 * BATCH))
run_case durable halfclose 0 $((2 * BATCH))
run_case best-effort halfclose 0 "$BATCH"
run_case best-effort reset "$N" "$BATCH"
run_case drop reset "$N" 0
run_case drop halfclose 0 0

ds_finish
