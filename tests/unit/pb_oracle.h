/*
 * pb_oracle.h - compares ds_pb_scan() (and its iterators) with protobuf-c's unpack of the
 * same bytes, field by field.  Shared by tests/unit/test_pb.c and tests/fuzz/fuzz_pb.c.
 *
 * pb_oracle_compare() returns NULL when every field agrees, else a static description
 * of the first difference.  Test-only code: not thread-safe (static message buffer).
 */
#ifndef PB_ORACLE_H
#define PB_ORACLE_H

#include <stdio.h>
#include <string.h>

#include "dnsmessage.pb-c.h"
#include "ds_pb.h"

static char pb_oracle_msg[256];

#define PBO_FAIL(...)                                                          \
    do {                                                                       \
        snprintf(pb_oracle_msg, sizeof(pb_oracle_msg), __VA_ARGS__);           \
        return pb_oracle_msg;                                                  \
    } while (0)
/* A scalar: presence, and the value when present (protobuf-c fills absent enums with their
 * first value, so absent values are not compared). */
#define PBO_OPT(what, has_a, a, has_b, b)                                      \
    do {                                                                       \
        PBO_EQ(what ".has", (has_a), (has_b));                                 \
        if (has_a)                                                             \
            PBO_EQ(what, (a), (b));                                            \
    } while (0)
#define PBO_EQ(what, a, b)                                                     \
    do {                                                                       \
        unsigned long long a_ = (unsigned long long)(a);                       \
        unsigned long long b_ = (unsigned long long)(b);                       \
        if (a_ != b_)                                                          \
            PBO_FAIL("%s: scan %llu, protobuf-c %llu", what, a_, b_);          \
    } while (0)

/* Bytes field: presence and content. */
static inline const char *pbo_bytes(const char *what, const uint8_t *p, bool has,
                                    struct ds_pb_span s, protobuf_c_boolean c_has,
                                    ProtobufCBinaryData c)
{
    PBO_EQ(what, has, c_has);
    if (!has)
        return NULL;
    PBO_EQ(what, s.len, c.len);
    if (s.len && memcmp(p + s.off, c.data, s.len) != 0)
        PBO_FAIL("%s: content differs", what);
    return NULL;
}

/* String field (protobuf-c: NULL when absent, NUL-terminated copy otherwise). */
static inline const char *pbo_str(const char *what, const uint8_t *p, bool has,
                                  struct ds_pb_span s, const char *c)
{
    PBO_EQ(what, has, c != NULL);
    if (!has)
        return NULL;
    if (c[s.len] != '\0' || (s.len && memcmp(p + s.off, c, s.len) != 0))
        PBO_FAIL("%s: content differs", what);
    return NULL;
}

#define PBO_CHECK(e)                    \
    do {                                \
        const char *r_ = (e);           \
        if (r_)                         \
            return r_;                  \
    } while (0)

