/* test_enc.c - JSON, BIND and PowerDNS-framing encoders: exact output. */
#include <stdlib.h>

#include "dnsmessage.pb-c.h"
#include "ds_dns_names.h"
#include "ds_enc.h"
#include "ds_pb.h"
#include "ds_plat.h"
#include "ds_fixture.h"
#include "ds_test.h"

/* ---- helpers ------------------------------------------------------------------------- */

static const struct ds_enc_ctx ctx = {.instance = "lab1", .hostname = "host1"};

/* 2026-11-22T00:00:29.759123Z */
#define CAPTURED_US 1795305629759123ull

static struct ds_rec rec_of(const uint8_t *p, size_t len, uint64_t seq)
{
    struct ds_rec r = {.seq = seq, .time_us = CAPTURED_US, .route_mask = 1, .input_id = 0,
                       .kind = DS_REC_PDNS, .len = (uint32_t)len, .data = p};
    return r;
}

static char out_text[8192];

/* Encodes with fn into a fresh buffer; returns the rc, text in out_text. */
static int enc_json(const uint8_t *p, size_t len, uint64_t seq)
{
    struct ds_buf b = {0};
    struct ds_rec r = rec_of(p, len, seq);
    int rc = ds_enc_json(&b, &r, &ctx);
    snprintf(out_text, sizeof(out_text), "%.*s", (int)b.len, b.data ? (char *)b.data : "");
    ds_buf_free(&b);
    return rc;
}

static int enc_bind(const uint8_t *p, size_t len)
{
    struct ds_buf b = {0};
    struct ds_rec r = rec_of(p, len, 1);
    int rc = ds_enc_bind(&b, &r, &ctx);
    snprintf(out_text, sizeof(out_text), "%.*s", (int)b.len, b.data ? (char *)b.data : "");
    ds_buf_free(&b);
    return rc;
}

static uint8_t packed[4096];
static size_t pack(const PBDNSMessage *m)
{
    return pbdnsmessage__pack(m, packed);
}

/* ---- JSON: fixture goldens ------------------------------------------------------------ */

static void test_json_dnsdist_golden(void)
{
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("dnsdist-1.7.3.lp16", &f));
    ASSERT_OK(enc_json(f.data + f.off[0], f.flen[0], 1));
    ASSERT_STR_EQ(out_text,
                  "{\"seq\":1,\"instance\":\"lab1\",\"captured\":\"2026-11-22T00:00:29.759123Z\","
                  "\"type\":\"DNSQueryType\",\"messageId\":\"33ac772e11a9436a85eb25b3df3d06a7\","
                  "\"serverIdentity\":\"dd-lab\",\"socketFamily\":\"INET\",\"socketProtocol\":"
                  "\"UDP\",\"from\":\"127.0.0.1\",\"to\":\"127.0.0.1\",\"fromPort\":60679,"
                  "\"toPort\":15353,\"inBytes\":57,\"time\":\"2026-11-22T00:01:12.786828Z\","
                  "\"id\":24992,\"question\":{\"qName\":\"www.example.test.\",\"qType\":\"A\","
                  "\"qClass\":\"IN\"},\"response\":{\"queryTime\":"
                  "\"2026-11-22T00:01:12.786615Z\"}}");
    ASSERT_OK(enc_json(f.data + f.off[5], f.flen[5], 6));
    ASSERT_STR_EQ(out_text,
                  "{\"seq\":6,\"instance\":\"lab1\",\"captured\":\"2026-11-22T00:00:29.759123Z\","
                  "\"type\":\"DNSResponseType\",\"messageId\":\"4acf7b6d69674955a8a48c26198d68c9\","
                  "\"serverIdentity\":\"dd-lab\",\"socketFamily\":\"INET\",\"socketProtocol\":"
                  "\"TCP\",\"from\":\"127.0.0.1\",\"to\":\"127.0.0.1\",\"fromPort\":40785,"
                  "\"toPort\":15353,\"inBytes\":109,\"time\":\"2026-11-22T00:01:12.861294Z\","
                  "\"id\":19411,\"question\":{\"qName\":\"alias.example.test.\",\"qType\":\"A\","
                  "\"qClass\":\"IN\"},\"response\":{\"rcode\":\"NOERROR\",\"rrs\":[{\"name\":"
                  "\"alias.example.test.\",\"type\":\"CNAME\",\"class\":\"IN\",\"ttl\":300,"
                  "\"rdata\":\"www.example.test.\"},{\"name\":\"www.example.test.\",\"type\":\"A\","
                  "\"class\":\"IN\",\"ttl\":300,\"rdata\":\"192.0.2.10\"}],\"queryTime\":"
                  "\"2026-11-22T00:01:12.860717Z\"}}");
    /* AAAA rdata in RFC 5952 form */
    ASSERT_OK(enc_json(f.data + f.off[9], f.flen[9], 10));
    ASSERT_TRUE(strstr(out_text, "\"rrs\":[{\"name\":\"www.example.test.\",\"type\":\"AAAA\","
                                 "\"class\":\"IN\",\"ttl\":300,\"rdata\":\"2001:db8::10\"}]") !=
                NULL);
    /* NXDOMAIN, no RRs: no "rrs" key */
    ASSERT_OK(enc_json(f.data + f.off[11], f.flen[11], 12));
    ASSERT_TRUE(strstr(out_text, "\"response\":{\"rcode\":\"NXDOMAIN\",\"queryTime\":") != NULL);
    ASSERT_TRUE(strstr(out_text, "rrs") == NULL);
    free(f.data);
}

