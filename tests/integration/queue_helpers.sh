# tests/integration/queue_helpers.sh - helpers shared by the test_queue_*.sh scripts.
#
# What it is for: the queue tests run dnsstream with queue-recovery on between pbgen
# (tagged PowerDNS protobuf sender) and pbsink (counting sink), stop or kill it, and
# compare what the queue file holds (dnsstream --queue-info) with what the sink got.
# Who owns what: everything lives in the calling script's $DS_WORK (lib.sh).
# Which shell may call it: bash, after lib.sh's ds_init; call q_start_* from the
# script's own shell so the daemons stay its children.

PBGEN="$DS_BUILD_DIR/pbgen"
PBSINK="$DS_BUILD_DIR/pbsink"
FIXTURE="$DS_SHARED_DIR/fixtures/dnsdist-1.7.3.lp16"

# q_need: the binaries and the fixture exist (fails the script otherwise).
q_need() {
    local f
    for f in "$DS_BIN" "$PBGEN" "$PBSINK"; do
        if [ ! -x "$f" ]; then
            ds_fail "binary exists: $f"
            ds_finish
        fi
    done
    if [ ! -f "$FIXTURE" ]; then
        ds_fail "fixture exists: $FIXTURE"
        ds_finish
    fi
}

# q_json FILE|- KEY: the value of a top-level key of a one-line JSON object ("" if none).
q_json() {
    python3 -c '
import json, sys
src = sys.stdin if sys.argv[1] == "-" else open(sys.argv[1])
try:
    v = json.loads(src.read().strip().splitlines()[-1]).get(sys.argv[2], "")
except Exception:
    v = ""
print(v)' "$1" "$2" 2>/dev/null
}

# q_info QUEUEFILE KEY: one field of dnsstream --queue-info.
q_info() {
    "$DS_BIN" --queue-info "$1" 2>/dev/null | q_json - "$2"
}

# q_info_at_least QUEUEFILE KEY N: for ds_wait_for.
q_info_at_least() {
    local v
    v=$(q_info "$1" "$2")
    [ -n "$v" ] && [ "$v" -ge "$3" ]
}

# q_json_at_least FILE KEY N: for ds_wait_for on a pbsink report or progress file.
q_json_at_least() {
    local v
    [ -s "$1" ] || return 1
    v=$(q_json "$1" "$2")
    [ -n "$v" ] && [ "$v" -ge "$3" ]
}

# q_conf FILE STATEDIR INPORT SINKPORT [EXTRA LINE]...: a configuration with one pdns
# input, one pdns forwarder and the queue in a file (metrics-interval 0 unless an extra
# line sets it).
q_conf() {
    local file=$1 state=$2 in=$3 out=$4
    shift 4
    {
        echo "state-directory $state"
        echo "input pdns 127.0.0.1 $in"
        echo "forwarder ipv4 127.0.0.1 $out format=pdns"
        echo "forwarder-backoff 50ms 200ms"
        echo "queue-recovery on"
        echo "log-level info"
        local l
        case " $* " in
        *" metrics-interval "*) ;;
        *) echo "metrics-interval 0" ;;
        esac
        for l in "$@"; do echo "$l"; done
    } >"$file"
}

# q_start_ds NAME CONF INPORT: start dnsstream and wait until its input listens.
q_start_ds() {
    ds_start "$1" "$DS_BIN" -c "$2"
    if ! ds_wait_port tcp "$3" 20; then
        ds_fail "$1 listens on $3"
        return 1
    fi
}

# q_start_sink NAME PORT EXPECT: pbsink with --stay; report in $DS_WORK/NAME.report,
# progress in $DS_WORK/NAME.progress.
q_start_sink() {
    rm -f "$DS_WORK/$1.report" "$DS_WORK/$1.progress"
    ds_start "$1" "$PBSINK" "$2" --framing 16bit --expect "$3" --stay \
        --report "$DS_WORK/$1.report" --progress "$DS_WORK/$1.progress"
    ds_wait_port tcp "$2" 10
}
