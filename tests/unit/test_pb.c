/* test_pb.c - the protobuf wire scanner against real captures and protobuf-c. */
#include <stdlib.h>

#include "ds_fixture.h"
#include "ds_test.h"
#include "pb_oracle.h"

/* ---- fixtures ------------------------------------------------------------------- */

/* Every frame: validate, scan, and agree with protobuf-c on every field. */
static void check_all_frames(struct ds_fixture *f, int *queries, int *responses)
{
    *queries = *responses = 0;
    for (size_t k = 0; k < f->n; k++) {
        const uint8_t *p = f->data + f->off[k];
        size_t len = f->flen[k];
        struct ds_pb_msg m;
        ASSERT_OK(ds_pb_validate(p, len));
        ASSERT_OK(ds_pb_scan(p, len, &m));
        PBDNSMessage *c = pbdnsmessage__unpack(NULL, len, p);
        ASSERT_TRUE(c != NULL);
        const char *diff = pb_oracle_compare(p, len, &m, c);
        if (diff)
            fprintf(stderr, "  frame %zu: %s\n", k, diff);
        ASSERT_TRUE(diff == NULL);
        pbdnsmessage__free_unpacked(c, NULL);
        if (m.type == DS_PB_TYPE_QUERY)
            (*queries)++;
        if (m.type == DS_PB_TYPE_RESPONSE)
            (*responses)++;
    }
}

static int span_eq(const uint8_t *p, struct ds_pb_span s, const char *text)
{
    return s.len == strlen(text) && memcmp(p + s.off, text, s.len) == 0;
}

static int span_mem(const uint8_t *p, struct ds_pb_span s, const void *data, size_t n)
{
    return s.len == n && memcmp(p + s.off, data, n) == 0;
}

static void test_dnsdist_fixture(void)
{
    struct ds_fixture f;
    int q, r;
    ASSERT_OK(ds_fixture_load("dnsdist-1.7.3.lp16", &f));
    ASSERT_EQ(f.n, 22);
    check_all_frames(&f, &q, &r);
    ASSERT_EQ(q, 11);
    ASSERT_EQ(r, 11);

    /* frame 0: a UDP query; dnsdist 1.7 adds a response holding only the query time */
    struct ds_pb_msg m;
    const uint8_t *p = f.data + f.off[0];
    ASSERT_OK(ds_pb_scan(p, f.flen[0], &m));
    ASSERT_EQ(m.type, 1);
    ASSERT_EQ(m.socket_family, 1);
    ASSERT_EQ(m.socket_protocol, 1);
    ASSERT_TRUE(span_eq(p, m.server_identity, "dd-lab"));
    ASSERT_TRUE(span_mem(p, m.from, "\x7f\x00\x00\x01", 4));
    ASSERT_TRUE(span_mem(p, m.to, "\x7f\x00\x00\x01", 4));
    ASSERT_EQ(m.message_id.len, 16);
    ASSERT_MEM_EQ(p + m.message_id.off, "\x33\xac\x77\x2e\x11\xa9\x43\x6a", 8);
    ASSERT_EQ(m.in_bytes, 57);
    ASSERT_EQ(m.id, 24992);
    ASSERT_EQ(m.from_port, 60679);
    ASSERT_EQ(m.to_port, 15353);
    ASSERT_EQ(m.time_sec, 1795305672u);
    ASSERT_EQ(m.time_usec, 786828);
    ASSERT_TRUE(span_eq(p, m.qname, "www.example.test."));
    ASSERT_EQ(m.qtype, 1);
    ASSERT_EQ(m.qclass, 1);
    ASSERT_TRUE(ds_pb_has(&m, DS_PB_RESPONSE));
    ASSERT_EQ(m.r_has, (1u << 5) | (1u << 6));
    ASSERT_EQ(m.query_time_sec, 1795305672u);
    ASSERT_EQ(m.query_time_usec, 786615);
    ASSERT_EQ(m.rr_count, 0);

    /* frame 5: TCP response with a CNAME and an A record, in that order */
    p = f.data + f.off[5];
    ASSERT_OK(ds_pb_scan(p, f.flen[5], &m));
    ASSERT_EQ(m.type, 2);
    ASSERT_EQ(m.socket_protocol, 2);
    ASSERT_EQ(m.rcode, 0);
    ASSERT_TRUE(m.r_has & (1u << DS_PB_R_RCODE));
    ASSERT_EQ(m.rr_count, 2);
    struct ds_pb_iter it;
    struct ds_pb_span item;
    struct ds_pb_rr rr;
    ds_pb_iter_rrs(&it, p, f.flen[5], &m);
    ASSERT_TRUE(ds_pb_iter_next(&it, &item));
    ASSERT_OK(ds_pb_rr_decode(p, item, &rr));
    ASSERT_TRUE(span_eq(p, rr.name, "alias.example.test."));
    ASSERT_EQ(rr.type, 5);
    ASSERT_EQ(rr.rclass, 1);
    ASSERT_EQ(rr.ttl, 300);
    ASSERT_TRUE(span_eq(p, rr.rdata, "www.example.test."));
    ASSERT_TRUE(ds_pb_iter_next(&it, &item));
    ASSERT_OK(ds_pb_rr_decode(p, item, &rr));
    ASSERT_EQ(rr.type, 1);
    ASSERT_TRUE(span_mem(p, rr.rdata, "\xc0\x00\x02\x0a", 4));
    ASSERT_TRUE(!ds_pb_iter_next(&it, &item));

    /* frame 11: NXDOMAIN */
    p = f.data + f.off[11];
    ASSERT_OK(ds_pb_scan(p, f.flen[11], &m));
    ASSERT_EQ(m.rcode, 3);
    ASSERT_EQ(m.rr_count, 0);
    ASSERT_TRUE(span_eq(p, m.qname, "www1.example.test."));
    free(f.data);
}