static void test_json_recursor_golden(void)
{
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("pdns-recursor-4.8.8.lp16", &f));
    ASSERT_OK(enc_json(f.data + f.off[0], f.flen[0], 100));
    ASSERT_STR_EQ(out_text,
                  "{\"seq\":100,\"instance\":\"lab1\",\"captured\":"
                  "\"2026-11-22T00:00:29.759123Z\",\"type\":\"DNSQueryType\",\"messageId\":"
                  "\"9066333aeee74fdfb266340ac999d101\",\"serverIdentity\":\"rec-lab\","
                  "\"socketFamily\":\"INET\",\"socketProtocol\":\"UDP\",\"from\":\"127.0.0.1\","
                  "\"to\":\"127.0.0.1\",\"fromPort\":52392,\"toPort\":15355,\"inBytes\":57,"
                  "\"time\":\"2026-11-22T00:01:29.175756Z\",\"id\":16238,\"question\":{\"qName\":"
                  "\"www.example.test.\",\"qType\":\"A\",\"qClass\":\"IN\"}}");
    ASSERT_OK(enc_json(f.data + f.off[8], f.flen[8], 101));
    ASSERT_STR_EQ(out_text,
                  "{\"seq\":101,\"instance\":\"lab1\",\"captured\":"
                  "\"2026-11-22T00:00:29.759123Z\",\"type\":\"DNSResponseType\",\"messageId\":"
                  "\"ff65e188453b44ed9f069e108b895e6a\",\"serverIdentity\":\"rec-lab\","
                  "\"socketFamily\":\"INET\",\"socketProtocol\":\"UDP\",\"from\":\"127.0.0.1\","
                  "\"to\":\"127.0.0.1\",\"fromPort\":40387,\"toPort\":15355,\"inBytes\":69,"
                  "\"time\":\"2026-11-22T00:01:29.260621Z\",\"id\":46428,\"question\":{\"qName\":"
                  "\"txt.example.test.\",\"qType\":\"TXT\",\"qClass\":\"IN\"},\"response\":{"
                  "\"rcode\":\"NOERROR\",\"rrs\":[{\"name\":\"txt.example.test.\",\"type\":"
                  "\"TXT\",\"class\":\"IN\",\"ttl\":300,\"rdata\":\"\\\"hello world\\\"\"}],"
                  "\"queryTime\":\"2026-11-22T00:01:29.259991Z\",\"validationState\":"
                  "\"Indeterminate\"}}");
    /* MX rdata: the exchange name only */
    ASSERT_OK(enc_json(f.data + f.off[6], f.flen[6], 7));
    ASSERT_TRUE(strstr(out_text, "\"type\":\"MX\",\"class\":\"IN\",\"ttl\":300,\"rdata\":"
                                 "\"mx.example.test.\"}") != NULL);
    free(f.data);
}

/* Every frame of both captures encodes; nothing else is appended to what the buffer
 * already held. */
static void test_json_appends(void)
{
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("pdns-recursor-4.8.8.lp16", &f));
    struct ds_buf b = {0};
    ds_buf_puts(&b, "prefix|");
    size_t total = 7;
    for (size_t k = 0; k < f.n; k++) {
        struct ds_rec r = rec_of(f.data + f.off[k], f.flen[k], k + 1);
        size_t before = b.len;
        ASSERT_OK(ds_enc_json(&b, &r, &ctx));
        ASSERT_TRUE(b.len > before);
        ASSERT_EQ(b.data[before], '{');
        ASSERT_EQ(b.data[b.len - 1], '}');
        total = b.len;
    }
    ASSERT_EQ(b.len, total);
    ASSERT_MEM_EQ(b.data, "prefix|{\"seq\":1,", 16);
    ds_buf_free(&b);
    free(f.data);
}

/* ---- JSON: every field --------------------------------------------------------------- */

