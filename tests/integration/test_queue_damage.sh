#!/usr/bin/env bash
# test_queue_damage.sh - damaged queue files never stop dnsstream from starting.
#
# A queue file holding 200,000 tagged events (destination down, clean stop) is copied
# and damaged: cut at pseudo-random offsets (in the data, in the header), bytes
# flipped at pseudo-random places, a block overwritten with garbage, and a file that
# is garbage from the start.  For each copy: dnsstream --queue-info predicts what
# can be salvaged; dnsstream starts with the copy, salvages, reports the damage
# (bytes and the side file in the log, setAsideBytes in the metrics event), keeps the
# damaged bytes in QUEUE.damaged-<time>, and forwards exactly the salvaged events
# (no duplicates, in order, nothing corrupt: every event carries a valid tag); then
# new events still flow.  Offsets come from $RANDOM; the seed is logged.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init queue-damage
source "$(dirname "${BASH_SOURCE[0]}")/queue_helpers.sh"
ds_need_cmd ss python3 cmp
q_need

W=$DS_WORK
N=200000
SEED=${DS_QUEUE_DAMAGE_SEED:-$RANDOM}
RANDOM=$SEED
ds_log "seed $SEED (DS_QUEUE_DAMAGE_SEED to repeat)"
IN=$(ds_free_port)
OUT=$(ds_free_port)
HDR=24576

# ---- a pristine file: N events, destination down, clean stop -----------------------------
mkdir -p "$W/pristine"
q_conf "$W/pristine.conf" "$W/pristine" "$IN" "$OUT" "queue-size 64M"
q_start_ds build "$W/pristine.conf" "$IN" || ds_finish
"$PBGEN" 127.0.0.1 "$IN" "$N" --fixture "$FIXTURE" >"$W/pbgen.json" 2>&1
ds_check "the pristine file fills" ds_wait_for 60 q_info_at_least "$W/pristine/dnsstream.queue" \
    records "$N"
ds_stop build 30
PRISTINE=$W/pristine.queue
cp "$W/pristine/dnsstream.queue" "$PRISTINE"
BYTES=$(q_info "$PRISTINE" bytes)
ds_eq "pristine file: records" "$N" "$(q_info "$PRISTINE" records)"
ds_log "pristine file: $N events in $BYTES bytes after the $HDR-byte header"

# damage MODE FILE ARGS...: truncate OFF | flip K | block OFF LEN | garbage LEN
damage() {
    python3 - "$@" <<'EOF'
import os, random, sys
mode, path = sys.argv[1], sys.argv[2]
args = [int(a) for a in sys.argv[3:]]
if mode == 'truncate':
    os.truncate(path, args[0])
elif mode == 'flip':
    k, lo, hi, seed = args
    rnd = random.Random(seed)
    with open(path, 'r+b') as f:
        for _ in range(k):
            off = rnd.randrange(lo, hi)
            f.seek(off)
            b = f.read(1)[0]
            f.seek(off)
            f.write(bytes([b ^ rnd.randrange(1, 256)]))
elif mode == 'block':
    off, n, seed = args
    with open(path, 'r+b') as f:
        f.seek(off)
        f.write(random.Random(seed).randbytes(n))
elif mode == 'garbage':
    n, seed = args
    with open(path, 'wb') as f:
        f.write(random.Random(seed).randbytes(n))
EOF
}