/* dnsdist 1.7.3 writes timeSec/timeUsec twice: the scan must keep the last values. */
static void test_dnsdist_time_last_wins(void)
{
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("dnsdist-1.7.3.lp16", &f));
    for (size_t k = 0; k < f.n; k++) {
        const uint8_t *p = f.data + f.off[k];
        uint32_t pos = 0, end = (uint32_t)f.flen[k];
        struct ds_pb_field fld;
        int n_sec = 0, n_usec = 0;
        uint64_t first_usec = 0, last_usec = 0, last_sec = 0;
        while (ds_pb_next(p, &pos, end, &fld) == 1) {
            if (fld.num == DS_PB_TIME_SEC) {
                n_sec++;
                last_sec = fld.v;
            } else if (fld.num == DS_PB_TIME_USEC) {
                if (n_usec++ == 0)
                    first_usec = fld.v;
                last_usec = fld.v;
            }
        }
        ASSERT_EQ(n_sec, 2);
        ASSERT_EQ(n_usec, 2);
        struct ds_pb_msg m;
        ASSERT_OK(ds_pb_scan(p, f.flen[k], &m));
        ASSERT_U64_EQ(m.time_sec, last_sec);
        ASSERT_U64_EQ(m.time_usec, last_usec);
        if (k == 0) {
            ASSERT_U64_EQ(first_usec, 786825);
            ASSERT_U64_EQ(last_usec, 786828);
        }
    }
    free(f.data);
}

static void test_recursor_fixture(void)
{
    struct ds_fixture f;
    int q, r;
    ASSERT_OK(ds_fixture_load("pdns-recursor-4.8.8.lp16", &f));
    ASSERT_EQ(f.n, 24);
    check_all_frames(&f, &q, &r);
    ASSERT_EQ(q, 12);
    ASSERT_EQ(r, 12);

    struct ds_pb_msg m;
    const uint8_t *p = f.data + f.off[1];
    ASSERT_OK(ds_pb_scan(p, f.flen[1], &m));
    ASSERT_EQ(m.type, 2);
    ASSERT_TRUE(span_eq(p, m.server_identity, "rec-lab"));
    ASSERT_EQ(m.id, 16238);
    ASSERT_EQ(m.from_port, 52392);
    ASSERT_EQ(m.to_port, 15355);
    ASSERT_EQ(m.time_sec, 1795305689u);
    ASSERT_EQ(m.time_usec, 176436);
    ASSERT_EQ(m.rr_count, 1);
    ASSERT_EQ(m.validation_state, 1);
    ASSERT_TRUE(m.r_has & (1u << DS_PB_R_VALIDATION_STATE));
    ASSERT_EQ(m.query_time_usec, 175330);

    /* frame 0: the recursor sends no response sub-message with a plain query */
    p = f.data + f.off[0];
    ASSERT_OK(ds_pb_scan(p, f.flen[0], &m));
    ASSERT_TRUE(!ds_pb_has(&m, DS_PB_RESPONSE));
    ASSERT_EQ(m.r_has, 0);

    /* frame 8: TXT rdata is the presentation text with its quotes */
    p = f.data + f.off[8];
    ASSERT_OK(ds_pb_scan(p, f.flen[8], &m));
    ASSERT_EQ(m.qtype, 16);
    struct ds_pb_iter it;
    struct ds_pb_span item;
    struct ds_pb_rr rr;
    ds_pb_iter_rrs(&it, p, f.flen[8], &m);
    ASSERT_TRUE(ds_pb_iter_next(&it, &item));
    ASSERT_OK(ds_pb_rr_decode(p, item, &rr));
    ASSERT_TRUE(span_eq(p, rr.rdata, "\"hello world\""));
    free(f.data);
}