static void test_json_every_field(void)
{
    PBDNSMessage msg = PBDNSMESSAGE__INIT;
    PBDNSMessage__DNSQuestion q = PBDNSMESSAGE__DNSQUESTION__INIT;
    PBDNSMessage__DNSResponse r = PBDNSMESSAGE__DNSRESPONSE__INIT;
    PBDNSMessage__DNSResponse__DNSRR rr1 = PBDNSMESSAGE__DNSRESPONSE__DNSRR__INIT;
    PBDNSMessage__DNSResponse__DNSRR rr2 = PBDNSMESSAGE__DNSRESPONSE__DNSRR__INIT;
    PBDNSMessage__DNSResponse__DNSRR rr3 = PBDNSMESSAGE__DNSRESPONSE__DNSRR__INIT;
    PBDNSMessage__DNSResponse__DNSRR *rrs[] = {&rr1, &rr2, &rr3};
    PBDNSMessage__MetaValue mv1 = PBDNSMESSAGE__META_VALUE__INIT;
    PBDNSMessage__MetaValue mv2 = PBDNSMESSAGE__META_VALUE__INIT;
    PBDNSMessage__Meta meta1 = PBDNSMESSAGE__META__INIT, meta2 = PBDNSMESSAGE__META__INIT;
    PBDNSMessage__Meta *metas[] = {&meta1, &meta2};
    PBDNSMessage__Event ev1 = PBDNSMESSAGE__EVENT__INIT, ev2 = PBDNSMESSAGE__EVENT__INIT;
    PBDNSMessage__Event *evs[] = {&ev1, &ev2};
    char *tags[] = {"gold", "blue"};
    char *svals[] = {"x", "y"};
    int64_t ivals[] = {-3, 7};
    uint8_t id16[16] = {0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xa, 0xb};
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

    msg.type = PBDNSMESSAGE__TYPE__DNSIncomingResponseType;
    msg.has_messageid = 1, msg.messageid = (ProtobufCBinaryData){16, id16};
    msg.has_serveridentity = 1, msg.serveridentity = (ProtobufCBinaryData){2, (uint8_t *)"s1"};
    msg.has_socketfamily = 1, msg.socketfamily = PBDNSMESSAGE__SOCKET_FAMILY__INET6;
    msg.has_socketprotocol = 1, msg.socketprotocol = PBDNSMESSAGE__SOCKET_PROTOCOL__DOH;
    msg.has_from = 1, msg.from = (ProtobufCBinaryData){16, v6};
    msg.has_to = 1, msg.to = (ProtobufCBinaryData){3, (uint8_t *)"\x01\x02\x03"};
    msg.has_inbytes = 1, msg.inbytes = 1234;
    msg.has_timesec = 1, msg.timesec = 0;
    msg.has_timeusec = 1, msg.timeusec = 5;
    msg.has_id = 1, msg.id = 65535;
    q.qname = "x.test.", q.has_qtype = 1, q.qtype = 123, q.has_qclass = 1, q.qclass = 5;
    msg.question = &q;
    rr1.has_type = 1, rr1.type = 1, rr1.has_class_ = 1, rr1.class_ = 3;
    rr1.has_ttl = 1, rr1.ttl = 4294967295u;
    rr1.has_rdata = 1, rr1.rdata = (ProtobufCBinaryData){4, (uint8_t *)"\xc0\x00\x02\x01"};
    rr2.name = "x.test.", rr2.has_type = 1, rr2.type = 99, rr2.has_udr = 1, rr2.udr = 1;
    rr2.has_rdata = 1, rr2.rdata = (ProtobufCBinaryData){7, (uint8_t *)"\"v=spf\""};
    rr3.has_type = 1, rr3.type = 6, rr3.has_rdata = 1;
    rr3.rdata = (ProtobufCBinaryData){3, (uint8_t *)"\x00\xab\xff"};
    r.has_rcode = 1, r.rcode = 65536;
    r.n_rrs = 3, r.rrs = rrs;
    r.appliedpolicy = "rpz.test";
    r.n_tags = 2, r.tags = tags;
    r.has_querytimesec = 1, r.querytimesec = 86400;
    r.has_querytimeusec = 1, r.querytimeusec = 999999;
    r.has_appliedpolicytype = 1, r.appliedpolicytype = PBDNSMESSAGE__POLICY_TYPE__QNAME;
    r.appliedpolicytrigger = "bad.test.", r.appliedpolicyhit = "bad.test.";
    r.has_appliedpolicykind = 1, r.appliedpolicykind = PBDNSMESSAGE__POLICY_KIND__NXDOMAIN;
    r.has_validationstate = 1, r.validationstate = PBDNSMESSAGE__VSTATE__Secure;
    msg.response = &r;
    msg.has_originalrequestorsubnet = 1;
    msg.originalrequestorsubnet = (ProtobufCBinaryData){4, (uint8_t *)"\xc6\x33\x64\x00"};
    msg.requestorid = "alice";
    msg.has_initialrequestid = 1, msg.initialrequestid = (ProtobufCBinaryData){2, id16};
    msg.has_deviceid = 1, msg.deviceid = (ProtobufCBinaryData){3, (uint8_t *)"d\x00\xff"};
    msg.has_newlyobserveddomain = 1, msg.newlyobserveddomain = 0;
    msg.devicename = "laptop";
    msg.has_fromport = 1, msg.fromport = 5353;
    msg.has_toport = 1, msg.toport = 53;
    mv1.n_stringval = 2, mv1.stringval = svals, mv1.n_intval = 2, mv1.intval = ivals;
    meta1.key = "k1", meta1.value = &mv1;
    mv2.n_intval = 1, mv2.intval = ivals + 1;
    meta2.key = "k2", meta2.value = &mv2;
    msg.n_meta = 2, msg.meta = metas;
    ev1.ts = 0, ev1.event = PBDNSMESSAGE__EVENT_TYPE__ReqRecv, ev1.start = 1;
    ev2.ts = 1500, ev2.event = 77, ev2.start = 0;
    ev2.has_boolval = 1, ev2.boolval = 1, ev2.has_intval = 1, ev2.intval = -9;
    ev2.stringval = "sv", ev2.has_bytesval = 1, ev2.bytesval = (ProtobufCBinaryData){2, id16};
    ev2.custom = "cu";
    msg.n_trace = 2, msg.trace = evs;
    msg.has_httpversion = 1, msg.httpversion = PBDNSMESSAGE__HTTPVERSION__HTTP2;
    msg.has_workerid = 1, msg.workerid = 18446744073709551615ull;
    msg.has_packetcachehit = 1, msg.packetcachehit = 1;
    msg.has_outgoingqueries = 1, msg.outgoingqueries = 2;
    msg.has_headerflags = 1, msg.headerflags = 0x2001;
    msg.has_ednsversion = 1, msg.ednsversion = 0x00800000;
    msg.has_opentelemetrydata = 1, msg.opentelemetrydata = (ProtobufCBinaryData){2, id16};
    msg.has_ede = 1, msg.ede = 15;
    msg.edetext = "Blocked";
    msg.has_opentelemetrytraceid = 1, msg.opentelemetrytraceid = (ProtobufCBinaryData){4, id16};

    size_t n = pack(&msg);
    ASSERT_OK(enc_json(packed, n, 42));
    ASSERT_STR_EQ(out_text,
                  "{\"seq\":42,\"instance\":\"lab1\",\"captured\":\"2026-11-22T00:00:29.759123Z\","
                  "\"type\":\"DNSIncomingResponseType\",\"messageId\":"
                  "\"deadbeef000102030405060708090a0b\",\"serverIdentity\":\"s1\","
                  "\"socketFamily\":\"INET6\",\"socketProtocol\":\"DOH\",\"from\":\"2001:db8::1\","
                  "\"to\":\"010203\",\"fromPort\":5353,\"toPort\":53,\"inBytes\":1234,"
                  "\"time\":\"1970-01-01T00:00:00.000005Z\",\"id\":65535,"
                  "\"question\":{\"qName\":\"x.test.\",\"qType\":\"TYPE123\","
                  "\"qClass\":\"CLASS5\"},"
                  "\"response\":{\"rcode\":\"NETWORK_ERROR\",\"rrs\":["
                  "{\"type\":\"A\",\"class\":\"CH\",\"ttl\":4294967295,\"rdata\":\"192.0.2.1\"},"
                  "{\"name\":\"x.test.\",\"type\":\"SPF\",\"rdata\":\"\\\"v=spf\\\"\","
                  "\"udr\":true},"
                  "{\"type\":\"SOA\",\"rdata\":\"00abff\"}],"
                  "\"appliedPolicy\":\"rpz.test\",\"tags\":[\"gold\",\"blue\"],"
                  "\"queryTime\":\"1970-01-02T00:00:00.999999Z\",\"appliedPolicyType\":\"QNAME\","
                  "\"appliedPolicyTrigger\":\"bad.test.\",\"appliedPolicyHit\":\"bad.test.\","
                  "\"appliedPolicyKind\":\"NXDOMAIN\",\"validationState\":\"Secure\"},"
                  "\"originalRequestorSubnet\":\"198.51.100.0\",\"requestorId\":\"alice\","
                  "\"initialRequestId\":\"dead\",\"deviceId\":\"6400ff\","
                  "\"newlyObservedDomain\":false,\"deviceName\":\"laptop\","
                  "\"meta\":{\"k1\":{\"stringVal\":[\"x\",\"y\"],\"intVal\":[-3,7]},"
                  "\"k2\":{\"intVal\":[7]}},"
                  "\"trace\":[{\"ts\":0,\"event\":\"ReqRecv\",\"start\":true},"
                  "{\"ts\":1500,\"event\":\"77\",\"start\":false,\"boolVal\":true,\"intVal\":-9,"
                  "\"stringVal\":\"sv\",\"bytesVal\":\"dead\",\"custom\":\"cu\"}],"
                  "\"httpVersion\":\"HTTP2\",\"workerId\":18446744073709551615,"
                  "\"packetCacheHit\":true,\"outgoingQueries\":2,\"headerFlags\":8193,"
                  "\"ednsVersion\":8388608,\"ede\":15,\"edeText\":\"Blocked\","
                  "\"openTelemetryTraceID\":\"deadbeef\"}");
}

