/*
 * ds_enc_json.c - one JSON object per event (schema: docs/json-schema.md).
 *
 * One ds_pb_scan() pass, then fields are written in a fixed order straight into the
 * caller's buffer: literal keys with memcpy, numbers and hex by hand, strings through a
 * table-driven escaper that copies clean runs in one go.  No printf, no allocation
 * beyond growing the caller's buffer.  On a malformed message nothing is appended.
 */
#include "ds_enc.h"

#include "ds_dns_names.h"
#include "ds_err.h"
#include "ds_pb.h"

#define PUT_LIT(b, s) ds_buf_append((b), (s), sizeof(s) - 1)

static const char hex_digits[] = "0123456789abcdef";

/* 0: copy as is; 1: escape; 2: first byte of a multi-byte UTF-8 sequence or invalid. */
#define R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const uint8_t json_class[256] = {
    R16(1), R16(1),                                 /* 0x00-0x1f: control characters */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x22 '"' */
    R16(0), R16(0),
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x5c '\\' */
    R16(0), R16(0),
    R16(2), R16(2), R16(2), R16(2), R16(2), R16(2), R16(2), R16(2), /* 0x80-0xff */
};
#undef R16

/* Length of the valid UTF-8 sequence at s (n bytes left, s[0] >= 0x80), 0 if invalid
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

/* The body of a JSON string (no quotes).  Invalid UTF-8: each offending byte becomes
 * U+FFFD, so the output is always valid UTF-8 JSON. */
static void put_escaped(struct ds_buf *b, const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && json_class[s[run]] == 0)
            run++;
        if (run > i) {
            ds_buf_append(b, s + i, run - i);
            i = run;
            if (i == n)
                break;
        }
        uint8_t c = s[i];
        if (json_class[c] == 2) {
            size_t l = utf8_seq_len(s + i, n - i);
            if (l) {
                ds_buf_append(b, s + i, l);
                i += l;
            } else {
                PUT_LIT(b, "\xef\xbf\xbd");
                i++;
            }
            continue;
        }
        char e[6] = {'\\', 0, 0, 0, 0, 0};
        size_t el = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            e[1] = 'u';
            e[2] = '0';
            e[3] = '0';
            e[4] = hex_digits[c >> 4];
            e[5] = hex_digits[c & 15];
            el = 6;
            break;
        }
        ds_buf_append(b, e, el);
        i++;
    }
}

static void put_str(struct ds_buf *b, const uint8_t *s, size_t n)
{
    ds_buf_putc(b, '"');
    put_escaped(b, s, n);
    ds_buf_putc(b, '"');
}

static void put_cstr(struct ds_buf *b, const char *s)
{
    put_str(b, (const uint8_t *)s, strlen(s));
}

static void put_hex(struct ds_buf *b, const uint8_t *s, size_t n)
{
    ds_buf_grow(b, 2 * n + 2);
    uint8_t *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        *o++ = (uint8_t)hex_digits[s[i] >> 4];
        *o++ = (uint8_t)hex_digits[s[i] & 15];
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
}

/* An address of 4 or 16 bytes as text; any other length as hex. */
static void put_addr(struct ds_buf *b, const uint8_t *s, size_t n)
{
    char t[DS_DNS_ADDR_TEXT_MAX];
    size_t l = ds_dns_addr_text(s, n, t);
    if (!l && n) {
        put_hex(b, s, n);
        return;
    }
    ds_buf_putc(b, '"');
    ds_buf_append(b, t, l);
    ds_buf_putc(b, '"');
}

/* An enum as its name, or the number as a string when the value has no name. */
static void put_enum(struct ds_buf *b, const char *name, uint64_t v)
{
    ds_buf_putc(b, '"');
    if (name)
        ds_buf_puts(b, name);
    else
        ds_dns_put_u64(b, v);
    ds_buf_putc(b, '"');
}

static void put_bool(struct ds_buf *b, bool v)
{
    if (v)
        PUT_LIT(b, "true");
    else
        PUT_LIT(b, "false");
}

static void put_time(struct ds_buf *b, uint32_t sec, uint32_t usec)
{
    ds_buf_putc(b, '"');
    ds_dns_put_rfc3339_us(b, (uint64_t)sec * 1000000u + usec);
    ds_buf_putc(b, '"');
}

/* Opens an object member: the separator ('{' before the first member, ',' after) and the
 * literal "key": text. */
