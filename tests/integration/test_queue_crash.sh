#!/usr/bin/env bash
# test_queue_crash.sh - queue-recovery on across kill -9 at random points of a steady
# stream.
#
# Each round: pbgen sends tagged events at a steady rate; once a random number of them
# is in the queue file (or, with the destination up, delivered), dnsstream is killed
# with SIGKILL.  What the service had accepted is read back from the killed instance's
# queue file (dnsstream --queue-info: nextSeq - 1; no metrics events, so ring seq ==
# pbgen seq).  After a restart with the destination up, every accepted event must
# arrive: distinct == accepted, lowest 1, highest == accepted (nothing invented), no
# gaps.  Rounds alternate between the destination down during the first run (then also
# no duplicates) and up (deliveries in flight at the kill may come twice, never less).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init queue-crash
source "$(dirname "${BASH_SOURCE[0]}")/queue_helpers.sh"
ds_need_cmd ss python3
q_need

W=$DS_WORK
ROUNDS=${DS_QUEUE_CRASH_ROUNDS:-6}
RATE=60000
IN=$(ds_free_port)
OUT=$(ds_free_port)
ds_log "seed $RANDOM (bash \$RANDOM); rounds $ROUNDS"

for ((round = 1; round <= ROUNDS; round++)); do
    up=$((round % 2 == 0)) # even rounds: destination up during the first run
    T=$((20000 + RANDOM * 4))  # 20,000 .. ~151,000 events (< 25 MB) before the kill
    STATE=$W/state$round
    QF=$STATE/dnsstream.queue
    mkdir -p "$STATE"
    q_conf "$W/ds$round.conf" "$STATE" "$IN" "$OUT" "queue-size 128M" "queue-sync 200ms"
    tag="round $round ($([ $up = 1 ] && echo 'destination up' || echo 'destination down'), kill after $T)"
    ds_log "$tag"

    if [ "$up" = 1 ]; then
        q_start_sink sink$round "$OUT" 0 || ds_fail "$tag: pbsink listens"
    fi
    q_start_ds ds$round "$W/ds$round.conf" "$IN" || ds_finish
    ds_start gen$round "$PBGEN" 127.0.0.1 "$IN" 3000000 --rate "$RATE" --fixture "$FIXTURE" \
        --report "$W/gen$round.json"
    if [ "$up" = 1 ]; then
        ds_check "$tag: $T events delivered before the kill" \
            ds_wait_for 60 q_json_at_least "$W/sink$round.progress" distinct "$T"
    else
        ds_check "$tag: $T events queued before the kill" \
            ds_wait_for 60 q_info_at_least "$QF" records "$T"
    fi
    kill -KILL "$(ds_pid ds$round)"
    ds_stop ds$round 10
    ds_eq "$tag: dnsstream died of SIGKILL" 137 "$DS_EXIT_STATUS"
    ds_stop gen$round 10
    sent=$(q_json "$W/gen$round.json" sent)

    "$DS_BIN" --queue-info "$QF" >"$W/info$round.json" 2>&1
    next=$(q_json "$W/info$round.json" nextSeq)
    acc=$((next - 1))
    ds_log "$tag: pbgen wrote $sent, the queue file says $acc accepted," \
        "$(q_json "$W/info$round.json" records) still queued"
    ds_check "$tag: accepted ($acc) >= $T" test "$acc" -ge "$T"
    ds_check "$tag: accepted ($acc) <= written by pbgen ($sent)" test "$acc" -le "$sent"
    # 128 MB hold ~800,000 events: nothing may have been given up for lack of room.
    ds_check "$tag: nothing overflowed (accepted < 700000)" test "$acc" -lt 700000
    ds_eq "$tag: the killed instance's file is not damaged" 0 \
        "$(q_json "$W/info$round.json" setAsideBytes)"
    if [ "$up" = 0 ]; then
        ds_eq "$tag: every accepted event is still queued" "$acc" \
            "$(q_json "$W/info$round.json" records)"
        q_start_sink sink$round "$OUT" "$acc" || ds_fail "$tag: pbsink listens"
    fi

    q_start_ds ds${round}b "$W/ds$round.conf" "$IN" || ds_finish
    ds_check "$tag: all $acc accepted events arrive after the restart" \
        ds_wait_for 90 q_json_at_least "$W/sink$round.progress" distinct "$acc"
    ds_stop ds${round}b 30
    ds_eq "$tag: clean stop after the restart" 0 "$DS_EXIT_STATUS"
    ds_stop sink$round 10
    R=$W/sink$round.report
    ds_eq "$tag: distinct delivered == accepted" "$acc" "$(q_json "$R" distinct)"
    ds_eq "$tag: lowest seq" 1 "$(q_json "$R" min_seq)"
    ds_eq "$tag: highest seq == accepted (nothing invented)" "$acc" "$(q_json "$R" max_seq)"
    ds_eq "$tag: gaps" 0 "$(q_json "$R" gaps)"
    ds_eq "$tag: untagged" 0 "$(q_json "$R" untagged)"
    if [ "$up" = 0 ]; then
        ds_eq "$tag: duplicates" 0 "$(q_json "$R" duplicates)"
        ds_eq "$tag: out of order" 0 "$(q_json "$R" out_of_order)"
    else
        ds_log "$tag: $(q_json "$R" duplicates) duplicate(s) after the kill (allowed)"
    fi
    ds_eq "$tag: the file is spent after the final stop" 24576 "$(stat -c %s "$QF")"
    rm -rf "$STATE"
done
ds_finish
