#!/usr/bin/env bash
# test_dnsdist.sh - dnsstream against real dnsdist 1.7 (Debian) over IPv4 and IPv6.
#
# Topology (all on loopback, ports picked at run time):
#   dig/dnsperf -> dnsdist front (packet cache) -> dnsdist backend (SpoofAction, NXDOMAIN
#   fallback); both log PowerDNS protobuf to dnsstream on 127.0.0.1, and a third dnsdist
#   on [::1] logs to dnsstream's second input on [::1].
# dnsstream writes JSON, BIND query-log and PowerDNS framed files.  Every query dig sent
# must appear with the fields dig saw (id, source port, qname, qtype, rcode, answers),
# cache hits must not reach the backend, and the event counts must equal what dnsdist's
# own loggers report ("N processed, 0 dropped").
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init dnsdist
ds_need_cmd dnsdist dig dnsperf ss python3 openssl
if [ ! -x "$DS_BIN" ]; then
    ds_fail "dnsstream binary exists at $DS_BIN"
    ds_finish
fi

W=$DS_WORK
KEY=$(openssl rand -base64 32)
QUEUE=100000 # x100 bytes: 10 MB, far more than the test sends

HAVE_V6=0
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    HAVE_V6=1
fi

IN4=$(ds_free_port)
FRONT=$(ds_free_port)
BACK=$(ds_free_port)
FRONT_CON=$(ds_free_port)
BACK_CON=$(ds_free_port)
if [ "$HAVE_V6" = 1 ]; then
    IN6=$(ds_free_port ::1)
    V6=$(ds_free_port ::1)
    V6_CON=$(ds_free_port)
fi

# ---- dnsstream ------------------------------------------------------------------------
mkdir -p "$W/state"
{
    echo "input pdns 127.0.0.1 $IN4"
    [ "$HAVE_V6" = 1 ] && echo "input pdns ::1 $IN6"
    echo "output file $W/events.jsonl format=json"
    echo "output file $W/events.bind format=bind"
    echo "output file $W/events.pdns format=pdns"
    echo "log-level info"
    echo "metrics-interval 0"
    echo "state-directory $W/state"
} >"$W/dnsstream.conf"
ds_start dnsstream "$DS_BIN" -c "$W/dnsstream.conf"
ds_check "dnsstream listens on 127.0.0.1:$IN4" ds_wait_port tcp "$IN4" 10
[ "$HAVE_V6" = 1 ] && ds_check "dnsstream listens on [::1]:$IN6" ds_wait_port tcp "$IN6" 10

# ---- dnsdist --------------------------------------------------------------------------
P=$DS_PEERS/dnsdist
ds_subst "$P/backend.conf.in" "$W/backend.conf" LISTEN="127.0.0.1:$BACK" \
    CONSOLE="127.0.0.1:$BACK_CON" KEY="$KEY" LOGGER="127.0.0.1:$IN4" QUEUE=$QUEUE
ds_subst "$P/front.conf.in" "$W/front.conf" LISTEN="127.0.0.1:$FRONT" \
    CONSOLE="127.0.0.1:$FRONT_CON" KEY="$KEY" BACKEND="127.0.0.1:$BACK" \
    LOGGER="127.0.0.1:$IN4" QUEUE=$QUEUE
ds_start backend dnsdist --supervised --disable-syslog -C "$W/backend.conf"
ds_start front dnsdist --supervised --disable-syslog -C "$W/front.conf"
if [ "$HAVE_V6" = 1 ]; then
    ds_subst "$P/v6.conf.in" "$W/v6.conf" LISTEN="[::1]:$V6" CONSOLE="127.0.0.1:$V6_CON" \
        KEY="$KEY" LOGGER="[::1]:$IN6" QUEUE=$QUEUE
    ds_start v6 dnsdist --supervised --disable-syslog -C "$W/v6.conf"
fi

# console NAME LUA: run a command on a dnsdist console, print its answer.
console() {
    local port
    case $1 in
    front) port=$FRONT_CON ;;
    backend) port=$BACK_CON ;;
    v6) port=$V6_CON ;;
    esac
    dnsdist -c "127.0.0.1:$port" -k "$KEY" -C "$W/$1.conf" -e "$2" 2>/dev/null
}
backend_up() { [ "$(console front 'tostring(getServer(0):isUp())')" = true ]; }
# logged NAME: "processed dropped" of the dnsdist's remote logger.
logged() {
    console "$1" 'rl:toString()' | sed -n 's/.*(\([0-9]*\) processed, \([0-9]*\) dropped).*/\1 \2/p'
}
established() { [ "$(ds_count_established "$1")" -ge "$2" ]; }