#define PUT_KEY(b, sep, lit)       \
    do {                           \
        ds_buf_putc((b), (sep));   \
        (sep) = ',';               \
        PUT_LIT((b), lit);         \
    } while (0)

/* Closes an object that PUT_KEY members opened (or writes {} when there were none). */
static void put_close(struct ds_buf *b, char sep)
{
    if (sep == '{')
        ds_buf_putc(b, '{');
    ds_buf_putc(b, '}');
}

#define SPAN(p, s) ((p) + (s).off), ((s).len)

/* rdata in readable form: addresses for A/AAAA, text for name and TXT types, else hex. */
static void put_rdata(struct ds_buf *b, const uint8_t *p, const struct ds_pb_rr *rr)
{
    const uint8_t *d = p + rr->rdata.off;
    size_t n = rr->rdata.len;
    switch (rr->type) {
    case 1: /* A */
    case 28: /* AAAA */
        if (n == (rr->type == 1 ? 4u : 16u)) {
            put_addr(b, d, n);
            return;
        }
        break;
    case 2:  /* NS */
    case 5:  /* CNAME */
    case 12: /* PTR */
    case 15: /* MX: the exchange only */
    case 16: /* TXT: presentation text, quotes included */
    case 33: /* SRV: the target only */
    case 99: /* SPF */
        put_str(b, d, n);
        return;
    default:
        break;
    }
    put_hex(b, d, n);
}

static int put_rrs(struct ds_buf *b, const uint8_t *p, size_t len, const struct ds_pb_msg *m)
{
    struct ds_pb_iter it;
    struct ds_pb_span item;
    struct ds_pb_rr rr;
    char asep = '[';
    ds_pb_iter_rrs(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        if (ds_pb_rr_decode(p, item, &rr) != DS_OK)
            return DS_EPROTO;
        ds_buf_putc(b, asep);
        asep = ',';
        char sep = '{';
        if (rr.has & (1u << 1)) {
            PUT_KEY(b, sep, "\"name\":");
            put_str(b, SPAN(p, rr.name));
        }
        if (rr.has & (1u << 2)) {
            PUT_KEY(b, sep, "\"type\":\"");
            ds_dns_put_qtype(b, rr.type);
            ds_buf_putc(b, '"');
        }
        if (rr.has & (1u << 3)) {
            PUT_KEY(b, sep, "\"class\":\"");
            ds_dns_put_class(b, rr.rclass);
            ds_buf_putc(b, '"');
        }
        if (rr.has & (1u << 4)) {
            PUT_KEY(b, sep, "\"ttl\":");
            ds_dns_put_u64(b, rr.ttl);
        }
        if (rr.has & (1u << 5)) {
            PUT_KEY(b, sep, "\"rdata\":");
            put_rdata(b, p, &rr);
        }
        if (rr.has & (1u << 6)) {
            PUT_KEY(b, sep, "\"udr\":");
            put_bool(b, rr.udr);
        }
        put_close(b, sep);
    }
    if (asep == '[')
        ds_buf_putc(b, '[');
    ds_buf_putc(b, ']');
    return DS_OK;
}

static int put_response(struct ds_buf *b, const uint8_t *p, size_t len, const struct ds_pb_msg *m)
{
    uint32_t h = m->r_has;
    char sep = '{';
    PUT_LIT(b, ",\"response\":");
    if (h & (1u << DS_PB_R_RCODE)) {
        PUT_KEY(b, sep, "\"rcode\":\"");
        ds_dns_put_rcode(b, m->rcode);
        ds_buf_putc(b, '"');
    }
    if (m->rr_count) {
        PUT_KEY(b, sep, "\"rrs\":");
        if (put_rrs(b, p, len, m) != DS_OK)
            return DS_EPROTO;
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY)) {
        PUT_KEY(b, sep, "\"appliedPolicy\":");
        put_str(b, SPAN(p, m->applied_policy));
    }
    if (m->tag_count) {
        struct ds_pb_iter it;
        struct ds_pb_span item;
        char tsep = '[';
        PUT_KEY(b, sep, "\"tags\":");
        ds_pb_iter_tags(&it, p, len, m);
        while (ds_pb_iter_next(&it, &item)) {
            ds_buf_putc(b, tsep);
            put_str(b, SPAN(p, item));
            tsep = ',';
        }
        if (tsep == '[')
            ds_buf_putc(b, '[');
        ds_buf_putc(b, ']');
    }
    if (h & (1u << DS_PB_R_QUERY_TIME_SEC)) {
        PUT_KEY(b, sep, "\"queryTime\":");
        put_time(b, m->query_time_sec, m->query_time_usec);
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY_TYPE)) {
        PUT_KEY(b, sep, "\"appliedPolicyType\":");
        put_enum(b, ds_dns_pb_policy_type_name(m->applied_policy_type), m->applied_policy_type);
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY_TRIGGER)) {
        PUT_KEY(b, sep, "\"appliedPolicyTrigger\":");
        put_str(b, SPAN(p, m->applied_policy_trigger));
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY_HIT)) {
        PUT_KEY(b, sep, "\"appliedPolicyHit\":");
        put_str(b, SPAN(p, m->applied_policy_hit));
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY_KIND)) {
        PUT_KEY(b, sep, "\"appliedPolicyKind\":");
        put_enum(b, ds_dns_pb_policy_kind_name(m->applied_policy_kind), m->applied_policy_kind);
    }
    if (h & (1u << DS_PB_R_VALIDATION_STATE)) {
        PUT_KEY(b, sep, "\"validationState\":");
        put_enum(b, ds_dns_pb_vstate_name(m->validation_state), m->validation_state);
    }
    put_close(b, sep);
    return DS_OK;
}