/* ---- hand-built messages ----------------------------------------------------------- */

struct wbuf {
    uint8_t d[2048];
    size_t n;
};

static void w_varint(struct wbuf *w, uint64_t v)
{
    while (v >= 0x80) {
        w->d[w->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    w->d[w->n++] = (uint8_t)v;
}
static void w_tag(struct wbuf *w, uint32_t num, uint32_t wt)
{
    w_varint(w, (uint64_t)num << 3 | wt);
}
static void w_u(struct wbuf *w, uint32_t num, uint64_t v)
{
    w_tag(w, num, 0);
    w_varint(w, v);
}
static void w_bytes(struct wbuf *w, uint32_t num, const void *s, size_t n)
{
    w_tag(w, num, 2);
    w_varint(w, n);
    memcpy(w->d + w->n, s, n);
    w->n += n;
}
static void w_str(struct wbuf *w, uint32_t num, const char *s) { w_bytes(w, num, s, strlen(s)); }
static void w_raw(struct wbuf *w, const char *s, size_t n)
{
    memcpy(w->d + w->n, s, n);
    w->n += n;
}

/* Both our validator and protobuf-c must give the same verdict. */
static int verdict(const struct wbuf *w)
{
    struct ds_pb_msg m;
    int v = ds_pb_validate(w->d, w->n);
    int s = ds_pb_scan(w->d, w->n, &m);
    PBDNSMessage *c = pbdnsmessage__unpack(NULL, w->n, w->d);
    int agree_c = (v == DS_OK) == (c != NULL);
    if (c)
        pbdnsmessage__free_unpacked(c, NULL);
    if (v != s || !agree_c)
        return 99;
    return v;
}

static void test_malformed_rejected(void)
{
    struct wbuf w;
    /* missing type */
    w.n = 0;
    w_u(&w, DS_PB_ID, 7);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* empty input */
    w.n = 0;
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    ASSERT_EQ(ds_pb_validate(NULL, 0), DS_EPROTO);
    /* truncated varint value and truncated tag */
    w.n = 0;
    w_raw(&w, "\x08\x81", 2);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\xa8", 1);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* an 11-byte varint */
    w.n = 0;
    w_raw(&w, "\x08\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x01", 12);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* length past the end, by one */
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\x1a\x05" "abcd", 6);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* a length prefix of 6 bytes, a tag of 6 bytes */
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\x1a\x80\x80\x80\x80\x80\x00", 7);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\xf8\xff\xff\xff\xff\x01\x00", 7);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* wire types 3, 4, 6, 7 on an unknown field, and on a known one */
    for (uint32_t wt = 3; wt <= 7; wt++) {
        if (wt == 5)
            continue;
        w.n = 0;
        w_u(&w, 1, 1);
        w_tag(&w, 100, wt);
        w_raw(&w, "\x00\x00\x00\x00\x00\x00\x00\x00", 8);
        ASSERT_EQ(verdict(&w), DS_EPROTO);
        w.n = 0;
        w_tag(&w, 1, wt);
        w_raw(&w, "\x01", 1);
        ASSERT_EQ(verdict(&w), DS_EPROTO);
    }
    /* field number 0 */
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\x00\x01", 2);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\x02\x00", 2);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* truncated fixed64 / fixed32 of an unknown field */
    w.n = 0;
    w_u(&w, 1, 1);
    w_tag(&w, 100, 1);
    w_raw(&w, "\x00\x00\x00\x00\x00\x00\x00", 7);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    w.n = 0;
    w_u(&w, 1, 1);
    w_tag(&w, 100, 5);
    w_raw(&w, "\x00\x00\x00", 3);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* a known field with the wrong wire type: timeSec as bytes, qName as varint */
    w.n = 0;
    w_u(&w, 1, 1);
    w_str(&w, DS_PB_TIME_SEC, "x");
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\x62\x02\x08\x01", 4); /* question { 1: varint 1 } */
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* type as fixed32 */
    w.n = 0;
    w_raw(&w, "\x0d\x01\x00\x00\x00", 5);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* malformed question body (length past its own end) */
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\x62\x02\x0a\x05", 4);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* malformed RR inside the response */
    w.n = 0;
    w_u(&w, 1, 2);
    w_raw(&w, "\x6a\x04\x12\x02\x10\x81", 6); /* response { rrs { type: <truncated> } } */
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* meta without its value, event without ts */
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\xb2\x01\x03\x0a\x01k", 6);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\xba\x01\x04\x10\x01\x18\x01", 7);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
    /* packed intVal with a truncated varint */
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\xb2\x01\x09\x0a\x01k\x12\x04\x12\x02\x01\x81", 12);
    ASSERT_EQ(verdict(&w), DS_EPROTO);
}