ds_check "front dnsdist answers on 127.0.0.1:$FRONT" ds_wait_port udp "$FRONT" 10
ds_check "backend dnsdist answers on 127.0.0.1:$BACK" ds_wait_port udp "$BACK" 10
ds_check "front sees the backend up" ds_wait_for 15 backend_up
ds_check "both dnsdist loggers connected to dnsstream" ds_wait_for 15 established "$IN4" 2
if [ "$HAVE_V6" = 1 ]; then
    ds_check "v6 dnsdist answers on [::1]:$V6" ds_wait_port udp "$V6" 10
    ds_check "v6 dnsdist logger connected to dnsstream on ::1" ds_wait_for 15 established "$IN6" 1
fi

# ---- single queries with dig: each from its own source port ---------------------------
# ask TAG PROTO SERVER PORT QNAME QTYPE BACKEND: BACKEND is what the backend should
# see: "miss" (forwarded), "hit" (front packet cache), "none" (answered by the front).
: >"$W/queries.tsv"
ask() {
    local tag=$1 proto=$2 server=$3 port=$4 qname=$5 qtype=$6 backend=$7 sport opt=""
    sport=$(ds_free_port "$server")
    [ "$proto" = TCP ] && opt=+tcp
    dig +qr -b "$server#$sport" @"$server" -p "$port" "$qname" "$qtype" $opt \
        +tries=1 +time=5 >"$W/dig-$tag.txt" 2>&1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tag" "$proto" "$server" "$port" "$sport" \
        "$qname." "$qtype" "$backend" >>"$W/queries.tsv"
}
ask q1 UDP 127.0.0.1 "$FRONT" www.example.com A miss
ask q2 UDP 127.0.0.1 "$FRONT" www.example.com A hit
ask q3 TCP 127.0.0.1 "$FRONT" www.example.org A miss
ask q4 TCP 127.0.0.1 "$FRONT" www.example.org A hit
ask q5 UDP 127.0.0.1 "$FRONT" www.example.com AAAA miss
ask q6 UDP 127.0.0.1 "$FRONT" alias.example.org A miss
ask q7 UDP 127.0.0.1 "$FRONT" nx.example.net A miss
ask q8 UDP 127.0.0.1 "$FRONT" refused.example A none
ask q9 TCP 127.0.0.1 "$FRONT" www.example.com MX miss
if [ "$HAVE_V6" = 1 ]; then
    ask v1 UDP ::1 "$V6" v6.example.com AAAA none
    ask v2 TCP ::1 "$V6" v6.example.com A none
    ask v3 UDP ::1 "$V6" nope.example A none
fi

read -r F_PROC F_DROP <<<"$(logged front)"
read -r B_PROC B_DROP <<<"$(logged backend)"
ds_eq "front logger: processed after 9 queries (query+response each)" 18 "${F_PROC:-?}"
ds_eq "backend logger: processed after 6 forwarded queries" 12 "${B_PROC:-?}"
if [ "$HAVE_V6" = 1 ]; then
    read -r V_PROC V_DROP <<<"$(logged v6)"
    ds_eq "v6 logger: processed after 3 queries" 6 "${V_PROC:-?}"
    ds_eq "v6 logger dropped nothing" 0 "${V_DROP:-?}"
fi

EV=$W/events.jsonl
ds_check "dnsstream wrote all $F_PROC front events while running" \
    ds_wait_for 20 ds_json_count_is "${F_PROC:-0}" "$EV" serverIdentity=dd-front
ds_check "dnsstream wrote all $B_PROC backend events while running" \
    ds_wait_for 20 ds_json_count_is "${B_PROC:-0}" "$EV" serverIdentity=dd-backend
if [ "$HAVE_V6" = 1 ]; then
    ds_check "dnsstream wrote all $V_PROC IPv6 events while running" \
        ds_wait_for 20 ds_json_count_is "${V_PROC:-0}" "$EV" serverIdentity=dd-v6
fi
# What the backend saw for the single queries (the burst asks some of the same names).
cp "$EV" "$W/events-dig.jsonl"

# ---- a burst with dnsperf -------------------------------------------------------------
{
    for i in $(seq 1 300); do echo "host$i.burst.example A"; done
    for i in $(seq 1 100); do
        echo "www.example.com A"
        echo "www.example.org A"
        echo "www.example.com AAAA"
    done
} >"$W/burst.txt"
dnsperf -s 127.0.0.1 -p "$FRONT" -d "$W/burst.txt" -n 2 -c 4 -Q 4000 -t 5 >"$W/dnsperf.txt" 2>&1
SENT=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$W/dnsperf.txt")
DONE=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$W/dnsperf.txt")
ds_eq "dnsperf sent the whole query file twice" 1200 "${SENT:-?}"
ds_log "dnsperf: $SENT sent, $DONE answered"