/* Unknown enum values are written as their number, in a string. */
static void test_json_unknown_enums(void)
{
    PBDNSMessage msg = PBDNSMESSAGE__INIT;
    PBDNSMessage__DNSQuestion q = PBDNSMESSAGE__DNSQUESTION__INIT;
    PBDNSMessage__DNSResponse r = PBDNSMESSAGE__DNSRESPONSE__INIT;
    msg.type = 9;
    msg.has_socketfamily = 1, msg.socketfamily = 3;
    msg.has_socketprotocol = 1, msg.socketprotocol = 8;
    msg.has_httpversion = 1, msg.httpversion = 4;
    q.has_qtype = 1, q.qtype = 65280;
    msg.question = &q;
    r.has_rcode = 1, r.rcode = 12;
    r.has_validationstate = 1, r.validationstate = 19;
    r.has_appliedpolicytype = 1, r.appliedpolicytype = 0;
    r.has_appliedpolicykind = 1, r.appliedpolicykind = 7;
    msg.response = &r;
    size_t n = pack(&msg);
    ASSERT_OK(enc_json(packed, n, 1));
    ASSERT_STR_EQ(out_text,
                  "{\"seq\":1,\"instance\":\"lab1\",\"captured\":\"2026-11-22T00:00:29.759123Z\","
                  "\"type\":\"9\",\"socketFamily\":\"3\",\"socketProtocol\":\"8\","
                  "\"question\":{\"qType\":\"TYPE65280\"},\"response\":{\"rcode\":\"RCODE12\","
                  "\"appliedPolicyType\":\"0\",\"appliedPolicyKind\":\"7\","
                  "\"validationState\":\"19\"},\"httpVersion\":\"4\"}");
}

/* Empty sub-messages and a record without an instance. */
static void test_json_empty_parts(void)
{
    /* type 1, empty question, empty response */
    static const uint8_t raw[] = {0x08, 0x01, 0x62, 0x00, 0x6a, 0x00};
    struct ds_buf b = {0};
    struct ds_rec r = rec_of(raw, sizeof(raw), 3);
    struct ds_enc_ctx noinst = {0};
    ASSERT_OK(ds_enc_json(&b, &r, &noinst));
    ds_buf_putc(&b, 0);
    ASSERT_STR_EQ((char *)b.data, "{\"seq\":3,\"captured\":\"2026-11-22T00:00:29.759123Z\","
                                  "\"type\":\"DNSQueryType\",\"question\":{},\"response\":{}}");
    ds_buf_free(&b);
}

/* ---- JSON: strings and addresses --------------------------------------------------------- */

static void test_json_escaping(void)
{
    static const char ident[] =
        "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f"   /* ASCII specials, DEL kept */
        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" /* é € 😀: valid, copied */
        "\xff\x80\xc0\xaf\xed\xa0\x80\xe2\x82"; /* invalid: one U+FFFD per byte */
    PBDNSMessage msg = PBDNSMESSAGE__INIT;
    msg.type = 1;
    msg.has_serveridentity = 1;
    msg.serveridentity = (ProtobufCBinaryData){sizeof(ident) - 1, (uint8_t *)ident};
    size_t n = pack(&msg);
    ASSERT_OK(enc_json(packed, n, 1));
    ASSERT_STR_EQ(out_text,
                  "{\"seq\":1,\"instance\":\"lab1\",\"captured\":\"2026-11-22T00:00:29.759123Z\","
                  "\"type\":\"DNSQueryType\",\"serverIdentity\":"
                  "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f"
                  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}");

    /* the instance name is escaped too, and a NUL inside a qname */
    struct ds_enc_ctx odd = {.instance = "a\"b"};
    static const uint8_t raw[] = {0x08, 0x01, 0x62, 0x05, 0x0a, 0x03, 'a', 0x00, 'b'};
    struct ds_buf b = {0};
    struct ds_rec r = rec_of(raw, sizeof(raw), 1);
    ASSERT_OK(ds_enc_json(&b, &r, &odd));
    ds_buf_putc(&b, 0);
    ASSERT_STR_EQ((char *)b.data, "{\"seq\":1,\"instance\":\"a\\\"b\",\"captured\":"
                                  "\"2026-11-22T00:00:29.759123Z\",\"type\":\"DNSQueryType\","
                                  "\"question\":{\"qName\":\"a\\u0000b\"}}");
    ds_buf_free(&b);
}

/* A JSON event never holds a raw LF (control characters are escaped), so newline framing
 * does not look for one (ds_fwd.c).  Every text field at every level carries every control
 * character, and mutated fixture frames are encoded whenever they still scan. */
static void test_json_never_emits_lf(void)
{
    static char ctl[33];
    for (int i = 0; i < 32; i++)
        ctl[i] = (char)(i ? i : '\n');
    PBDNSMessage msg = PBDNSMESSAGE__INIT;
    PBDNSMessage__DNSQuestion q = PBDNSMESSAGE__DNSQUESTION__INIT;
    PBDNSMessage__DNSResponse r = PBDNSMESSAGE__DNSRESPONSE__INIT;
    PBDNSMessage__DNSResponse__DNSRR rr1 = PBDNSMESSAGE__DNSRESPONSE__DNSRR__INIT;
    PBDNSMessage__DNSResponse__DNSRR rr2 = PBDNSMESSAGE__DNSRESPONSE__DNSRR__INIT;
    PBDNSMessage__DNSResponse__DNSRR *rrs[] = {&rr1, &rr2};
    PBDNSMessage__MetaValue mv = PBDNSMESSAGE__META_VALUE__INIT;
    PBDNSMessage__Meta meta = PBDNSMESSAGE__META__INIT, *metas[] = {&meta};
    PBDNSMessage__Event ev = PBDNSMESSAGE__EVENT__INIT, *evs[] = {&ev};
    char *strs[] = {ctl, ctl};
    ProtobufCBinaryData bin = {32, (uint8_t *)ctl};
    msg.type = PBDNSMESSAGE__TYPE__DNSResponseType;
    msg.has_serveridentity = 1, msg.serveridentity = bin;
    msg.has_messageid = 1, msg.messageid = bin;
    msg.has_from = 1, msg.from = bin;
    q.qname = ctl;
    msg.question = &q;
    rr1.name = ctl, rr1.has_type = 1, rr1.type = 16, rr1.has_rdata = 1, rr1.rdata = bin;
    rr2.name = ctl, rr2.has_type = 5, rr2.type = 5, rr2.has_rdata = 1, rr2.rdata = bin;
    rr2.has_type = 1;
    r.n_rrs = 2, r.rrs = rrs;
    r.appliedpolicy = ctl, r.appliedpolicytrigger = ctl, r.appliedpolicyhit = ctl;
    r.n_tags = 2, r.tags = strs;
    msg.response = &r;
    msg.requestorid = ctl, msg.devicename = ctl, msg.edetext = ctl;
    msg.has_deviceid = 1, msg.deviceid = bin;
    mv.n_stringval = 2, mv.stringval = strs;
    meta.key = ctl, meta.value = &mv;
    msg.n_meta = 1, msg.meta = metas;
    ev.ts = 1, ev.event = 1, ev.start = 1, ev.stringval = ctl, ev.custom = ctl;
    ev.has_bytesval = 1, ev.bytesval = bin;
    msg.n_trace = 1, msg.trace = evs;
    size_t n = pack(&msg);
    struct ds_enc_ctx lf_ctx = {.instance = "in\nstance", .hostname = "h"};
    struct ds_buf b = {0};
    struct ds_rec rec = rec_of(packed, n, 1);
    ASSERT_OK(ds_enc_json(&b, &rec, &lf_ctx));
    ASSERT_TRUE(b.len > 1000);
    ASSERT_TRUE(memchr(b.data, '\n', b.len) == NULL);
    ds_buf_putc(&b, '\0');
    ASSERT_TRUE(strstr((char *)b.data, "\"qName\":\"\\n\\u0001") != NULL); /* escaped */

    /* mutated fixture frames: any byte may become an LF or anything else */
    const char *names[] = {"dnsdist-1.7.3.lp16", "pdns-recursor-4.8.8.lp16"};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int encoded = 0;
    for (int fi = 0; fi < 2; fi++) {
        struct ds_fixture f;
        ASSERT_OK(ds_fixture_load(names[fi], &f));
        for (size_t k = 0; k < f.n; k++) {
            static uint8_t m[512];
            for (int round = 0; round < 300; round++) {
                memcpy(m, f.data + f.off[k], f.flen[k]);
                for (int j = 0; j < 3; j++) {
                    x = x * 6364136223846793005ull + 1442695040888963407ull;
                    size_t at = (size_t)(x >> 33) % f.flen[k];
                    m[at] = (x >> 20) & 1 ? '\n' : (uint8_t)(x >> 24);
                }
                ds_buf_reset(&b);
                rec = rec_of(m, f.flen[k], (uint64_t)round);
                if (ds_enc_json(&b, &rec, &ctx) != DS_OK)
                    continue;
                encoded++;
                ASSERT_TRUE(memchr(b.data, '\n', b.len) == NULL);
            }
        }
        free(f.data);
    }
    ASSERT_TRUE(encoded > 3000); /* a quarter of the mutated frames still decode (3548) */
    ds_buf_free(&b);
}

