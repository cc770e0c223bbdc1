#!/usr/bin/env bash
# test_fwd_wire.sh - what goes on the wire, per forwarder line, and the metrics event.
#
# One dnsstream, four forwarders to four faultcollectors (which keep every message as
# read with --raw), metrics every second, 100 PowerDNS queries:
#   A  format=json syslog=rfc3164          -> octet counting (the syslog default)
#   B  format=bind syslog=none             -> newline; BIND query-log lines; no metrics
#   C  format=pdns framing=32bit           -> 4-byte length + the protobuf; no metrics
#   D  format=json syslog=rfc5424 framing=newline
# Checked: each envelope's fields, the seq and instance in every JSON event and in the
# RFC 5424 SD element, and that the metrics event reaches the JSON targets.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ds_init fwd_wire
ds_need_cmd python3 ss

FC="$DS_BUILD_DIR/faultcollector"
SEND="$DS_PEERS/fwd/send_pdns.py"
PIN=$(ds_free_port)
declare -A PORT FR
FR=([A]=octet [B]=newline [C]=32bit [D]=newline)
for t in A B C D; do
    PORT[$t]=$(ds_free_port)
    ds_start "fc$t" "$FC" --port "${PORT[$t]}" --framing "${FR[$t]}" --out "$DS_WORK/$t.seqs" \
        --raw "$DS_WORK/$t.raw"
    ds_wait_port tcp "${PORT[$t]}" || ds_fail "collector $t listening"
done
cat >"$DS_WORK/ds.conf" <<EOF
instance-name wire
input pdns 127.0.0.1 $PIN
forwarder ipv4 127.0.0.1 ${PORT[A]} format=json syslog=rfc3164
forwarder ipv4 127.0.0.1 ${PORT[B]} format=bind syslog=none
forwarder ipv4 127.0.0.1 ${PORT[C]} format=pdns framing=32bit
forwarder ipv4 127.0.0.1 ${PORT[D]} format=json syslog=rfc5424 framing=newline
metrics-interval 1
state-directory $DS_WORK
EOF
ds_start ds "$DS_BIN" -c "$DS_WORK/ds.conf"
ds_wait_port tcp "$PIN" || ds_fail "dnsstream listening"
python3 "$SEND" "$PIN" 100 --clients 3 || ds_fail "sending 100 events"

has_metrics() { grep -q '"type":"metrics"' "$1" 2>/dev/null; }
ds_check "A got 100 events" ds_wait_for 20 ds_file_has_lines "$DS_WORK/A.raw" 100 'q[0-9]*\.example'
ds_check "A got a metrics event after them" ds_wait_for 20 has_metrics "$DS_WORK/A.raw"
ds_check "D got a metrics event" ds_wait_for 20 has_metrics "$DS_WORK/D.raw"
ds_check "B got 100 query lines" ds_wait_for 20 ds_file_has_lines "$DS_WORK/B.raw" 100
ds_check "C got 100 frames" ds_wait_for 20 ds_file_has_lines "$DS_WORK/C.seqs" 100
ds_stop ds
ds_eq "dnsstream stopped cleanly" 0 "$DS_EXIT_STATUS"
for t in A B C D; do ds_stop "fc$t" || true; done

ds_pycheck '
import json, re, sys
d = sys.argv[1]
def raw(t):
    return open("%s/%s.raw" % (d, t), "rb").read().decode("utf-8", "replace").split("\n")[:-1]

# A: RFC 3164 header, JSON body with seq and instance
a = raw("A")
hdr = re.compile(r"^<134>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \S+ dnsstream\[\d+\]: (\{.*\})$")
bodies = [hdr.match(l) for l in a]
check("A: every message is <134>Mmm dd hh:mm:ss HOST dnsstream[PID]: {json}", all(bodies),
      [l[:80] for l, m in zip(a, bodies) if not m][:2])
evs = [json.loads(m.group(1)) for m in bodies if m]
check("A: every JSON event carries instance=wire and its seq",
      all(e.get("instance") == "wire" and isinstance(e.get("seq"), int) for e in evs))
q = [e for e in evs if e.get("type") != "metrics"]
check("A: the 100 events, in seq order", len(q) == 100 and [e["seq"] for e in q] == sorted(e["seq"] for e in q), len(q))
check("A: metrics events arrived", any(e.get("type") == "metrics" for e in evs))

# B: BIND query-log lines, only the 100 queries (metrics have no query-log form)
b = raw("B")
check("B: 100 lines", len(b) == 100, len(b))
check("B: BIND query-log form with the client address and qname",
      all(re.search(r"client @0x[0-9a-f]+ 10\.0\.0\.[123]#\d+ \(q\d+\.example\.?\): query: q\d+\.example\.? IN A ", l) for l in b),
      b[:2])

# C: 100 protobuf frames, the client address inside each
c = raw("C")
check("C: 100 frames of 32-bit framing (metrics skipped)", len(open(d + "/C.seqs").read().split("\n")) - 1 == 100)

# D: RFC 5424 header with the SD element; its seq equals the JSON seq
dl = raw("D")
h5 = re.compile(r"^<134>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ dnsstream \d+ (dns|metrics) \[dnsstream@32473 instance=\"wire\" seq=\"(\d+)\"\] (\{.*\})$")
ms = [h5.match(l) for l in dl]
check("D: every message is an RFC 5424 message with our SD element", all(ms),
      [l[:100] for l, m in zip(dl, ms) if not m][:2])
ok = all(json.loads(m.group(3))["seq"] == int(m.group(2)) for m in ms if m)
check("D: SD seq equals the JSON seq", ok)
check("D: the metrics event has MSGID metrics",
      any(m.group(1) == "metrics" and "\"type\":\"metrics\"" in m.group(3) for m in ms if m))
' "$DS_WORK"
ds_finish