static inline const char *pbo_response(const uint8_t *p, size_t len, const struct ds_pb_msg *m,
                                       const PBDNSMessage__DNSResponse *r)
{
    uint32_t h = m->r_has;
    PBO_OPT("rcode", (h >> 1) & 1, m->rcode, r->has_rcode, r->rcode);
    PBO_OPT("queryTimeSec", (h >> 5) & 1, m->query_time_sec, r->has_querytimesec, r->querytimesec);
    PBO_OPT("queryTimeUsec", (h >> 6) & 1, m->query_time_usec,
            r->has_querytimeusec, r->querytimeusec);
    PBO_OPT("appliedPolicyType", (h >> 7) & 1, m->applied_policy_type,
            r->has_appliedpolicytype, (uint32_t)r->appliedpolicytype);
    PBO_OPT("appliedPolicyKind", (h >> 10) & 1, m->applied_policy_kind,
            r->has_appliedpolicykind, (uint32_t)r->appliedpolicykind);
    PBO_OPT("validationState", (h >> 11) & 1, m->validation_state,
            r->has_validationstate, (uint32_t)r->validationstate);
    PBO_CHECK(pbo_str("appliedPolicy", p, (h >> 3) & 1, m->applied_policy, r->appliedpolicy));
    PBO_CHECK(pbo_str("appliedPolicyTrigger", p, (h >> 8) & 1, m->applied_policy_trigger,
                      r->appliedpolicytrigger));
    PBO_CHECK(pbo_str("appliedPolicyHit", p, (h >> 9) & 1, m->applied_policy_hit,
                      r->appliedpolicyhit));

    struct ds_pb_iter it;
    struct ds_pb_span item;
    size_t n = 0;
    PBO_EQ("rr count", m->rr_count, r->n_rrs);
    ds_pb_iter_rrs(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        struct ds_pb_rr rr;
        if (n >= r->n_rrs)
            PBO_FAIL("rr iterator yields more than %zu", r->n_rrs);
        const PBDNSMessage__DNSResponse__DNSRR *c = r->rrs[n++];
        if (ds_pb_rr_decode(p, item, &rr) != DS_OK)
            PBO_FAIL("rr %zu does not decode", n);
        PBO_CHECK(pbo_str("rr.name", p, (rr.has >> 1) & 1, rr.name, c->name));
        PBO_OPT("rr.type", (rr.has >> 2) & 1, rr.type, c->has_type, c->type);
        PBO_OPT("rr.class", (rr.has >> 3) & 1, rr.rclass, c->has_class_, c->class_);
        PBO_OPT("rr.ttl", (rr.has >> 4) & 1, rr.ttl, c->has_ttl, c->ttl);
        PBO_CHECK(pbo_bytes("rr.rdata", p, (rr.has >> 5) & 1, rr.rdata, c->has_rdata, c->rdata));
        PBO_OPT("rr.udr", (rr.has >> 6) & 1, rr.udr, c->has_udr, c->udr);
    }
    PBO_EQ("rrs iterated", n, r->n_rrs);

    n = 0;
    PBO_EQ("tag count", m->tag_count, r->n_tags);
    ds_pb_iter_tags(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        if (n >= r->n_tags)
            PBO_FAIL("tag iterator yields more than %zu", r->n_tags);
        PBO_CHECK(pbo_str("tag", p, true, item, r->tags[n++]));
    }
    PBO_EQ("tags iterated", n, r->n_tags);
    return NULL;
}

static inline const char *pbo_meta(const uint8_t *p, size_t len, const struct ds_pb_msg *m,
                                   const PBDNSMessage *c)
{
    struct ds_pb_iter it;
    struct ds_pb_span item;
    size_t n = 0;
    PBO_EQ("meta count", m->meta_count, c->n_meta);
    ds_pb_iter_meta(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        struct ds_pb_meta meta;
        struct ds_pb_metaval_iter vi;
        struct ds_pb_span s;
        int64_t v;
        if (n >= c->n_meta)
            PBO_FAIL("meta iterator yields more than %zu", c->n_meta);
        const PBDNSMessage__Meta *cm = c->meta[n++];
        if (ds_pb_meta_decode(p, item, &meta) != DS_OK)
            PBO_FAIL("meta %zu does not decode", n);
        PBO_CHECK(pbo_str("meta.key", p, true, meta.key, cm->key));
        PBO_EQ("meta.stringVal count", meta.n_str, cm->value->n_stringval);
        PBO_EQ("meta.intVal count", meta.n_int, cm->value->n_intval);
        size_t k = 0;
        ds_pb_metaval_iter_init(&vi, p, &meta);
        while (ds_pb_metaval_next_str(&vi, &s)) {
            if (k >= cm->value->n_stringval)
                PBO_FAIL("meta.stringVal iterator overruns");
            PBO_CHECK(pbo_str("meta.stringVal", p, true, s, cm->value->stringval[k++]));
        }
        PBO_EQ("meta.stringVal iterated", k, cm->value->n_stringval);
        k = 0;
        ds_pb_metaval_iter_init(&vi, p, &meta);
        while (ds_pb_metaval_next_int(&vi, &v)) {
            if (k >= cm->value->n_intval)
                PBO_FAIL("meta.intVal iterator overruns");
            PBO_EQ("meta.intVal", v, cm->value->intval[k++]);
        }
        PBO_EQ("meta.intVal iterated", k, cm->value->n_intval);
    }
    PBO_EQ("meta iterated", n, c->n_meta);
    return NULL;
}