static void test_tolerated_forms(void)
{
    struct wbuf w;
    struct ds_pb_msg m;
    /* fields in reverse order, type last; unknown fields of every legal wire type */
    w.n = 0;
    w_u(&w, 200, 5);
    w_tag(&w, 201, 1);
    w_raw(&w, "12345678", 8);
    w_tag(&w, 202, 5);
    w_raw(&w, "1234", 4);
    w_str(&w, 203, "unknown");
    w_u(&w, DS_PB_TO_PORT, 53);
    w_u(&w, DS_PB_FROM_PORT, 4242);
    w_u(&w, DS_PB_ID, 77);
    w_u(&w, DS_PB_TIME_SEC, 10);
    w_u(&w, DS_PB_TIME_SEC, 20); /* last wins */
    w_u(&w, DS_PB_TYPE, 3);
    ASSERT_EQ(verdict(&w), DS_OK);
    ASSERT_OK(ds_pb_scan(w.d, w.n, &m));
    ASSERT_EQ(m.type, 3);
    ASSERT_EQ(m.time_sec, 20);
    ASSERT_EQ(m.id, 77);
    ASSERT_EQ(m.from_port, 4242);
    ASSERT_EQ(m.to_port, 53);
    ASSERT_U64_EQ(m.has, (1u << 1) | (1u << 9) | (1u << 11) | (1u << 20) | (1u << 21));

    /* a question in two pieces is merged; deviceId as a string; an RR without a name;
     * a response split in two, each piece with one RR */
    w.n = 0;
    w_u(&w, DS_PB_TYPE, 4);
    w_raw(&w, "\x62\x07\x0a\x05" "a.b.c", 9);
    w_raw(&w, "\x62\x02\x10\x1c", 4); /* qType 28 */
    w_str(&w, DS_PB_DEVICE_ID, "dev-1");
    w_raw(&w, "\x6a\x0a\x08\x02\x12\x06\x10\x01\x2a\x02\x01\x02", 12);
    w_raw(&w, "\x6a\x08\x12\x06\x10\x1c\x20\x3c\x18\x01", 10);
    ASSERT_EQ(verdict(&w), DS_OK);
    ASSERT_OK(ds_pb_scan(w.d, w.n, &m));
    ASSERT_TRUE(span_eq(w.d, m.qname, "a.b.c"));
    ASSERT_EQ(m.qtype, 28);
    ASSERT_EQ(m.q_has, (1u << 1) | (1u << 2));
    ASSERT_TRUE(span_eq(w.d, m.device_id, "dev-1"));
    ASSERT_EQ(m.rcode, 2);
    ASSERT_EQ(m.rr_count, 2);
    struct ds_pb_iter it;
    struct ds_pb_span item;
    struct ds_pb_rr rr;
    ds_pb_iter_rrs(&it, w.d, w.n, &m);
    ASSERT_TRUE(ds_pb_iter_next(&it, &item));
    ASSERT_OK(ds_pb_rr_decode(w.d, item, &rr));
    ASSERT_EQ(rr.has, (1u << 2) | (1u << 5));
    ASSERT_EQ(rr.type, 1);
    ASSERT_TRUE(ds_pb_iter_next(&it, &item));
    ASSERT_OK(ds_pb_rr_decode(w.d, item, &rr));
    ASSERT_EQ(rr.has, (1u << 2) | (1u << 3) | (1u << 4));
    ASSERT_EQ(rr.type, 28);
    ASSERT_EQ(rr.ttl, 60);
    ASSERT_TRUE(!ds_pb_iter_next(&it, &item));
    PBDNSMessage *c = pbdnsmessage__unpack(NULL, w.n, w.d);
    ASSERT_TRUE(c != NULL);
    ASSERT_TRUE(pb_oracle_compare(w.d, w.n, &m, c) == NULL);
    pbdnsmessage__free_unpacked(c, NULL);

    /* only the type */
    w.n = 0;
    w_u(&w, DS_PB_TYPE, 1);
    ASSERT_EQ(verdict(&w), DS_OK);
    ASSERT_OK(ds_pb_scan(w.d, w.n, &m));
    ASSERT_U64_EQ(m.has, 1u << 1);
}