static int put_meta(struct ds_buf *b, const uint8_t *p, size_t len, const struct ds_pb_msg *m)
{
    struct ds_pb_iter it;
    struct ds_pb_span item;
    char sep = '{';
    PUT_LIT(b, ",\"meta\":");
    ds_pb_iter_meta(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        struct ds_pb_meta meta;
        struct ds_pb_metaval_iter vi;
        if (ds_pb_meta_decode(p, item, &meta) != DS_OK)
            return DS_EPROTO;
        ds_buf_putc(b, sep);
        sep = ',';
        put_str(b, SPAN(p, meta.key));
        PUT_LIT(b, ":{");
        if (meta.n_str) {
            struct ds_pb_span s;
            char vsep = '[';
            PUT_LIT(b, "\"stringVal\":");
            ds_pb_metaval_iter_init(&vi, p, &meta);
            while (ds_pb_metaval_next_str(&vi, &s)) {
                ds_buf_putc(b, vsep);
                put_str(b, SPAN(p, s));
                vsep = ',';
            }
            ds_buf_putc(b, ']');
        }
        if (meta.n_int) {
            int64_t v;
            char vsep = '[';
            if (meta.n_str)
                ds_buf_putc(b, ',');
            PUT_LIT(b, "\"intVal\":");
            ds_pb_metaval_iter_init(&vi, p, &meta);
            while (ds_pb_metaval_next_int(&vi, &v)) {
                ds_buf_putc(b, vsep);
                ds_dns_put_i64(b, v);
                vsep = ',';
            }
            ds_buf_putc(b, ']');
        }
        ds_buf_putc(b, '}');
    }
    if (sep == '{')
        ds_buf_putc(b, '{');
    ds_buf_putc(b, '}');
    return DS_OK;
}

static int put_trace(struct ds_buf *b, const uint8_t *p, size_t len, const struct ds_pb_msg *m)
{
    struct ds_pb_iter it;
    struct ds_pb_span item;
    char sep = '[';
    PUT_LIT(b, ",\"trace\":");
    ds_pb_iter_trace(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        struct ds_pb_event ev;
        if (ds_pb_event_decode(p, item, &ev) != DS_OK)
            return DS_EPROTO;
        ds_buf_putc(b, sep);
        sep = ',';
        /* ts, event and start are required, so the object never starts with ',' */
        PUT_LIT(b, "{\"ts\":");
        ds_dns_put_i64(b, ev.ts);
        PUT_LIT(b, ",\"event\":");
        put_enum(b, ds_dns_pb_event_name(ev.event), ev.event);
        PUT_LIT(b, ",\"start\":");
        put_bool(b, ev.start);
        if (ev.has & (1u << 4)) {
            PUT_LIT(b, ",\"boolVal\":");
            put_bool(b, ev.bool_val);
        }
        if (ev.has & (1u << 5)) {
            PUT_LIT(b, ",\"intVal\":");
            ds_dns_put_i64(b, ev.int_val);
        }
        if (ev.has & (1u << 6)) {
            PUT_LIT(b, ",\"stringVal\":");
            put_str(b, SPAN(p, ev.string_val));
        }
        if (ev.has & (1u << 7)) {
            PUT_LIT(b, ",\"bytesVal\":");
            put_hex(b, SPAN(p, ev.bytes_val));
        }
        if (ev.has & (1u << 8)) {
            PUT_LIT(b, ",\"custom\":");
            put_str(b, SPAN(p, ev.custom));
        }
        ds_buf_putc(b, '}');
    }
    if (sep == '[')
        ds_buf_putc(b, '[');
    ds_buf_putc(b, ']');
    return DS_OK;
}