static const char *addr6(const char *hex32)
{
    static char text[DS_DNS_ADDR_TEXT_MAX];
    uint8_t a[16];
    for (int i = 0; i < 16; i++) {
        unsigned v;
        sscanf(hex32 + 2 * i, "%2x", &v);
        a[i] = (uint8_t)v;
    }
    ds_dns_addr_text(a, 16, text);
    return text;
}

static void test_addr_text(void)
{
    static const uint8_t mapped_max[16] = {[10] = 0xff, [11] = 0xff, 255, 255, 255, 255};
    char t[DS_DNS_ADDR_TEXT_MAX];
    ASSERT_STR_EQ(addr6("00000000000000000000000000000001"), "::1");
    ASSERT_STR_EQ(addr6("20010db8000000000000000000000001"), "2001:db8::1");
    ASSERT_STR_EQ(addr6("00000000000000000000ffffc0000201"), "::ffff:192.0.2.1");
    ASSERT_STR_EQ(addr6("00000000000000000000000000000000"), "::");
    ASSERT_STR_EQ(addr6("20010db8000000010001000100010001"), "2001:db8:0:1:1:1:1:1");
    ASSERT_STR_EQ(addr6("20010db8000000000001000000000001"), "2001:db8::1:0:0:1");
    ASSERT_STR_EQ(addr6("20010000000000010000000000000001"), "2001:0:0:1::1");
    ASSERT_STR_EQ(addr6("fe800000000000000000000000000000"), "fe80::");
    ASSERT_STR_EQ(addr6("00010000000000000000000000000000"), "1::");
    ASSERT_STR_EQ(addr6("20010DB8ABCD0012FFFFFFFFFFFFFFFF"),
                  "2001:db8:abcd:12:ffff:ffff:ffff:ffff");
    ASSERT_STR_EQ(addr6("000000000000000000000000c0000201"), "::c000:201");
    ASSERT_STR_EQ(addr6("00000000000000000000fffe00000000"), "::fffe:0:0");
    ASSERT_EQ(ds_dns_addr_text((const uint8_t *)"\xff\xff\xff\xff", 4, t), 15);
    ASSERT_STR_EQ(t, "255.255.255.255");
    ASSERT_EQ(ds_dns_addr_text((const uint8_t *)"\x00\x0a\x64\x09", 4, t), 10);
    ASSERT_STR_EQ(t, "0.10.100.9");
    ASSERT_EQ(ds_dns_addr_text((const uint8_t *)"\x01\x02\x03", 3, t), 0);
    ASSERT_STR_EQ(t, "");
    ASSERT_EQ(ds_dns_addr_text(mapped_max, 16, t), 22);
    ASSERT_STR_EQ(t, "::ffff:255.255.255.255");

    /* and through the encoder: from/to as v6 */
    uint8_t lo[16] = {[15] = 1}, mapped[16] = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 1};
    PBDNSMessage msg = PBDNSMESSAGE__INIT;
    msg.type = 1;
    msg.has_from = 1, msg.from = (ProtobufCBinaryData){16, lo};
    msg.has_to = 1, msg.to = (ProtobufCBinaryData){16, mapped};
    size_t n = pack(&msg);
    ASSERT_OK(enc_json(packed, n, 1));
    ASSERT_TRUE(strstr(out_text, "\"from\":\"::1\",\"to\":\"::ffff:192.0.2.1\"}") != NULL);
}

/* The writers work a word at a time with fixed-size copies into reserved room, so their
 * edges get checked against plain references: a string and a bytes field of every length
 * up to 40 with a special byte at every position, the string last in an exactly-sized
 * heap message (under ASan, any read past the message fails), numbers at every digit
 * count, every IPv4 octet. */
static size_t ref_escape(char *o, const uint8_t *s, size_t n)
{
    char *start = o;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\')
            o += sprintf(o, "\\%c", c);
        else if (c == '\n')
            o += sprintf(o, "\\n");
        else if (c < 0x20)
            o += sprintf(o, "\\u%04x", c);
        else if (c == 0xc3 && i + 1 < n && s[i + 1] == 0xa9) /* é, the only valid UTF-8 here */
            *o++ = (char)c, *o++ = (char)s[++i];
        else if (c >= 0x80)
            o += sprintf(o, "\xef\xbf\xbd");
        else
            *o++ = (char)c;
    }
    return (size_t)(o - start);
}

