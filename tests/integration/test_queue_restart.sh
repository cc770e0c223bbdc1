#!/usr/bin/env bash
# test_queue_restart.sh - queue-recovery on across a clean stop.
#
# With the destination down, 1,000,000 tagged events are accepted (the queue file
# holds them all); a clean stop (SIGTERM) keeps them; after a start with the
# destination up, all 1,000,000 arrive exactly once and in order (pbsink: distinct,
# duplicates, gaps, out-of-order), and the queue file is spent (reset to its header,
# nothing left in it, the sequence numbering kept).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init queue-restart
source "$(dirname "${BASH_SOURCE[0]}")/queue_helpers.sh"
ds_need_cmd ss python3
q_need

W=$DS_WORK
N=1000000
IN=$(ds_free_port)
OUT=$(ds_free_port)
STATE=$W/state
QF=$STATE/dnsstream.queue
mkdir -p "$STATE"
q_conf "$W/ds.conf" "$STATE" "$IN" "$OUT" "queue-size 256M" "queue-sync 1s"

# ---- first run: nobody listens on the forwarder's port ----------------------------------
q_start_ds ds1 "$W/ds.conf" "$IN" || ds_finish
"$PBGEN" 127.0.0.1 "$IN" "$N" --fixture "$FIXTURE" >"$W/pbgen.json" 2>"$W/pbgen.err"
ds_eq "pbgen wrote all $N frames" "$N" "$(q_json "$W/pbgen.json" sent)"
ds_check "the queue file holds all $N events while the destination is down" \
    ds_wait_for 60 q_info_at_least "$QF" records "$N"
ds_stop ds1 30
ds_eq "clean stop exits 0" 0 "$DS_EXIT_STATUS"
ds_check "the stop reports the kept events" \
    grep -q "$N undelivered event(s) kept for the next start" "$W/ds1.log"
"$DS_BIN" --queue-info "$QF" >"$W/info1.json" 2>&1
ds_eq "after the stop the file holds $N records" "$N" "$(q_json "$W/info1.json" records)"
ds_eq "next sequence number" "$((N + 1))" "$(q_json "$W/info1.json" nextSeq)"
ds_eq "no damage" 0 "$(q_json "$W/info1.json" setAsideBytes)"

# ---- second run: the destination is up ----------------------------------------------------
q_start_sink sink "$OUT" "$N" || ds_fail "pbsink listens on $OUT"
q_start_ds ds2 "$W/ds.conf" "$IN" || ds_finish
ds_check "the start reports the recovered events" \
    ds_wait_for 10 grep -q "$N buffered event(s) recovered" "$W/ds2.log"
ds_check "the sink got $N distinct events" ds_wait_for 90 test -s "$W/sink.report"
ds_stop ds2 30
ds_eq "clean stop exits 0" 0 "$DS_EXIT_STATUS"
ds_stop sink 10
R=$W/sink.report
ds_eq "distinct events delivered" "$N" "$(q_json "$R" distinct)"
ds_eq "events delivered (each once)" "$N" "$(q_json "$R" events)"
ds_eq "duplicates" 0 "$(q_json "$R" duplicates)"
ds_eq "gaps" 0 "$(q_json "$R" gaps)"
ds_eq "out of order" 0 "$(q_json "$R" out_of_order)"
ds_eq "first sequence number" 1 "$(q_json "$R" min_seq)"
ds_eq "last sequence number" "$N" "$(q_json "$R" max_seq)"
ds_eq "untagged events" 0 "$(q_json "$R" untagged)"

# ---- the file is spent ----------------------------------------------------------------------
ds_eq "the spent file is reset to its 24576-byte header" 24576 "$(stat -c %s "$QF")"
"$DS_BIN" --queue-info "$QF" >"$W/info2.json" 2>&1
ds_eq "the spent file holds no records" 0 "$(q_json "$W/info2.json" records)"
ds_eq "the numbering is kept" "$((N + 1))" "$(q_json "$W/info2.json" nextSeq)"

# ---- a third start neither replays nor loses anything ---------------------------------------
q_start_sink sink3 "$OUT" 5 || ds_fail "pbsink listens on $OUT"
q_start_ds ds3 "$W/ds.conf" "$IN" || ds_finish
"$PBGEN" 127.0.0.1 "$IN" 5 --start $((N + 1)) >"$W/pbgen3.json" 2>&1
ds_check "the third run delivers the 5 new events" ds_wait_for 30 test -s "$W/sink3.report"
ds_stop ds3 30
ds_stop sink3 10
ds_eq "third run: distinct" 5 "$(q_json "$W/sink3.report" distinct)"
ds_eq "third run: nothing from before was replayed" "$((N + 1))" \
    "$(q_json "$W/sink3.report" min_seq)"
ds_eq "third run: events" 5 "$(q_json "$W/sink3.report" events)"
ds_finish