/* Every field of the schema, built with protobuf-c, packed, then scanned. */
static void test_every_field_roundtrip(void)
{
    PBDNSMessage msg = PBDNSMESSAGE__INIT;
    PBDNSMessage__DNSQuestion q = PBDNSMESSAGE__DNSQUESTION__INIT;
    PBDNSMessage__DNSResponse r = PBDNSMESSAGE__DNSRESPONSE__INIT;
    PBDNSMessage__DNSResponse__DNSRR rr1 = PBDNSMESSAGE__DNSRESPONSE__DNSRR__INIT;
    PBDNSMessage__DNSResponse__DNSRR rr2 = PBDNSMESSAGE__DNSRESPONSE__DNSRR__INIT;
    PBDNSMessage__DNSResponse__DNSRR *rrs[] = {&rr1, &rr2};
    PBDNSMessage__MetaValue mv = PBDNSMESSAGE__META_VALUE__INIT;
    PBDNSMessage__Meta meta = PBDNSMESSAGE__META__INIT;
    PBDNSMessage__Meta *metas[] = {&meta};
    PBDNSMessage__Event ev = PBDNSMESSAGE__EVENT__INIT;
    PBDNSMessage__Event *evs[] = {&ev};
    char *tags[] = {"t1", "t2", "t3"};
    char *svals[] = {"a", "b"};
    int64_t ivals[] = {-1, 0, 1234567890123};
    uint8_t id16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

    msg.type = PBDNSMESSAGE__TYPE__DNSResponseType;
    msg.has_messageid = 1, msg.messageid = (ProtobufCBinaryData){16, id16};
    msg.has_serveridentity = 1, msg.serveridentity = (ProtobufCBinaryData){3, (uint8_t *)"srv"};
    msg.has_socketfamily = 1, msg.socketfamily = PBDNSMESSAGE__SOCKET_FAMILY__INET6;
    msg.has_socketprotocol = 1, msg.socketprotocol = PBDNSMESSAGE__SOCKET_PROTOCOL__DOH;
    msg.has_from = 1, msg.from = (ProtobufCBinaryData){16, v6};
    msg.has_to = 1, msg.to = (ProtobufCBinaryData){16, v6};
    msg.has_inbytes = 1, msg.inbytes = 1ull << 40;
    msg.has_timesec = 1, msg.timesec = 4000000000u;
    msg.has_timeusec = 1, msg.timeusec = 999999;
    msg.has_id = 1, msg.id = 65535;
    q.qname = "x.test.", q.has_qtype = 1, q.qtype = 65535, q.has_qclass = 1, q.qclass = 3;
    msg.question = &q;
    rr1.name = "x.test.", rr1.has_type = 1, rr1.type = 1, rr1.has_class_ = 1, rr1.class_ = 1;
    rr1.has_ttl = 1, rr1.ttl = 0xffffffffu;
    rr1.has_rdata = 1, rr1.rdata = (ProtobufCBinaryData){4, (uint8_t *)"\x01\x02\x03\x04"};
    rr1.has_udr = 1, rr1.udr = 1;
    rr2.has_type = 1, rr2.type = 16;
    r.has_rcode = 1, r.rcode = 65536;
    r.n_rrs = 2, r.rrs = rrs;
    r.appliedpolicy = "pol";
    r.n_tags = 3, r.tags = tags;
    r.has_querytimesec = 1, r.querytimesec = 1;
    r.has_querytimeusec = 1, r.querytimeusec = 2;
    r.has_appliedpolicytype = 1, r.appliedpolicytype = PBDNSMESSAGE__POLICY_TYPE__NSIP;
    r.appliedpolicytrigger = "trig", r.appliedpolicyhit = "hit";
    r.has_appliedpolicykind = 1, r.appliedpolicykind = PBDNSMESSAGE__POLICY_KIND__Custom;
    r.has_validationstate = 1,
    r.validationstate = PBDNSMESSAGE__VSTATE__BogusInvalidDNSKEYProtocol;
    msg.response = &r;
    msg.has_originalrequestorsubnet = 1;
    msg.originalrequestorsubnet = (ProtobufCBinaryData){4, (uint8_t *)"\xc6\x33\x64\x00"};
    msg.requestorid = "user";
    msg.has_initialrequestid = 1, msg.initialrequestid = (ProtobufCBinaryData){16, id16};
    msg.has_deviceid = 1, msg.deviceid = (ProtobufCBinaryData){2, (uint8_t *)"\xff\x00"};
    msg.has_newlyobserveddomain = 1, msg.newlyobserveddomain = 1;
    msg.devicename = "dev";
    msg.has_fromport = 1, msg.fromport = 1;
    msg.has_toport = 1, msg.toport = 65535;
    mv.n_stringval = 2, mv.stringval = svals, mv.n_intval = 3, mv.intval = ivals;
    meta.key = "k", meta.value = &mv;
    msg.n_meta = 1, msg.meta = metas;
    ev.ts = -5, ev.event = PBDNSMESSAGE__EVENT_TYPE__LuaPostResolveFFI, ev.start = 1;
    ev.has_boolval = 1, ev.boolval = 0, ev.has_intval = 1, ev.intval = INT64_MIN;
    ev.stringval = "s", ev.has_bytesval = 1, ev.bytesval = (ProtobufCBinaryData){1, id16};
    ev.custom = "c";
    msg.n_trace = 1, msg.trace = evs;
    msg.has_httpversion = 1, msg.httpversion = PBDNSMESSAGE__HTTPVERSION__HTTP3;
    msg.has_workerid = 1, msg.workerid = UINT64_MAX;
    msg.has_packetcachehit = 1, msg.packetcachehit = 1;
    msg.has_outgoingqueries = 1, msg.outgoingqueries = 9;
    msg.has_headerflags = 1, msg.headerflags = 0x0001;
    msg.has_ednsversion = 1, msg.ednsversion = 0x00800000;
    msg.has_opentelemetrydata = 1, msg.opentelemetrydata = (ProtobufCBinaryData){2, id16};
    msg.has_ede = 1, msg.ede = 18;
    msg.edetext = "prohibited";
    msg.has_opentelemetrytraceid = 1, msg.opentelemetrytraceid = (ProtobufCBinaryData){16, id16};

    uint8_t buf[1024];
    size_t n = pbdnsmessage__pack(&msg, buf);
    ASSERT_TRUE(n > 100 && n < sizeof(buf));
    struct ds_pb_msg m;
    ASSERT_OK(ds_pb_validate(buf, n));
    ASSERT_OK(ds_pb_scan(buf, n, &m));
    ASSERT_U64_EQ(m.has, 0x3fffffffeull); /* fields 1..33 */
    ASSERT_EQ(m.rr_count, 2);
    ASSERT_EQ(m.tag_count, 3);
    ASSERT_EQ(m.meta_count, 1);
    ASSERT_EQ(m.trace_count, 1);
    ASSERT_EQ(m.r_has, 0xffe);
    ASSERT_U64_EQ(m.worker_id, UINT64_MAX);
    ASSERT_EQ(m.rcode, 65536);
    PBDNSMessage *c = pbdnsmessage__unpack(NULL, n, buf);
    ASSERT_TRUE(c != NULL);
    const char *diff = pb_oracle_compare(buf, n, &m, c);
    if (diff)
        fprintf(stderr, "  %s\n", diff);
    ASSERT_TRUE(diff == NULL);
    pbdnsmessage__free_unpacked(c, NULL);

    /* intVal as one packed run is read the same */
    struct wbuf w;
    w.n = 0;
    w_u(&w, 1, 1);
    w_raw(&w, "\xb2\x01\x0b\x0a\x01k\x12\x06\x12\x04\x01\x02\x96\x01", 14);
    ASSERT_EQ(verdict(&w), DS_OK);
    ASSERT_OK(ds_pb_scan(w.d, w.n, &m));
    struct ds_pb_iter it;
    struct ds_pb_span item;
    struct ds_pb_meta md;
    struct ds_pb_metaval_iter vi;
    int64_t v;
    ds_pb_iter_meta(&it, w.d, w.n, &m);
    ASSERT_TRUE(ds_pb_iter_next(&it, &item));
    ASSERT_OK(ds_pb_meta_decode(w.d, item, &md));
    ASSERT_EQ(md.n_int, 3);
    ASSERT_EQ(md.n_str, 0);
    ds_pb_metaval_iter_init(&vi, w.d, &md);
    ASSERT_TRUE(ds_pb_metaval_next_int(&vi, &v));
    ASSERT_EQ(v, 1);
    ASSERT_TRUE(ds_pb_metaval_next_int(&vi, &v));
    ASSERT_EQ(v, 2);
    ASSERT_TRUE(ds_pb_metaval_next_int(&vi, &v));
    ASSERT_EQ(v, 150);
    ASSERT_TRUE(!ds_pb_metaval_next_int(&vi, &v));
}