static void test_json_writer_edges(void)
{
    static const uint8_t specials[][2] = {{'"'}, {'\\'}, {'\n'}, {0x01}, {0xff}, {0xc3, 0xa9},
                                          {0xc3}, {0x7f}};
    struct ds_buf b = {0};
    struct ds_enc_ctx noinst = {0};
    for (size_t n = 0; n <= 40; n++) {
        for (size_t at = 0; at <= n; at++) {
            for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
                uint8_t s[48];
                memset(s, 'a' + (int)(n % 26), n);
                if (at < n)
                    memcpy(s + at, specials[k], at + 1 < n && specials[k][1] ? 2 : 1);
                /* type 1, deviceId (17) = s, serverIdentity (3) = s, last */
                uint8_t *p = malloc(2 + 3 + n + 2 + n);
                size_t len = 0;
                p[len++] = 0x08, p[len++] = 0x01;
                p[len++] = 0x8a, p[len++] = 0x01, p[len++] = (uint8_t)n;
                memcpy(p + len, s, n), len += n;
                p[len++] = 0x1a, p[len++] = (uint8_t)n;
                memcpy(p + len, s, n), len += n;
                char want[512], *w = want;
                w += sprintf(w, ",\"serverIdentity\":\"");
                w += ref_escape(w, s, n);
                w += sprintf(w, "\",\"deviceId\":\"");
                for (size_t i = 0; i < n; i++)
                    w += sprintf(w, "%02x", s[i]);
                w += sprintf(w, "\"}");
                struct ds_rec r = rec_of(p, len, 1);
                ds_buf_reset(&b);
                ASSERT_OK(ds_enc_json(&b, &r, &noinst));
                size_t wl = (size_t)(w - want);
                ASSERT_TRUE(b.len > wl);
                ASSERT_MEM_EQ(b.data + b.len - wl, want, wl);
                free(p);
            }
        }
    }
    /* about the most output per input byte (5 for a minimal trace event): thousands of
     * minimal RRs and trace events, 170 KB of JSON into a fresh buffer */
    static uint8_t dense[2 + 4 + 2000 * 4 + 3000 * 9];
    size_t dl = 0;
    dense[dl++] = 0x08, dense[dl++] = 0x02;
    dense[dl++] = 0x6a, dense[dl++] = 0x80 | (2000 * 4 & 0x7f), dense[dl++] = 2000 * 4 >> 7;
    for (int i = 0; i < 2000; i++) /* RR {udr: false} */
        dense[dl++] = 0x12, dense[dl++] = 0x02, dense[dl++] = 0x30, dense[dl++] = 0x00;
    for (int i = 0; i < 3000; i++) { /* trace {ts: 0, event: 0, start: false} */
        static const uint8_t ev[] = {0xba, 0x01, 0x06, 0x08, 0x00, 0x10, 0x00, 0x18, 0x00};
        memcpy(dense + dl, ev, sizeof ev), dl += sizeof ev;
    }
    ds_buf_free(&b);
    struct ds_rec dr = rec_of(dense, dl, 1);
    ASSERT_OK(ds_enc_json(&b, &dr, &noinst));
    static const char rr_text[] = "{\"udr\":false},";
    static const char ev_text[] = "{\"ts\":0,\"event\":\"CustomEvent\",\"start\":false},";
    static const char head[] = "{\"seq\":1,\"captured\":\"2026-11-22T00:00:29.759123Z\","
                               "\"type\":\"DNSResponseType\",\"response\":{\"rrs\":[";
    ASSERT_EQ(b.len, sizeof(head) - 1 + 2000 * (sizeof(rr_text) - 1) + sizeof("]},\"trace\":[") - 2 +
                         3000 * (sizeof(ev_text) - 1) + 1);
    ASSERT_MEM_EQ(b.data, head, sizeof(head) - 1);
    ASSERT_MEM_EQ(b.data + b.len - sizeof(ev_text), ev_text, sizeof(ev_text) - 2);
    ASSERT_MEM_EQ(b.data + b.len - 2, "]}", 2);

    /* numbers: 0, 9, 10, 99, 100, ... at every digit count, and the extremes */
    char want[32];
    for (uint64_t p10 = 1, i = 0; i < 20; i++, p10 *= 10) {
        for (uint64_t v = p10 - 1; v <= p10; v++) {
            ds_buf_reset(&b);
            ds_dns_put_u64(&b, v);
            snprintf(want, sizeof want, "%" PRIu64, v);
            ASSERT_EQ(b.len, strlen(want));
            ASSERT_MEM_EQ(b.data, want, b.len);
        }
    }
    ds_buf_reset(&b);
    ds_dns_put_u64(&b, UINT64_MAX);
    ds_dns_put_i64(&b, INT64_MIN);
    ds_buf_putc(&b, 0);
    ASSERT_STR_EQ((char *)b.data, "18446744073709551615-9223372036854775808");
    /* every IPv4 octet in every position */
    for (unsigned v = 0; v < 256; v++) {
        uint8_t a[4] = {(uint8_t)v, (uint8_t)(255 - v), (uint8_t)(v / 3), (uint8_t)(v * 7)};
        char t[DS_DNS_ADDR_TEXT_MAX];
        snprintf(want, sizeof want, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        ASSERT_EQ(ds_dns_addr_text(a, 4, t), strlen(want));
        ASSERT_STR_EQ(t, want);
    }
    ds_buf_free(&b);
}