static void put_header(struct ds_buf *b, const struct ds_rec *rec, const struct ds_enc_ctx *ctx)
{
    PUT_LIT(b, "{\"seq\":");
    ds_dns_put_u64(b, rec->seq);
    if (ctx && ctx->instance) {
        PUT_LIT(b, ",\"instance\":");
        put_cstr(b, ctx->instance);
    }
    PUT_LIT(b, ",\"captured\":\"");
    ds_dns_put_rfc3339_us(b, rec->time_us);
    ds_buf_putc(b, '"');
}

static int enc_metrics(struct ds_buf *out, const struct ds_rec *rec, const struct ds_enc_ctx *ctx)
{
    if (!rec->data || rec->len == 0)
        return DS_EPROTO;
    ds_buf_grow(out, rec->len + 128);
    put_header(out, rec, ctx);
    PUT_LIT(out, ",\"type\":\"metrics\",\"metrics\":");
    ds_buf_append(out, rec->data, rec->len);
    ds_buf_putc(out, '}');
    return DS_OK;
}

#define HAS(m, f) (((m)->has >> (f)) & 1u)

int ds_enc_json(struct ds_buf *out, const struct ds_rec *rec, const struct ds_enc_ctx *ctx)
{
    if (rec->kind == DS_REC_METRICS)
        return enc_metrics(out, rec, ctx);
    if (rec->kind != DS_REC_PDNS)
        return DS_ENOTSUP;

    const uint8_t *p = rec->data;
    size_t len = rec->len;
    struct ds_pb_msg m;
    if (ds_pb_scan(p, len, &m) != DS_OK)
        return DS_EPROTO;

    size_t start = out->len;
    int rc = DS_OK;
    struct ds_buf *b = out;
    ds_buf_grow(b, 2 * len + 256); /* a typical event fits without regrowing */

    put_header(b, rec, ctx);
    PUT_LIT(b, ",\"type\":");
    put_enum(b, ds_dns_pb_type_name(m.type), m.type);
    if (HAS(&m, DS_PB_MESSAGE_ID)) {
        PUT_LIT(b, ",\"messageId\":");
        put_hex(b, SPAN(p, m.message_id));
    }
    if (HAS(&m, DS_PB_SERVER_IDENTITY)) {
        PUT_LIT(b, ",\"serverIdentity\":");
        put_str(b, SPAN(p, m.server_identity));
    }
    if (HAS(&m, DS_PB_SOCKET_FAMILY)) {
        PUT_LIT(b, ",\"socketFamily\":");
        put_enum(b, ds_dns_pb_family_name(m.socket_family), m.socket_family);
    }
    if (HAS(&m, DS_PB_SOCKET_PROTOCOL)) {
        PUT_LIT(b, ",\"socketProtocol\":");
        put_enum(b, ds_dns_pb_protocol_name(m.socket_protocol), m.socket_protocol);
    }
    if (HAS(&m, DS_PB_FROM)) {
        PUT_LIT(b, ",\"from\":");
        put_addr(b, SPAN(p, m.from));
    }
    if (HAS(&m, DS_PB_TO)) {
        PUT_LIT(b, ",\"to\":");
        put_addr(b, SPAN(p, m.to));
    }
    if (HAS(&m, DS_PB_FROM_PORT)) {
        PUT_LIT(b, ",\"fromPort\":");
        ds_dns_put_u64(b, m.from_port);
    }
    if (HAS(&m, DS_PB_TO_PORT)) {
        PUT_LIT(b, ",\"toPort\":");
        ds_dns_put_u64(b, m.to_port);
    }
    if (HAS(&m, DS_PB_IN_BYTES)) {
        PUT_LIT(b, ",\"inBytes\":");
        ds_dns_put_u64(b, m.in_bytes);
    }
    if (HAS(&m, DS_PB_TIME_SEC)) {
        PUT_LIT(b, ",\"time\":");
        put_time(b, m.time_sec, m.time_usec);
    }
    if (HAS(&m, DS_PB_ID)) {
        PUT_LIT(b, ",\"id\":");
        ds_dns_put_u64(b, m.id);
    }
    if (HAS(&m, DS_PB_QUESTION)) {
        char sep = '{';
        PUT_LIT(b, ",\"question\":");
        if (m.q_has & (1u << DS_PB_Q_NAME)) {
            PUT_KEY(b, sep, "\"qName\":");
            put_str(b, SPAN(p, m.qname));
        }
        if (m.q_has & (1u << DS_PB_Q_TYPE)) {
            PUT_KEY(b, sep, "\"qType\":\"");
            ds_dns_put_qtype(b, m.qtype);
            ds_buf_putc(b, '"');
        }
        if (m.q_has & (1u << DS_PB_Q_CLASS)) {
            PUT_KEY(b, sep, "\"qClass\":\"");
            ds_dns_put_class(b, m.qclass);
            ds_buf_putc(b, '"');
        }
        put_close(b, sep);
    }
    if (HAS(&m, DS_PB_RESPONSE) && put_response(b, p, len, &m) != DS_OK)
        rc = DS_EPROTO;
    if (HAS(&m, DS_PB_ORIGINAL_REQUESTOR_SUBNET)) {
        PUT_LIT(b, ",\"originalRequestorSubnet\":");
        put_addr(b, SPAN(p, m.original_requestor_subnet));
    }
    if (HAS(&m, DS_PB_REQUESTOR_ID)) {
        PUT_LIT(b, ",\"requestorId\":");
        put_str(b, SPAN(p, m.requestor_id));
    }
    if (HAS(&m, DS_PB_INITIAL_REQUEST_ID)) {
        PUT_LIT(b, ",\"initialRequestId\":");
        put_hex(b, SPAN(p, m.initial_request_id));
    }
    if (HAS(&m, DS_PB_DEVICE_ID)) {
        PUT_LIT(b, ",\"deviceId\":");
        put_hex(b, SPAN(p, m.device_id));
    }
    if (HAS(&m, DS_PB_NEWLY_OBSERVED_DOMAIN)) {
        PUT_LIT(b, ",\"newlyObservedDomain\":");
        put_bool(b, m.newly_observed_domain);
    }
    if (HAS(&m, DS_PB_DEVICE_NAME)) {
        PUT_LIT(b, ",\"deviceName\":");
        put_str(b, SPAN(p, m.device_name));
    }
    if (m.meta_count && put_meta(b, p, len, &m) != DS_OK)
        rc = DS_EPROTO;
    if (m.trace_count && put_trace(b, p, len, &m) != DS_OK)
        rc = DS_EPROTO;
    if (HAS(&m, DS_PB_HTTP_VERSION)) {
        PUT_LIT(b, ",\"httpVersion\":");
        put_enum(b, ds_dns_pb_http_name(m.http_version), m.http_version);
    }
    if (HAS(&m, DS_PB_WORKER_ID)) {
        PUT_LIT(b, ",\"workerId\":");
        ds_dns_put_u64(b, m.worker_id);
    }
    if (HAS(&m, DS_PB_PACKET_CACHE_HIT)) {
        PUT_LIT(b, ",\"packetCacheHit\":");
        put_bool(b, m.packet_cache_hit);
    }
    if (HAS(&m, DS_PB_OUTGOING_QUERIES)) {
        PUT_LIT(b, ",\"outgoingQueries\":");
        ds_dns_put_u64(b, m.outgoing_queries);
    }
    if (HAS(&m, DS_PB_HEADER_FLAGS)) {
        PUT_LIT(b, ",\"headerFlags\":");
        ds_dns_put_u64(b, m.header_flags);
    }
    if (HAS(&m, DS_PB_EDNS_VERSION)) {
        PUT_LIT(b, ",\"ednsVersion\":");
        ds_dns_put_u64(b, m.edns_version);
    }
    if (HAS(&m, DS_PB_EDE)) {
        PUT_LIT(b, ",\"ede\":");
        ds_dns_put_u64(b, m.ede);
    }
    if (HAS(&m, DS_PB_EDE_TEXT)) {
        PUT_LIT(b, ",\"edeText\":");
        put_str(b, SPAN(p, m.ede_text));
    }
    if (HAS(&m, DS_PB_OPEN_TELEMETRY_TRACE_ID)) {
        PUT_LIT(b, ",\"openTelemetryTraceID\":");
        put_hex(b, SPAN(p, m.open_telemetry_trace_id));
    }
    ds_buf_putc(b, '}');

    if (rc != DS_OK)
        out->len = start; /* nothing appended on error */
    return rc;
}

void ds_enc_json_string(struct ds_buf *out, const char *s) { put_cstr(out, s); }
