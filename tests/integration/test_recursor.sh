#!/usr/bin/env bash
# test_recursor.sh - dnsstream against a real pdns-recursor 4.8 (Debian).
#
# Topology (all on loopback, ports picked at run time):
#   dig/dnsperf -> pdns_recursor (threads=2) -> self-answering dnsdist ("auth")
#   pdns_recursor protobufServer + outgoingProtobufServer -> dnsstream (JSON file)
# The recursor opens one connection per thread per logger, so dnsstream serves several
# at once, and frames of one query arrive over different connections.  A cache miss
# must give exactly 4 events (outgoing query and response, client query and response,
# the outgoing ones linked by initialRequestId), a hit exactly 2, and the totals must
# equal what the recursor reports as queued (rec_control get-remotelogger-stats).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init recursor
ds_need_cmd pdns_recursor rec_control dnsdist dig dnsperf ss python3
if [ ! -x "$DS_BIN" ]; then
    ds_fail "dnsstream binary exists at $DS_BIN"
    ds_finish
fi

W=$DS_WORK
IN=$(ds_free_port)
REC=$(ds_free_port)
AUTH=$(ds_free_port)

# ---- dnsstream ------------------------------------------------------------------------
mkdir -p "$W/state"
cat >"$W/dnsstream.conf" <<EOF
input pdns 127.0.0.1 $IN
output file $W/events.jsonl format=json
log-level info
metrics-interval 0
state-directory $W/state
EOF
ds_start dnsstream "$DS_BIN" -c "$W/dnsstream.conf"
ds_check "dnsstream listens on 127.0.0.1:$IN" ds_wait_port tcp "$IN" 10

# ---- the authoritative stand-in and the recursor ---------------------------------------
P=$DS_PEERS/recursor
mkdir -p "$W/recursor/run"
ds_subst "$P/auth.conf.in" "$W/auth.conf" LISTEN="127.0.0.1:$AUTH"
ds_subst "$P/recursor.conf.in" "$W/recursor/recursor.conf" LISTEN_ADDR=127.0.0.1 \
    LISTEN_PORT="$REC" RUNDIR="$W/recursor/run" AUTH="127.0.0.1:$AUTH" THREADS=2 \
    LUA="$W/recursor/recursor.lua"
ds_subst "$P/recursor.lua.in" "$W/recursor/recursor.lua" LOGGER="127.0.0.1:$IN" QUEUE=100000
ds_start auth dnsdist --supervised --disable-syslog -C "$W/auth.conf"
ds_check "auth dnsdist answers on 127.0.0.1:$AUTH" ds_wait_port udp "$AUTH" 10
ds_start recursor pdns_recursor --config-dir="$W/recursor"
ds_check "recursor answers on 127.0.0.1:$REC" ds_wait_port udp "$REC" 10
established() { [ "$(ds_count_established "$IN")" -ge "$1" ]; }
# 2 loggers x (2 workers + the distributor) connections; at least 2 per logger.
ds_check "recursor opened at least 4 logger connections to dnsstream" \
    ds_wait_for 15 established 4
ds_log "logger connections: $(ds_count_established "$IN")"

# queued TYPE: how many messages the recursor queued for its protobuf (client) or
# outgoingProtobuf logger; "queued pipe-full too-large other-error" summed over servers.
queued() {
    rec_control --socket-dir="$W/recursor/run" get-remotelogger-stats 2>/dev/null |
        awk -v t="$1" '$NF == t { q += $1; d += $2 + $3 + $4 } END { print q + 0, d + 0 }'
}

# ---- single queries with dig ----------------------------------------------------------
# ask TAG PROTO QNAME QTYPE EXPECT: EXPECT is "miss" (the recursor asks the auth) or "hit".
: >"$W/queries.tsv"
ask() {
    local tag=$1 proto=$2 qname=$3 qtype=$4 expect=$5 sport opt=""
    sport=$(ds_free_port)
    [ "$proto" = TCP ] && opt=+tcp
    dig +qr -b "127.0.0.1#$sport" @127.0.0.1 -p "$REC" "$qname" "$qtype" $opt \
        +tries=1 +time=5 >"$W/dig-$tag.txt" 2>&1
    printf '%s\t%s\t%s\t%s\t%s.\t%s\t%s\n' "$tag" "$proto" "$REC" "$sport" "$qname" "$qtype" \
        "$expect" >>"$W/queries.tsv"
}
ask r1 UDP www.example.com A miss
ask r2 UDP www.example.com A hit
ask r3 TCP www.example.org A miss
ask r4 TCP www.example.org A hit
ask r5 UDP www.example.com AAAA miss
ask r6 UDP nx.example.net A miss
ask r7 UDP alias.example.org A miss
ask r8 UDP alias.example.org A hit