static void test_time_text(void)
{
    struct ds_buf b = {0};
    static const struct {
        uint64_t us;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000000Z"},
        {951782400000001ull, "2000-02-29T00:00:00.000001Z"},
        {946684799999999ull, "1999-12-31T23:59:59.999999Z"},
        {1709251199500000ull, "2024-02-29T23:59:59.500000Z"},
        {4107542400000000ull, "2100-03-01T00:00:00.000000Z"},
        {4294967295000000ull, "2106-02-07T06:28:15.000000Z"},
        {253402300799999999ull, "9999-12-31T23:59:59.999999Z"},
        {253402300800000000ull, "10000-01-01T00:00:00.000000Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ds_buf_reset(&b);
        ds_dns_put_rfc3339_us(&b, cases[i].us);
        ds_buf_putc(&b, 0);
        ASSERT_STR_EQ((char *)b.data, cases[i].text);
    }
    /* the per-thread cache of the last second: same second, other second, back again */
    static const uint64_t seq_us[] = {1795305629000000ull, 1795305629999999ull,
                                      1795305630000001ull, 1795305629000123ull};
    ds_buf_reset(&b);
    for (size_t i = 0; i < 4; i++) {
        ds_dns_put_rfc3339_us(&b, seq_us[i]);
        ds_buf_putc(&b, ' ');
    }
    ds_buf_putc(&b, 0);
    ASSERT_STR_EQ((char *)b.data, "2026-11-22T00:00:29.000000Z 2026-11-22T00:00:29.999999Z "
                                  "2026-11-22T00:00:30.000001Z 2026-11-22T00:00:29.000123Z ");
    /* seconds in changing orders, some of them sharing a cache slot (the cache holds 16,
     * by second mod 16): every text is the platform's gmtime of its second */
    for (unsigned i = 0; i < 1200; i++) {
        uint64_t sec = 1795305629ull + (i * 7u + i / 50u) % 6u * (i < 600 ? 90061u : 16u);
        uint64_t us = sec * 1000000u + i % 600u * 1667u;
        struct ds_tm tm;
        char want[64];
        ds_time_utc((int64_t)sec, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.year, tm.mon,
                 tm.mday, tm.hour, tm.min, tm.sec, (unsigned)(us % 1000000u));
        ds_buf_reset(&b);
        ds_dns_put_rfc3339_us(&b, us);
        ds_buf_putc(&b, 0);
        ASSERT_STR_EQ((char *)b.data, want);
    }
    struct ds_dns_civil c;
    ds_dns_civil_utc(-1, &c);
    ASSERT_EQ(c.year, 1969);
    ASSERT_EQ(c.mon, 12);
    ASSERT_EQ(c.mday, 31);
    ASSERT_EQ(c.sec, 59);
    ds_buf_free(&b);
}

/* ---- metrics and errors ---------------------------------------------------------------- */

static void test_json_metrics(void)
{
    static const char payload[] = "{\"eventsIn\":10,\"eventsDropped\":0}";
    struct ds_rec r = {.seq = 7, .time_us = CAPTURED_US, .kind = DS_REC_METRICS,
                       .len = sizeof(payload) - 1, .data = (const uint8_t *)payload};
    struct ds_buf b = {0};
    ASSERT_OK(ds_enc_json(&b, &r, &ctx));
    ds_buf_putc(&b, 0);
    ASSERT_STR_EQ((char *)b.data, "{\"seq\":7,\"instance\":\"lab1\",\"captured\":"
                                  "\"2026-11-22T00:00:29.759123Z\",\"type\":\"metrics\","
                                  "\"metrics\":{\"eventsIn\":10,\"eventsDropped\":0}}");
    ds_buf_reset(&b);
    ASSERT_EQ(ds_enc_bind(&b, &r, &ctx), DS_ENOTSUP);
    ASSERT_EQ(ds_enc_pdns(&b, &r, 16), DS_ENOTSUP);
    ASSERT_EQ(b.len, 0);
    r.len = 0;
    ASSERT_EQ(ds_enc_json(&b, &r, &ctx), DS_EPROTO);
    ASSERT_EQ(b.len, 0);
    ds_buf_free(&b);
}

static void test_malformed_appends_nothing(void)
{
    static const uint8_t bad[][8] = {
        {0x10, 0x01},             /* no type */
        {0x08, 0x01, 0x1a, 0x05}, /* length past the end */
        {0x08, 0x01, 0x0b},       /* wire type 3 */
        /* an RR with a truncated varint deep inside the response */
        {0x08, 0x02, 0x6a, 0x04, 0x12, 0x02, 0x10, 0x81},
    };
    static const size_t lens[] = {2, 4, 3, 8};
    struct ds_buf b = {0};
    ds_buf_puts(&b, "keep");
    for (size_t i = 0; i < 4; i++) {
        struct ds_rec r = rec_of(bad[i], lens[i], 1);
        ASSERT_EQ(ds_enc_json(&b, &r, &ctx), DS_EPROTO);
        ASSERT_EQ(ds_enc_bind(&b, &r, &ctx), DS_EPROTO);
        ASSERT_EQ(b.len, 4);
    }
    ds_buf_free(&b);
}

/* ---- BIND ------------------------------------------------------------------------------ */

static void test_bind_fixture_lines(void)
{
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("dnsdist-1.7.3.lp16", &f));
    ASSERT_OK(enc_bind(f.data + f.off[0], f.flen[0]));
    ASSERT_STR_EQ(out_text, "22-Nov-2026 00:01:12.786 queries: info: client @0x7f33ac772e11 "
                            "127.0.0.1#60679 (www.example.test): query: www.example.test IN A + "
                            "(127.0.0.1)");
    ASSERT_OK(enc_bind(f.data + f.off[4], f.flen[4]));
    ASSERT_STR_EQ(out_text, "22-Nov-2026 00:01:12.860 queries: info: client @0x7f4acf7b6d69 "
                            "127.0.0.1#40785 (alias.example.test): query: alias.example.test IN "
                            "A +T (127.0.0.1)");
    ASSERT_EQ(enc_bind(f.data + f.off[1], f.flen[1]), DS_ENOTSUP); /* response */
    ASSERT_STR_EQ(out_text, "");
    int lines = 0;
    for (size_t k = 0; k < f.n; k++)
        lines += enc_bind(f.data + f.off[k], f.flen[k]) == DS_OK;
    ASSERT_EQ(lines, 11);
    free(f.data);

    ASSERT_OK(ds_fixture_load("pdns-recursor-4.8.8.lp16", &f));
    ASSERT_OK(enc_bind(f.data + f.off[5], f.flen[5]));
    ASSERT_STR_EQ(out_text, "22-Nov-2026 00:01:29.232 queries: info: client @0x7fb071ade8a9 "
                            "127.0.0.1#50960 (mail.example.test): query: mail.example.test IN "
                            "MX + (127.0.0.1)");
    free(f.data);
}