static void test_get_from(void)
{
    struct wbuf w;
    struct ds_pb_span s;
    w.n = 0;
    w_u(&w, 1, 1);
    w_bytes(&w, DS_PB_FROM, "\x0a\x00\x00\x01", 4);
    w_bytes(&w, DS_PB_FROM, "\x0a\x00\x00\x02", 4);
    ASSERT_OK(ds_pb_get_from(w.d, w.n, &s));
    ASSERT_TRUE(span_mem(w.d, s, "\x0a\x00\x00\x02", 4));
    w.n = 0;
    w_u(&w, 1, 1);
    ASSERT_EQ(ds_pb_get_from(w.d, w.n, &s), DS_ENOTFOUND);
    w_raw(&w, "\x32\x09", 2);
    ASSERT_EQ(ds_pb_get_from(w.d, w.n, &s), DS_EPROTO);
}

/* ---- mutations: the validator against protobuf-c -------------------------------------- */

/* Inputs protobuf-c accepts and we reject on purpose (see fuzz_pb.c): field number 0 written
 * as an over-long tag, and a bool field (newlyObservedDomain, packetCacheHit, RR udr, event
 * start and boolVal) of another wire type than varint. */
static bool known_difference(const uint8_t *p, uint32_t pos, uint32_t end, int level)
{
    if (level == 0)
        for (uint32_t i = pos; i + 1 < end; i++)
            if ((p[i] & 0xf8) == 0x80 && p[i + 1] == 0x00)
                return true;
    struct ds_pb_field f;
    while (ds_pb_next(p, &pos, end, &f) == 1) {
        bool is_bool = (level == 0 && (f.num == 18 || f.num == 26)) ||
                       (level == 2 && f.num == 6) || (level == 23 && (f.num == 3 || f.num == 4));
        if (is_bool && f.wt != DS_PB_WT_VARINT)
            return true;
        int sub = f.wt != DS_PB_WT_LEN                ? -1
                  : level == 0 && f.num == 13         ? 13
                  : level == 0 && f.num == 23         ? 23
                  : level == 13 && f.num == 2         ? 2
                                                      : -1;
        if (sub > 0 && known_difference(p, f.data.off, f.data.off + f.data.len, sub))
            return true;
    }
    return false;
}