read -r C_Q C_D <<<"$(queued protobuf)"
ds_eq "client logger queued 2 per query" 16 "$C_Q"
ds_eq "client logger lost nothing" 0 "$C_D"
read -r O_Q O_D <<<"$(queued outgoingProtobuf)"
ds_eq "outgoing logger lost nothing" 0 "$O_D"
EV=$W/events.jsonl
total_is() { [ "$(ds_json_count "$EV")" -eq "$1" ]; }
ds_check "dnsstream wrote all $((C_Q + O_Q)) events while running" \
    ds_wait_for 20 total_is $((C_Q + O_Q))
cp "$EV" "$W/events-dig.jsonl"

# ---- a burst with dnsperf over both threads -------------------------------------------
{
    for i in $(seq 1 200); do echo "host$i.burst.example A"; done
    for i in $(seq 1 100); do
        echo "www.example.com A"
        echo "www.example.org A"
    done
} >"$W/burst.txt"
dnsperf -s 127.0.0.1 -p "$REC" -d "$W/burst.txt" -n 2 -c 4 -Q 3000 -t 5 >"$W/dnsperf.txt" 2>&1
SENT=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$W/dnsperf.txt")
DONE=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$W/dnsperf.txt")
ds_eq "dnsperf sent the query file twice" 800 "${SENT:-?}"
ds_log "dnsperf: $SENT sent, $DONE answered"
read -r C_Q C_D <<<"$(queued protobuf)"
read -r O_Q O_D <<<"$(queued outgoingProtobuf)"
ds_eq "client logger queued every burst query and answer" $((16 + SENT + DONE)) "$C_Q"
ds_eq "loggers lost nothing in the burst" "0 0" "$C_D $O_D"
ds_check "dnsstream wrote all $((C_Q + O_Q)) events while running" \
    ds_wait_for 30 total_is $((C_Q + O_Q))
ds_log "logger connections: $(ds_count_established "$IN")"
ds_check "still at least 4 logger connections after the burst" established 4

ds_stop recursor
ds_stop auth
ds_stop dnsstream 20
ds_eq "dnsstream exits 0 on SIGTERM" 0 "$DS_EXIT_STATUS"

# ---- field-by-field checks ------------------------------------------------------------
ds_pycheck "$(
    cat <<'PYEOF'
import collections
work, auth_port, c_q, o_q = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sent, done = int(sys.argv[5]), int(sys.argv[6])
events = load_events(work + '/events.jsonl')
types = collections.Counter(e.get('type') for e in events)
check('exactly %d events after stop (%d client + %d outgoing)' % (c_q + o_q, c_q, o_q),
      len(events) == c_q + o_q, len(events))
check('client events: %d' % c_q, types['DNSQueryType'] + types['DNSResponseType'] == c_q, types)
check('client queries: 8 dig + %d dnsperf' % sent, types['DNSQueryType'] == 8 + sent, types)
check('client responses: 8 dig + %d answered dnsperf' % done,
      types['DNSResponseType'] == 8 + done, types)
check('outgoing events: %d' % o_q,
      types['DNSOutgoingQueryType'] + types['DNSIncomingResponseType'] == o_q, types)
seqs = [e.get('seq') for e in events]
check('seq is 1..N in file order', seqs == list(range(1, len(events) + 1)), seqs[:10])
check('every event has serverIdentity rec-test',
      all(e.get('serverIdentity') == 'rec-test' for e in events))

client = {}
for e in events:
    if e.get('type') in ('DNSQueryType', 'DNSResponseType'):
        client.setdefault(e.get('messageId'), []).append(e)
odd = {k: [e.get('type') for e in v] for k, v in client.items()
       if sorted(e.get('type') for e in v) != ['DNSQueryType', 'DNSResponseType']}
check('each client messageId has one query and at most one response',
      all(v == ['DNSQueryType'] for v in odd.values()), list(odd.items())[:3])
check('a query without response only for a query dnsperf lost (%d)' % (sent - done),
      len(odd) == sent - done, len(odd))