static inline const char *pbo_trace(const uint8_t *p, size_t len, const struct ds_pb_msg *m,
                                    const PBDNSMessage *c)
{
    struct ds_pb_iter it;
    struct ds_pb_span item;
    size_t n = 0;
    PBO_EQ("trace count", m->trace_count, c->n_trace);
    ds_pb_iter_trace(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        struct ds_pb_event ev;
        if (n >= c->n_trace)
            PBO_FAIL("trace iterator yields more than %zu", c->n_trace);
        const PBDNSMessage__Event *ce = c->trace[n++];
        if (ds_pb_event_decode(p, item, &ev) != DS_OK)
            PBO_FAIL("event %zu does not decode", n);
        PBO_EQ("event.ts", ev.ts, ce->ts);
        PBO_EQ("event.event", ev.event, (uint32_t)ce->event);
        PBO_EQ("event.start", ev.start, ce->start);
        PBO_OPT("event.boolVal", (ev.has >> 4) & 1, ev.bool_val, ce->has_boolval, ce->boolval);
        PBO_OPT("event.intVal", (ev.has >> 5) & 1, ev.int_val, ce->has_intval, ce->intval);
        PBO_CHECK(pbo_str("event.stringVal", p, (ev.has >> 6) & 1, ev.string_val,
                          ce->stringval));
        PBO_CHECK(pbo_bytes("event.bytesVal", p, (ev.has >> 7) & 1, ev.bytes_val,
                            ce->has_bytesval, ce->bytesval));
        PBO_CHECK(pbo_str("event.custom", p, (ev.has >> 8) & 1, ev.custom, ce->custom));
    }
    PBO_EQ("trace iterated", n, c->n_trace);
    return NULL;
}