static void test_bind_flags_and_forms(void)
{
    PBDNSMessage msg = PBDNSMESSAGE__INIT;
    PBDNSMessage__DNSQuestion q = PBDNSMESSAGE__DNSQUESTION__INIT;
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x53};
    msg.type = PBDNSMESSAGE__TYPE__DNSQueryType;
    msg.has_socketfamily = 1, msg.socketfamily = PBDNSMESSAGE__SOCKET_FAMILY__INET6;
    msg.has_socketprotocol = 1, msg.socketprotocol = PBDNSMESSAGE__SOCKET_PROTOCOL__DOT;
    msg.has_from = 1, msg.from = (ProtobufCBinaryData){16, v6};
    msg.has_fromport = 1, msg.fromport = 40000;
    msg.has_timesec = 1, msg.timesec = 1709251199;
    msg.has_timeusec = 1, msg.timeusec = 999999;
    /* flags word 0x0110 (RD, CD) as a little-endian sender stores it: 0x1001;
     * OPT TTL 0x00008000 (version 0, DO) stored as 0x00800000 */
    msg.has_headerflags = 1, msg.headerflags = 0x1001;
    msg.has_ednsversion = 1, msg.ednsversion = 0x00800000;
    q.qname = "a b\n.example.", q.has_qtype = 1, q.qtype = 123, q.has_qclass = 1, q.qclass = 3;
    msg.question = &q;
    size_t n = pack(&msg);
    ASSERT_OK(enc_bind(packed, n));
    ASSERT_STR_EQ(out_text, "29-Feb-2024 23:59:59.999 queries: info: client @0x7f0000000000 "
                            "2001:db8::53#40000 (a\\032b\\010.example): query: "
                            "a\\032b\\010.example "
                            "CH TYPE123 +E(0)TDC (::)");

    /* RD clear, EDNS version 1 without DO, UDP; root name; outgoing query with no from */
    msg.type = PBDNSMESSAGE__TYPE__DNSOutgoingQueryType;
    msg.has_socketfamily = 1, msg.socketfamily = PBDNSMESSAGE__SOCKET_FAMILY__INET;
    msg.has_socketprotocol = 1, msg.socketprotocol = PBDNSMESSAGE__SOCKET_PROTOCOL__UDP;
    msg.has_from = 0, msg.has_fromport = 0;
    msg.has_to = 1, msg.to = (ProtobufCBinaryData){4, (uint8_t *)"\xc0\x00\x02\x35"};
    msg.has_headerflags = 1, msg.headerflags = 0x0000;
    msg.has_ednsversion = 1, msg.ednsversion = 0x00000100;
    msg.has_messageid = 1, msg.messageid = (ProtobufCBinaryData){3, (uint8_t *)"\x01\x02\x03"};
    q.qname = ".", q.qtype = 2, q.has_qclass = 0;
    n = pack(&msg);
    ASSERT_OK(enc_bind(packed, n));
    ASSERT_STR_EQ(out_text, "29-Feb-2024 23:59:59.999 queries: info: client @0x7f0102030000 "
                            "0.0.0.0#0 (.): query: . IN NS -E(1) (192.0.2.53)");

    /* no time in the message: the capture time is used; DoH over HTTP/3 is not TCP */
    msg.type = PBDNSMESSAGE__TYPE__DNSQueryType;
    msg.has_timesec = 0, msg.has_timeusec = 0;
    msg.has_headerflags = 0, msg.has_ednsversion = 0;
    msg.has_socketprotocol = 1, msg.socketprotocol = PBDNSMESSAGE__SOCKET_PROTOCOL__DOH;
    msg.has_httpversion = 1, msg.httpversion = PBDNSMESSAGE__HTTPVERSION__HTTP3;
    q.qname = "x.";
    n = pack(&msg);
    ASSERT_OK(enc_bind(packed, n));
    ASSERT_STR_EQ(out_text, "22-Nov-2026 00:00:29.759 queries: info: client @0x7f0102030000 "
                            "0.0.0.0#0 (x): query: x IN NS + (192.0.2.53)");
    msg.httpversion = PBDNSMESSAGE__HTTPVERSION__HTTP2;
    n = pack(&msg);
    ASSERT_OK(enc_bind(packed, n));
    ASSERT_TRUE(strstr(out_text, "query: x IN NS +T (192.0.2.53)") != NULL);

    /* responses, incoming responses and queries without a name have no line */
    msg.type = PBDNSMESSAGE__TYPE__DNSResponseType;
    ASSERT_EQ(enc_bind(packed, pack(&msg)), DS_ENOTSUP);
    msg.type = PBDNSMESSAGE__TYPE__DNSIncomingResponseType;
    ASSERT_EQ(enc_bind(packed, pack(&msg)), DS_ENOTSUP);
    msg.type = PBDNSMESSAGE__TYPE__DNSQueryType;
    q.qname = NULL;
    ASSERT_EQ(enc_bind(packed, pack(&msg)), DS_ENOTSUP);
}

/* ---- PowerDNS framing ------------------------------------------------------------------ */

static void test_pdns_framing(void)
{
    static uint8_t big[70000];
    static const uint8_t msg[] = {0x08, 0x01, 0x58, 0x07};
    struct ds_rec r = rec_of(msg, sizeof(msg), 1);
    struct ds_buf b = {0};
    ASSERT_OK(ds_enc_pdns(&b, &r, 16));
    ASSERT_EQ(b.len, 6);
    ASSERT_MEM_EQ(b.data, "\x00\x04\x08\x01\x58\x07", 6);
    ASSERT_OK(ds_enc_pdns(&b, &r, 32));
    ASSERT_EQ(b.len, 14);
    ASSERT_MEM_EQ(b.data + 6, "\x00\x00\x00\x04\x08\x01\x58\x07", 8);
    ASSERT_EQ(ds_enc_pdns(&b, &r, 8), DS_EINVAL);
    ASSERT_EQ(b.len, 14);

    /* 65535 bytes fit a 16-bit prefix, 65536 do not; 32 bits take both */
    r = rec_of(big, 65535, 2);
    ds_buf_reset(&b);
    ASSERT_OK(ds_enc_pdns(&b, &r, 16));
    ASSERT_EQ(b.len, 65537);
    ASSERT_MEM_EQ(b.data, "\xff\xff", 2);
    r.len = 65536;
    ds_buf_reset(&b);
    ASSERT_EQ(ds_enc_pdns(&b, &r, 16), DS_ERANGE);
    ASSERT_EQ(b.len, 0);
    ASSERT_OK(ds_enc_pdns(&b, &r, 32));
    ASSERT_EQ(b.len, 65540);
    ASSERT_MEM_EQ(b.data, "\x00\x01\x00\x00", 4);

    /* a fixture frame round-trips byte for byte */
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("dnsdist-1.7.3.lp16", &f));
    r = rec_of(f.data + f.off[3], f.flen[3], 4);
    ds_buf_reset(&b);
    ASSERT_OK(ds_enc_pdns(&b, &r, 16));
    ASSERT_EQ(b.len, f.flen[3] + 2);
    ASSERT_MEM_EQ(b.data, f.data + f.off[3] - 2, f.flen[3] + 2);
    free(f.data);
    ds_buf_free(&b);
}

DS_TEST_MAIN(DS_TEST(test_json_dnsdist_golden), DS_TEST(test_json_recursor_golden),
             DS_TEST(test_json_appends), DS_TEST(test_json_every_field),
             DS_TEST(test_json_unknown_enums), DS_TEST(test_json_empty_parts),
             DS_TEST(test_json_escaping), DS_TEST(test_addr_text),
             DS_TEST(test_json_writer_edges), DS_TEST(test_time_text),
             DS_TEST(test_json_metrics), DS_TEST(test_malformed_appends_nothing),
             DS_TEST(test_bind_fixture_lines), DS_TEST(test_bind_flags_and_forms),
             DS_TEST(test_pdns_framing), DS_TEST(test_json_never_emits_lf))