outgoing = [e for e in events if e.get('type') in ('DNSOutgoingQueryType', 'DNSIncomingResponseType')]
unlinked = [e for e in outgoing if e.get('initialRequestId') not in client]
# The recursor refreshes ". NS" on its own; those outgoing queries have no client query.
refresh = [e for e in unlinked if get(e, 'question.qName') == '.' and get(e, 'question.qType') == 'NS']
check('every outgoing event links to a client query by initialRequestId '
      '(%d own ". NS" refreshes)' % len(refresh), len(unlinked) == len(refresh),
      [(get(e, 'question.qName'), e.get('initialRequestId')) for e in unlinked[:3]])
opairs = collections.defaultdict(list)
for e in outgoing:
    opairs[e.get('messageId')].append(e.get('type'))
bad = {k: v for k, v in opairs.items()
       if sorted(v) != ['DNSIncomingResponseType', 'DNSOutgoingQueryType']}
check('each outgoing messageId has one query and one response', not bad, list(bad.items())[:3])
check('outgoing events go to the auth at 127.0.0.1:%d' % auth_port,
      all(e.get('to') == '127.0.0.1' and e.get('toPort') == auth_port for e in outgoing),
      [(e.get('to'), e.get('toPort')) for e in outgoing[:3]])

dig_events = load_events(work + '/events-dig.jsonl')
for line in open(work + '/queries.tsv'):
    tag, proto, port, sport, qname, qtype, expect = line.rstrip('\n').split('\t')
    dig = parse_dig(work + '/dig-%s.txt' % tag)
    if not check('%s: dig got an answer for %s %s over %s' % (tag, qname, qtype, proto),
                 dig['status'] is not None and dig['id'] == dig['qid'], dig):
        continue
    mine = [e for e in events if e.get('fromPort') == int(sport) and e.get('id') == dig['id']
            and e.get('type') in ('DNSQueryType', 'DNSResponseType')]
    q = [e for e in mine if e.get('type') == 'DNSQueryType']
    r = [e for e in mine if e.get('type') == 'DNSResponseType']
    if not check('%s: one client query and one client response' % tag,
                 len(q) == 1 and len(r) == 1, [e.get('type') for e in mine]):
        continue
    q, r = q[0], r[0]
    common = {'socketFamily': 'INET', 'socketProtocol': proto, 'from': '127.0.0.1',
              'to': '127.0.0.1', 'fromPort': int(sport), 'toPort': int(port), 'id': dig['id'],
              'question.qName': qname, 'question.qType': qtype, 'question.qClass': 'IN'}
    expect_fields('%s: client query fields' % tag, q, dict(common, inBytes=dig['qsize']))
    expect_fields('%s: client response fields' % tag, r,
                  dict(common, messageId=q.get('messageId'), inBytes=dig['rsize'],
                       **{'response.rcode': dig['status']}))
    # TTLs are left out: on a packet-cache hit the recursor exports the TTLs it stored,
    # while the client gets them counted down (60 in the event, 59 at dig).
    want, got = dig_rrs(dig, ttl=False), json_rrs(r, ttl=False)
    check('%s: response rrs are what dig received' % tag, got == want, (got, want))
    out = [e for e in outgoing if e.get('initialRequestId') == q.get('messageId')]
    oq = [e for e in out if e.get('type') == 'DNSOutgoingQueryType']
    orr = [e for e in out if e.get('type') == 'DNSIncomingResponseType']
    n = 1 if expect == 'miss' else 0
    if check('%s: %s gives %d events' % (tag, expect, 2 + 2 * n),
             len(oq) == n and len(orr) == n, [e.get('type') for e in out]):
        if n:
            expect_fields('%s: outgoing query fields' % tag, oq[0],
                          {'question.qName': qname, 'question.qType': qtype,
                           'socketProtocol': 'UDP', 'to': '127.0.0.1', 'toPort': auth_port})
            expect_fields('%s: incoming response fields' % tag, orr[0],
                          {'question.qName': qname, 'question.qType': qtype,
                           'messageId': oq[0].get('messageId'), 'id': oq[0].get('id'),
                           'response.rcode': dig['status']})
    # What dnsstream wrote before the burst holds this query's events too.
    before = [e for e in dig_events if e.get('messageId') == q.get('messageId') or
              e.get('initialRequestId') == q.get('messageId')]
    check('%s: all %d events were written before the burst' % (tag, 2 + 2 * n),
          len(before) == 2 + 2 * n, len(before))
PYEOF
)" "$W" "$AUTH" "$C_Q" "$O_Q" "${SENT:-0}" "${DONE:-0}"

ds_finish