read -r F_PROC F_DROP <<<"$(logged front)"
read -r B_PROC B_DROP <<<"$(logged backend)"
ds_eq "front logger dropped nothing" 0 "${F_DROP:-?}"
ds_eq "backend logger dropped nothing" 0 "${B_DROP:-?}"
ds_eq "front logger processed every burst query and answer" $((18 + SENT + DONE)) "${F_PROC:-?}"
ds_check "dnsstream wrote all $F_PROC front events while running" \
    ds_wait_for 30 ds_json_count_is "${F_PROC:-0}" "$EV" serverIdentity=dd-front
ds_check "dnsstream wrote all $B_PROC backend events while running" \
    ds_wait_for 30 ds_json_count_is "${B_PROC:-0}" "$EV" serverIdentity=dd-backend

# ---- stop: dnsdist first (nothing more to log), then dnsstream ------------------------
ds_stop front
ds_stop backend
[ "$HAVE_V6" = 1 ] && ds_stop v6
ds_stop dnsstream 20
ds_eq "dnsstream exits 0 on SIGTERM" 0 "$DS_EXIT_STATUS"

# ---- field-by-field checks ------------------------------------------------------------
ds_pycheck "$(
    cat <<'PYEOF'
import collections
work, front_port, back_port, f_proc, b_proc, v_proc, sent, done = sys.argv[1:9]
events = load_events(work + '/events.jsonl')
by_sid = collections.Counter(e.get('serverIdentity') for e in events)
check('exactly %s front events after stop' % f_proc, by_sid['dd-front'] == int(f_proc), by_sid)
check('exactly %s backend events after stop' % b_proc, by_sid['dd-backend'] == int(b_proc), by_sid)
if v_proc != '-':
    check('exactly %s IPv6 events after stop' % v_proc, by_sid['dd-v6'] == int(v_proc), by_sid)
check('no other events', sum(by_sid.values()) == len(events) and
      set(by_sid) <= {'dd-front', 'dd-backend', 'dd-v6'}, by_sid)
seqs = [e.get('seq') for e in events]
check('seq is 1..N in file order', seqs == list(range(1, len(events) + 1)), seqs[:10])
missing = [k for k in ('seq', 'instance', 'captured', 'type', 'messageId', 'serverIdentity',
                       'socketFamily', 'socketProtocol', 'from', 'to', 'fromPort', 'toPort',
                       'inBytes', 'time', 'id', 'question')
           if any(k not in e for e in events)]
check('every event has the documented keys', not missing, missing)
types = collections.Counter(e.get('type') for e in events)
check('only query and response types', set(types) <= {'DNSQueryType', 'DNSResponseType'}, types)
hexid = lambda s: isinstance(s, str) and len(s) == 32 and all(c in '0123456789abcdef' for c in s.lower())
check('every messageId is 16 bytes of hex', all(hexid(e.get('messageId')) for e in events))

# The burst: every front query has exactly one response with the same messageId.
front = [e for e in events if e.get('serverIdentity') == 'dd-front']
ftypes = collections.Counter(e.get('type') for e in front)
check('front: 9 + %s queries (every dig and dnsperf query)' % sent,
      ftypes['DNSQueryType'] == 9 + int(sent), ftypes)
check('front: 9 + %s responses (every answer dig and dnsperf got)' % done,
      ftypes['DNSResponseType'] == 9 + int(done), ftypes)
pairs = collections.defaultdict(list)
for e in front:
    pairs[e.get('messageId')].append(e.get('type'))
odd = {k: v for k, v in pairs.items() if sorted(v) != ['DNSQueryType', 'DNSResponseType']}
check('front: each messageId has one query and at most one response',
      all(sorted(v) in (['DNSQueryType'], ['DNSQueryType', 'DNSResponseType'])
          for v in pairs.values()), list(odd.items())[:3])
check('front: a query without response only for a query dnsperf lost (%d)' % (int(sent) - int(done)),
      len(odd) == int(sent) - int(done), len(odd))
back = [e for e in events if e.get('serverIdentity') == 'dd-backend']
bq = collections.Counter(e.get('type') for e in back)
check('backend: as many responses as queries', bq['DNSQueryType'] == bq['DNSResponseType'], bq)

back_before = [e for e in load_events(work + '/events-dig.jsonl')
               if e.get('serverIdentity') == 'dd-backend']