# trial NAME DAMAGE-ARGS...: damage a copy, predict, run, check.  Sets R (salvaged).
trial() {
    local name=$1
    shift
    local st=$W/$name qf=$W/$name/dnsstream.queue
    mkdir -p "$st"
    cp "$PRISTINE" "$qf"
    damage "$1" "$qf" "${@:2}"
    cp "$qf" "$W/$name.damaged-copy"
    "$DS_BIN" --queue-info "$qf" >"$W/$name.info" 2>&1
    ds_eq "$name: --queue-info runs on the damaged file" 0 "$?"
    R=$(q_json "$W/$name.info" records)
    SA=$(q_json "$W/$name.info" setAsideBytes)
    ds_log "$name: --queue-info predicts $R salvaged events, $SA damaged bytes"
    q_conf "$W/$name.conf" "$st" "$IN" "$OUT" "queue-size 64M" "metrics-interval 1s"
    q_start_sink sink_$name "$OUT" "$R" || ds_fail "$name: pbsink listens"
    q_start_ds ds_$name "$W/$name.conf" "$IN" || {
        ds_fail "$name: dnsstream starts with the damaged file"
        return
    }
    ds_pass "$name: dnsstream starts with the damaged file"
    if [ "$R" -gt 0 ]; then
        ds_check "$name: the $R salvaged events arrive" ds_wait_for 60 test -s "$W/sink_$name.report"
        cp "$W/sink_$name.report" "$W/$name.salvaged.json"
    fi
    # New events still flow after the salvage.
    "$PBGEN" 127.0.0.1 "$IN" 10 --start $((N + 1)) >"$W/$name.pbgen" 2>&1
    ds_check "$name: 10 new events arrive after the salvage" \
        ds_wait_for 30 q_json_at_least "$W/sink_$name.progress" distinct $((R + 10))
    ds_check "$name: a metrics event was logged" \
        ds_wait_for 10 grep -q '"setAsideBytes"' "$W/ds_$name.log"
    ds_stop ds_$name 30
    ds_eq "$name: clean stop" 0 "$DS_EXIT_STATUS"
    ds_stop sink_$name 10
    local rep=$W/sink_$name.report
    ds_eq "$name: distinct events == predicted + 10" $((R + 10)) "$(q_json "$rep" distinct)"
    ds_eq "$name: duplicates" 0 "$(q_json "$rep" duplicates)"
    ds_eq "$name: out of order" 0 "$(q_json "$rep" out_of_order)"
    ds_eq "$name: every event carries a valid tag (nothing corrupt forwarded)" 0 \
        "$(q_json "$rep" untagged)"
    if [ "$R" -gt 0 ]; then
        local s=$W/$name.salvaged.json
        ds_eq "$name: salvaged events delivered" "$R" "$(q_json "$s" distinct)"
        ds_check "$name: salvaged events come from the original $N" \
            test "$(q_json "$s" max_seq)" -le "$N"
    fi
    local logged
    logged=$(grep -o '"setAsideBytes":[0-9]*' "$W/ds_$name.log" | head -1 | cut -d: -f2)
    ds_eq "$name: metrics event setAsideBytes == predicted" "$SA" "$logged"
    if [ "$SA" -gt 0 ]; then
        ds_check "$name: the log reports the damaged bytes" \
            grep -q "$SA damaged byte(s) in .* set aside" "$W/ds_$name.log"
    fi
}

# ---- cut inside the data ----------------------------------------------------------------------
for i in 1 2; do
    cut=$((HDR + (RANDOM * 32768 + RANDOM) % BYTES))
    trial "cut$i" truncate "$cut"
    s=$W/cut$i.salvaged.json
    ds_check "cut$i at $cut: fewer than $N salvaged ($R)" test "$R" -lt "$N"
    if [ "$R" -gt 0 ]; then
        ds_eq "cut$i: the salvaged events are the first ones" 1 "$(q_json "$s" min_seq)"
        ds_eq "cut$i: ... up to the cut, without a hole" "$R" "$(q_json "$s" max_seq)"
    fi
    ds_check "cut$i: the log names the truncation" grep -q "was truncated to $cut bytes" \
        "$W/ds_cut$i.log"
done

# ---- cut inside the header: nothing to salvage, the service still starts ---------------------
cut=$((RANDOM % HDR))
trial cuthdr truncate "$cut"
ds_eq "cut at $cut (header): nothing salvaged" 0 "$R"

# ---- flipped bytes in the data -----------------------------------------------------------------
for i in 1 2 3; do
    k=$((1 + RANDOM % 25))
    trial "flip$i" flip "$k" "$HDR" $((HDR + BYTES)) "$RANDOM"
    ds_check "flip$i: $k flipped bytes cost at most $k events ($R salvaged)" \
        test "$R" -ge $((N - k))
    ds_check "flip$i: the damaged bytes are kept next to the queue file" \
        bash -c "ls '$W/flip$i'/dnsstream.queue.damaged-* >/dev/null 2>&1 || [ '$R' = '$N' ]"
done

# ---- a block of garbage in the middle ------------------------------------------------------------
off=$((HDR + BYTES / 3))
trial block block "$off" 1000000 "$RANDOM"
ds_check "block: events before and after the garbage survive ($R)" \
    test "$R" -gt $((N / 2)) -a "$R" -lt "$N"
ds_eq "block: the first event survives" 1 "$(q_json "$W/block.salvaged.json" min_seq)"
ds_eq "block: the last event survives" "$N" "$(q_json "$W/block.salvaged.json" max_seq)"
sidefile=$(ls "$W"/block/dnsstream.queue.damaged-* 2>/dev/null | head -1)
ds_check "block: side file exists" test -s "$sidefile"
ds_check "block: the log names the side file" grep -q "copied to $sidefile" "$W/ds_block.log"

# ---- not a queue file at all -----------------------------------------------------------------------
trial garbage garbage 1000000 "$RANDOM"
ds_eq "garbage: nothing salvaged" 0 "$R"
sidefile=$(ls "$W"/garbage/dnsstream.queue.damaged-* 2>/dev/null | head -1)
ds_check "garbage: the whole file is kept as it was" cmp -s "$sidefile" "$W/garbage.damaged-copy"
ds_finish