static uint64_t mut_rng = 0x2545f4914f6cdd1dull;
static uint32_t mut_next(uint32_t n)
{
    mut_rng ^= mut_rng << 13;
    mut_rng ^= mut_rng >> 7;
    mut_rng ^= mut_rng << 17;
    return (uint32_t)(mut_rng >> 11) % n;
}

/* Appends a field the fast paths of the validator treat specially: keys of 2 or 3 bytes,
 * varints of 1 to 10 bytes (some over-long), length prefixes of 1 to 3 bytes, fixed
 * fields, a wrong wire type for a known field, lengths that run past the end. */
static void mut_append_field(struct wbuf *w)
{
    static const uint32_t nums[] = {1, 9, 12, 13, 15, 16, 20, 22, 23, 33, 34, 63, 64, 2047, 2048, 99999};
    uint32_t num = nums[mut_next(sizeof(nums) / sizeof(nums[0]))];
    uint32_t wt = (uint32_t[]){0, 0, 0, 2, 2, 2, 1, 5, 3, 7}[mut_next(10)];
    if (w->n + 40 > sizeof(w->d))
        return;
    w_tag(w, num, wt);
    if (wt == 0) {
        uint64_t v = mut_next(4) == 0 ? ~(uint64_t)0 >> mut_next(64) : mut_next(1u << 20);
        w_varint(w, v);
        if (mut_next(5) == 0) { /* over-long: a zero group with the continuation bit before */
            w->d[w->n - 1] |= 0x80;
            w->d[w->n++] = 0;
        }
    } else if (wt == 2) {
        uint32_t len = mut_next(30);
        w_varint(w, mut_next(8) == 0 ? len + mut_next(300) : len);
        for (uint32_t i = 0; i < len; i++)
            w->d[w->n++] = (uint8_t)mut_next(256);
    } else if (wt == 1 || wt == 5) {
        for (uint32_t i = mut_next(9); i > 0; i--)
            w->d[w->n++] = (uint8_t)mut_next(256);
    }
}

/* Thousands of mutated fixture frames: whatever the validator accepts, protobuf-c accepts
 * with the same fields (pb_oracle_compare), the scan agrees with the validator, and what
 * protobuf-c accepts is rejected only for a known difference.  Covers one-, two- and
 * three-byte keys and length prefixes, varints of every length, nested messages,
 * truncation at every point of a field, and frames over 1024 bytes (validated in place
 * rather than from the padded copy). */