/* m: the result of a successful ds_pb_scan(p, len); c: protobuf-c's unpack of p. */
static inline const char *pb_oracle_compare(const uint8_t *p, size_t len,
                                            const struct ds_pb_msg *m, const PBDNSMessage *c)
{
#define HASF(f) ds_pb_has(m, f)
    PBO_EQ("type", m->type, (uint32_t)c->type);
    PBO_CHECK(pbo_bytes("messageId", p, HASF(DS_PB_MESSAGE_ID), m->message_id,
                        c->has_messageid, c->messageid));
    PBO_CHECK(pbo_bytes("serverIdentity", p, HASF(DS_PB_SERVER_IDENTITY), m->server_identity,
                        c->has_serveridentity, c->serveridentity));
    PBO_OPT("socketFamily", HASF(DS_PB_SOCKET_FAMILY), m->socket_family,
            c->has_socketfamily, (uint32_t)c->socketfamily);
    PBO_OPT("socketProtocol", HASF(DS_PB_SOCKET_PROTOCOL), m->socket_protocol,
            c->has_socketprotocol, (uint32_t)c->socketprotocol);
    PBO_CHECK(pbo_bytes("from", p, HASF(DS_PB_FROM), m->from, c->has_from, c->from));
    PBO_CHECK(pbo_bytes("to", p, HASF(DS_PB_TO), m->to, c->has_to, c->to));
    PBO_OPT("inBytes", HASF(DS_PB_IN_BYTES), m->in_bytes, c->has_inbytes, c->inbytes);
    PBO_OPT("timeSec", HASF(DS_PB_TIME_SEC), m->time_sec, c->has_timesec, c->timesec);
    PBO_OPT("timeUsec", HASF(DS_PB_TIME_USEC), m->time_usec, c->has_timeusec, c->timeusec);
    PBO_OPT("id", HASF(DS_PB_ID), m->id, c->has_id, c->id);
    PBO_EQ("question.has", HASF(DS_PB_QUESTION), c->question != NULL);
    if (c->question) {
        const PBDNSMessage__DNSQuestion *q = c->question;
        PBO_CHECK(pbo_str("qName", p, (m->q_has >> 1) & 1, m->qname, q->qname));
        PBO_OPT("qType", (m->q_has >> 2) & 1, m->qtype, q->has_qtype, q->qtype);
        PBO_OPT("qClass", (m->q_has >> 3) & 1, m->qclass, q->has_qclass, q->qclass);
    }
    PBO_EQ("response.has", HASF(DS_PB_RESPONSE), c->response != NULL);
    if (c->response)
        PBO_CHECK(pbo_response(p, len, m, c->response));
    PBO_CHECK(pbo_bytes("originalRequestorSubnet", p, HASF(DS_PB_ORIGINAL_REQUESTOR_SUBNET),
                        m->original_requestor_subnet, c->has_originalrequestorsubnet,
                        c->originalrequestorsubnet));
    PBO_CHECK(pbo_str("requestorId", p, HASF(DS_PB_REQUESTOR_ID), m->requestor_id,
                      c->requestorid));
    PBO_CHECK(pbo_bytes("initialRequestId", p, HASF(DS_PB_INITIAL_REQUEST_ID),
                        m->initial_request_id, c->has_initialrequestid, c->initialrequestid));
    PBO_CHECK(pbo_bytes("deviceId", p, HASF(DS_PB_DEVICE_ID), m->device_id, c->has_deviceid,
                        c->deviceid));
    PBO_EQ("newlyObservedDomain.has", HASF(DS_PB_NEWLY_OBSERVED_DOMAIN),
           c->has_newlyobserveddomain);
    PBO_EQ("newlyObservedDomain", m->newly_observed_domain, c->newlyobserveddomain);
    PBO_CHECK(pbo_str("deviceName", p, HASF(DS_PB_DEVICE_NAME), m->device_name, c->devicename));
    PBO_OPT("fromPort", HASF(DS_PB_FROM_PORT), m->from_port, c->has_fromport, c->fromport);
    PBO_OPT("toPort", HASF(DS_PB_TO_PORT), m->to_port, c->has_toport, c->toport);
    PBO_CHECK(pbo_meta(p, len, m, c));
    PBO_CHECK(pbo_trace(p, len, m, c));
    PBO_OPT("httpVersion", HASF(DS_PB_HTTP_VERSION), m->http_version,
            c->has_httpversion, (uint32_t)c->httpversion);
    PBO_OPT("workerId", HASF(DS_PB_WORKER_ID), m->worker_id, c->has_workerid, c->workerid);
    PBO_OPT("packetCacheHit", HASF(DS_PB_PACKET_CACHE_HIT), m->packet_cache_hit,
            c->has_packetcachehit, c->packetcachehit);
    PBO_OPT("outgoingQueries", HASF(DS_PB_OUTGOING_QUERIES), m->outgoing_queries,
            c->has_outgoingqueries, c->outgoingqueries);
    PBO_OPT("headerFlags", HASF(DS_PB_HEADER_FLAGS), m->header_flags,
            c->has_headerflags, c->headerflags);
    PBO_OPT("ednsVersion", HASF(DS_PB_EDNS_VERSION), m->edns_version,
            c->has_ednsversion, c->ednsversion);
    PBO_CHECK(pbo_bytes("openTelemetryData", p, HASF(DS_PB_OPEN_TELEMETRY_DATA),
                        m->open_telemetry_data, c->has_opentelemetrydata,
                        c->opentelemetrydata));
    PBO_OPT("ede", HASF(DS_PB_EDE), m->ede, c->has_ede, c->ede);
    PBO_CHECK(pbo_str("edeText", p, HASF(DS_PB_EDE_TEXT), m->ede_text, c->edetext));
    PBO_CHECK(pbo_bytes("openTelemetryTraceID", p, HASF(DS_PB_OPEN_TELEMETRY_TRACE_ID),
                        m->open_telemetry_trace_id, c->has_opentelemetrytraceid,
                        c->opentelemetrytraceid));
#undef HASF
    return NULL;
}

#endif
