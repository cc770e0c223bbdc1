#!/usr/bin/env bash
# test_fwd_resolve.sh - a forwarder target given by name: try the addresses in order,
# one connection carries everything, re-resolve and start again from the first
# address after a failure (the product document's example, on loopback).
#
# dnsstream runs in a private mount namespace (unshare -m) whose /etc/hosts says that
# siem.test is 127.0.0.2, 127.0.0.3 and 127.0.0.4, in that order.  Collectors listen on
# 127.0.0.2 and 127.0.0.4; nothing listens on 127.0.0.3.
#   1. startup: 127.0.0.2 connected, the other two not contacted;
#   2. the collector on 127.0.0.2 goes away: the name is resolved again, 127.0.0.2 and
#      127.0.0.3 refuse, 127.0.0.4 takes over; with durable recovery no event is lost;
#   3. the name moves to 127.0.0.5 (hosts file rewritten) and 127.0.0.4 goes away: the
#      next attempt resolves the new address and connects there.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init fwd_resolve
ds_need_cmd python3 ss unshare mount

if ! unshare -m true 2>/dev/null; then
    ds_log "unshare -m is not permitted here (needs root / CAP_SYS_ADMIN)"
    ds_fail "a private mount namespace can be made"
    ds_finish
fi

FC="$DS_BUILD_DIR/faultcollector"
SEND="$DS_PEERS/fwd/send_pdns.py"
HOSTS="$DS_WORK/hosts"
PIN=$(ds_free_port)
P=$(ds_free_port)
printf '127.0.0.1 localhost\n127.0.0.2 siem.test\n127.0.0.3 siem.test\n127.0.0.4 siem.test\n' >"$HOSTS"
cat >"$DS_WORK/ds.conf" <<EOF
instance-name resolve
input pdns 127.0.0.1 $PIN
forwarder ipv4 siem.test $P format=json syslog=none connect-timeout=1s write-timeout=2s
forwarder-recovery durable
forwarder-batch-size 50
forwarder-backoff 50ms 200ms
metrics-interval 0
state-directory $DS_WORK
EOF

listening_on() { [ -n "$(ss -ltnH "src $1:$2" 2>/dev/null)" ]; }
last_seq_is() { [ -f "$1" ] && [ "$(tail -n 1 "$1" | cut -d' ' -f2)" = "$2" ]; }

ds_start fcA "$FC" --addr 127.0.0.2 --port "$P" --out "$DS_WORK/a.seqs"
ds_start fcC "$FC" --addr 127.0.0.4 --port "$P" --out "$DS_WORK/c.seqs"
ds_wait_for 10 listening_on 127.0.0.2 "$P" || ds_fail "collector on 127.0.0.2 listening"
ds_wait_for 10 listening_on 127.0.0.4 "$P" || ds_fail "collector on 127.0.0.4 listening"

ds_start ds unshare -m bash -c "mount --bind '$HOSTS' /etc/hosts && exec '$DS_BIN' -c '$DS_WORK/ds.conf'"
ds_wait_port tcp "$PIN" || ds_fail "dnsstream listening"

# --- 1. startup
python3 "$SEND" "$PIN" 1000 || ds_fail "sending events 1-1000"
ds_check "1000 events reached 127.0.0.2" ds_wait_for 20 last_seq_is "$DS_WORK/a.seqs" 1000
LOG="$DS_WORK/ds.log"
ds_eq "attempts before the drop" "attempt 127.0.0.2:$P -> connected" \
    "$(grep -o 'attempt [0-9.]*:[0-9]* -> [a-z ]*' "$LOG" | sed 's/ *$//' | paste -sd'|')"
ds_eq "the resolver order was logged" "1" \
    "$(grep -c "siem.test resolves to 127.0.0.2:$P, 127.0.0.3:$P, 127.0.0.4:$P" "$LOG")"
ds_eq "127.0.0.4 not contacted yet" "0" "$(ds_count_lines "$DS_WORK/c.seqs")"

# --- 2. the first address drops; the second refuses; the third takes over
ds_stop fcA
python3 "$SEND" "$PIN" 1000 --start 1000 || ds_fail "sending events 1001-2000"
ds_check "event 2000 reached 127.0.0.4" ds_wait_for 30 last_seq_is "$DS_WORK/c.seqs" 2000
ds_eq "attempts after the drop, in order" \
    "attempt 127.0.0.2:$P -> connected|attempt 127.0.0.2:$P -> refused|attempt 127.0.0.3:$P -> refused|attempt 127.0.0.4:$P -> connected" \
    "$(grep -o 'attempt [0-9.]*:[0-9]* -> [a-z ]*' "$LOG" | sed 's/ *$//' | paste -sd'|')"
ds_eq "the name was resolved again before the retry" "2" \
    "$(grep -c "siem.test resolves to 127.0.0.2:$P, 127.0.0.3:$P, 127.0.0.4:$P" "$LOG")"
ds_pycheck '
import sys
seen = []
for p in sys.argv[1:]:
    seen += [int(l.split()[1]) for l in open(p)]
missing = sorted(set(range(1, 2001)) - set(seen))
check("durable: every event 1..2000 reached a collector", not missing, missing[:10])
check("duplicates within one batch in flight plus the previous one (%d)" % (len(seen) - len(set(seen))),
      len(seen) - len(set(seen)) <= 100)
' "$DS_WORK/a.seqs" "$DS_WORK/c.seqs"

# --- 3. the name now resolves elsewhere
printf '127.0.0.1 localhost\n127.0.0.5 siem.test\n' >"$HOSTS"
ds_start fcE "$FC" --addr 127.0.0.5 --port "$P" --out "$DS_WORK/e.seqs"
ds_wait_for 10 listening_on 127.0.0.5 "$P" || ds_fail "collector on 127.0.0.5 listening"
ds_stop fcC
python3 "$SEND" "$PIN" 500 --start 2000 || ds_fail "sending events 2001-2500"
ds_check "event 2500 reached 127.0.0.5" ds_wait_for 30 last_seq_is "$DS_WORK/e.seqs" 2500
ds_eq "the new address was resolved" "1" "$(grep -c "siem.test resolves to 127.0.0.5:$P" "$LOG")"
ds_eq "and connected" "1" "$(grep -c "attempt 127.0.0.5:$P -> connected" "$LOG")"

ds_stop ds
ds_eq "dnsstream stopped cleanly" 0 "$DS_EXIT_STATUS"
ds_finish