static void test_mutations_match_protobuf_c(void)
{
    struct ds_fixture f[2];
    ASSERT_OK(ds_fixture_load("dnsdist-1.7.3.lp16", &f[0]));
    ASSERT_OK(ds_fixture_load("pdns-recursor-4.8.8.lp16", &f[1]));
    static struct wbuf w;
    int accepted = 0, rejected = 0, big = 0;
    for (int round = 0; round < 40000; round++) {
        const struct ds_fixture *fr = &f[round & 1];
        size_t k = mut_next((uint32_t)fr->n);
        memcpy(w.d, fr->data + fr->off[k], fr->flen[k]);
        w.n = fr->flen[k];
        switch (round % 5) {
        case 0: /* overwrite, flip, or set the continuation bit of a few bytes */
            for (uint32_t j = 1 + mut_next(3); j > 0; j--) {
                size_t at = mut_next((uint32_t)w.n);
                uint32_t how = mut_next(3);
                w.d[at] = how == 0 ? (uint8_t)mut_next(256)
                          : how == 1 ? (uint8_t)(w.d[at] ^ (1u << mut_next(8)))
                                     : (uint8_t)(w.d[at] | 0x80);
            }
            break;
        case 1: /* truncate anywhere */
            w.n = mut_next((uint32_t)w.n + 1);
            break;
        case 2: /* append odd fields */
            for (uint32_t j = 1 + mut_next(3); j > 0; j--)
                mut_append_field(&w);
            break;
        case 3: { /* insert one byte, or delete one */
            size_t at = mut_next((uint32_t)w.n);
            if (mut_next(2)) {
                memmove(w.d + at + 1, w.d + at, w.n - at);
                w.d[at] = (uint8_t)mut_next(256);
                w.n++;
            } else {
                memmove(w.d + at, w.d + at + 1, w.n - at - 1);
                w.n--;
            }
            break;
        }
        default: { /* grow past 1024 bytes with a long serverIdentity first */
            uint8_t body[1024];
            size_t n = 700 + mut_next(300), len = w.n;
            memcpy(body, w.d, len);
            w.n = 0;
            w.d[w.n++] = 0x1a; /* field 3, wire type 2 */
            w_varint(&w, n);
            memset(w.d + w.n, 'x', n);
            w.n += n;
            if (w.n + len > sizeof(w.d))
                len = sizeof(w.d) - w.n;
            memcpy(w.d + w.n, body, len);
            w.n += len;
            if (mut_next(2))
                w.n -= mut_next(20);
            big += w.n > 1024;
            break;
        }
        }
        struct ds_pb_msg m, g, in;
        int v = ds_pb_validate(w.d, w.n);
        ASSERT_EQ(ds_pb_scan(w.d, w.n, &m), v);
        /* the scan's fast path and its generic fallback agree */
        ASSERT_EQ(ds__pb_scan_generic(w.d, w.n, &g), v);
        /* walked in place, with 16 to 64 bytes of anything after the message (the
         * caller's next record, say), the result is the same */
        size_t extra = 16 + mut_next(49);
        if (extra > sizeof(w.d) - w.n)
            extra = sizeof(w.d) - w.n;
        for (size_t j = 0; j < extra; j++)
            w.d[w.n + j] = (uint8_t)mut_next(256);
        ASSERT_EQ(ds_pb_validate_lim(w.d, w.n, w.n + extra), v);
        ASSERT_EQ(ds_pb_scan_lim(w.d, w.n, w.n + extra, &in), v);
        PBDNSMessage *c = pbdnsmessage__unpack(NULL, w.n, w.d);
        if (v == DS_OK) {
            accepted++;
            ASSERT_TRUE(c != NULL);
            const char *diff = pb_oracle_compare(w.d, w.n, &m, c);
            if (diff)
                fprintf(stderr, "  round %d: %s\n", round, diff);
            ASSERT_TRUE(diff == NULL);
            diff = pb_oracle_compare(w.d, w.n, &g, c);
            if (diff)
                fprintf(stderr, "  round %d (generic scan): %s\n", round, diff);
            ASSERT_TRUE(diff == NULL);
            diff = pb_oracle_compare(w.d, w.n, &in, c);
            if (diff)
                fprintf(stderr, "  round %d (scan in place): %s\n", round, diff);
            ASSERT_TRUE(diff == NULL);
            ASSERT_TRUE(m.resp_at == g.resp_at && m.meta_at == g.meta_at &&
                        m.trace_at == g.trace_at && m.has == g.has && m.q_has == g.q_has &&
                        m.r_has == g.r_has);
            ASSERT_TRUE(m.resp_at == in.resp_at && m.meta_at == in.meta_at &&
                        m.trace_at == in.trace_at && m.has == in.has && m.q_has == in.q_has &&
                        m.r_has == in.r_has);
        } else {
            rejected++;
            if (c && !known_difference(w.d, 0, (uint32_t)w.n, 0)) {
                fprintf(stderr, "  round %d: protobuf-c accepts what we reject\n", round);
                ASSERT_TRUE(false);
            }
        }
        if (c)
            pbdnsmessage__free_unpacked(c, NULL);
    }
    ASSERT_TRUE(accepted > 5000);
    ASSERT_TRUE(rejected > 5000);
    ASSERT_TRUE(big > 1000);
    free(f[0].data);
    free(f[1].data);
}

DS_TEST_MAIN(DS_TEST(test_dnsdist_fixture), DS_TEST(test_dnsdist_time_last_wins),
             DS_TEST(test_recursor_fixture), DS_TEST(test_malformed_rejected),
             DS_TEST(test_tolerated_forms), DS_TEST(test_every_field_roundtrip),
             DS_TEST(test_get_from), DS_TEST(test_mutations_match_protobuf_c))