for line in open(work + '/queries.tsv'):
    tag, proto, server, port, sport, qname, qtype, backend = line.rstrip('\n').split('\t')
    dig = parse_dig(work + '/dig-%s.txt' % tag)
    if not check('%s: dig got an answer for %s %s over %s' % (tag, qname, qtype, proto),
                 dig['status'] is not None and dig['id'] == dig['qid'], dig):
        continue
    sid = 'dd-v6' if server == '::1' else 'dd-front'
    mine = [e for e in events if e.get('serverIdentity') == sid and
            e.get('fromPort') == int(sport) and e.get('id') == dig['id']]
    q = [e for e in mine if e.get('type') == 'DNSQueryType']
    r = [e for e in mine if e.get('type') == 'DNSResponseType']
    check('%s: exactly one query and one response event' % tag, len(q) == 1 and len(r) == 1,
          [e.get('type') for e in mine])
    if len(q) != 1 or len(r) != 1:
        continue
    q, r = q[0], r[0]
    common = {'socketFamily': 'INET6' if server == '::1' else 'INET', 'socketProtocol': proto,
              'from': server, 'to': server, 'fromPort': int(sport), 'toPort': int(port),
              'id': dig['id'], 'question.qName': qname, 'question.qType': qtype,
              'question.qClass': 'IN'}
    expect_fields('%s: query event fields' % tag, q, dict(common, inBytes=dig['qsize']))
    expect_fields('%s: response event fields' % tag, r,
                  dict(common, inBytes=dig['rsize'], messageId=q.get('messageId'),
                       **{'response.rcode': dig['status']}))
    want, got = dig_rrs(dig), json_rrs(r)
    check('%s: response rrs are what dig received %s' % (tag, want), got == want, got)
    if sid == 'dd-front':
        b = [e for e in back_before if get(e, 'question.qName') == qname and
             get(e, 'question.qType') == qtype and e.get('socketProtocol') == proto]
        if backend == 'miss':
            bq = [e for e in b if e.get('type') == 'DNSQueryType']
            br = [e for e in b if e.get('type') == 'DNSResponseType']
            ok = len(bq) == 1 and len(br) == 1
            check('%s: the backend logged the forwarded query once' % tag, ok,
                  [e.get('type') for e in b])
            if ok:
                expect_fields('%s: backend response fields' % tag, br[0],
                              {'toPort': int(back_port), 'to': '127.0.0.1', 'from': '127.0.0.1',
                               'messageId': bq[0].get('messageId'),
                               'response.rcode': dig['status'], 'inBytes': dig['rsize']})
        elif backend == 'none':
            check('%s: the backend saw nothing' % tag, not b, len(b))
PYEOF
)" "$W" "$FRONT" "$BACK" "$F_PROC" "$B_PROC" "$([ "$HAVE_V6" = 1 ] && echo "$V_PROC" || echo -)" "${SENT:-0}" "${DONE:-0}"

# ---- the BIND and PowerDNS outputs hold the same events -------------------------------
ds_pycheck "$(
    cat <<'PYEOF'
import re
work = sys.argv[1]
events = load_events(work + '/events.jsonl')
frames = lp16_frames(open(work + '/events.pdns', 'rb').read())
check('pdns output: one frame per event (%d)' % len(events), len(frames) == len(events), len(frames))
ids = []
for fr in frames:
    f = dict(pb_fields(fr))
    ids.append((f.get(1), f.get(2, b'').hex()))
tmap = {'DNSQueryType': 1, 'DNSResponseType': 2}
want = [(tmap.get(e.get('type')), str(e.get('messageId')).lower()) for e in events]
check('pdns output: same types and messageIds in the same order', ids == want,
      next(((i, a, b) for i, (a, b) in enumerate(zip(ids, want)) if a != b), None))
lines = [l.rstrip('\n') for l in open(work + '/events.bind')]
queries = [e for e in events if e.get('type') == 'DNSQueryType']
check('bind output: one line per query event (%d)' % len(queries), len(lines) == len(queries),
      len(lines))
for line in open(work + '/queries.tsv'):
    tag, proto, server, port, sport, qname, qtype, backend = line.rstrip('\n').split('\t')
    n = qname.rstrip('.')
    pat = re.compile(r'client @0x[0-9a-f]+ %s#%s \(%s\): query: %s IN %s [-+]\S* \(%s\)' % (
        re.escape(server), sport, re.escape(n), re.escape(n), qtype, re.escape(server)))
    hits = [l for l in lines if pat.search(l)]
    check('%s: one BIND query-log line for %s %s from port %s' % (tag, n, qtype, sport),
          len(hits) == 1, hits or [l for l in lines if n in l][:2])
    if hits and proto == 'TCP':
        check('%s: the BIND flags show TCP' % tag, re.search(r' [-+]\S*T\S* \(', hits[0]), hits[0])
PYEOF
)" "$W"

ds_finish
