/*
 * ds_pb.h - a protobuf wire scanner for PowerDNS PBDNSMessage bytes (proto/dnsmessage.proto).
 *
 * Purpose: the hot path never unpacks a message.  ds_pb_validate() checks a frame at the
 * wire level (the same acceptance as protobuf-c's unpack of our schema, see below);
 * ds_pb_scan() validates in the same single pass and fills a flat summary: scalar fields,
 * and byte spans (offset and length into the caller's bytes) of every top-level field,
 * the question, the response scalars and the start of the repeated parts, which small
 * iterators walk on demand.  Nothing allocates, nothing is copied.
 *
 * What is accepted (protobuf rules plus what real senders do): fields in any order;
 * a repeated scalar or string field takes its last value (dnsdist 1.7 writes timeSec and
 * timeUsec twice); a repeated question/response sub-message is merged, as protobuf does;
 * unknown fields of wire types 0, 1, 2 and 5 are skipped; RRs without a name; a query
 * (type 1) with a response sub-message; deviceId written as a string (same wire type).
 * What is rejected (DS_EPROTO): truncated or over-long varints (more than 10 bytes, or
 * more than 5 for tags and length prefixes), lengths past the end, wire types 3, 4, 6,
 * 7, field number 0, a known field with the wrong wire type (e.g. timeSec as bytes),
 * a malformed sub-message (question, response, RR, meta, meta value, trace event) and a
 * missing required field (type; meta key and value; event ts, event and start).
 *
 * Ownership: spans point into the caller's bytes and are valid as long as those are.
 * Threads: no state; any thread may call anything here.
 */
#ifndef DS_PB_H
#define DS_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_err.h"

/* Top-level PBDNSMessage field numbers (bit n of ds_pb_msg.has). */
enum ds_pb_field_num {
    DS_PB_TYPE = 1,
    DS_PB_MESSAGE_ID = 2,
    DS_PB_SERVER_IDENTITY = 3,
    DS_PB_SOCKET_FAMILY = 4,
    DS_PB_SOCKET_PROTOCOL = 5,
    DS_PB_FROM = 6,
    DS_PB_TO = 7,
    DS_PB_IN_BYTES = 8,
    DS_PB_TIME_SEC = 9,
    DS_PB_TIME_USEC = 10,
    DS_PB_ID = 11,
    DS_PB_QUESTION = 12,
    DS_PB_RESPONSE = 13,
    DS_PB_ORIGINAL_REQUESTOR_SUBNET = 14,
    DS_PB_REQUESTOR_ID = 15,
    DS_PB_INITIAL_REQUEST_ID = 16,
    DS_PB_DEVICE_ID = 17,
    DS_PB_NEWLY_OBSERVED_DOMAIN = 18,
    DS_PB_DEVICE_NAME = 19,
    DS_PB_FROM_PORT = 20,
    DS_PB_TO_PORT = 21,
    DS_PB_META = 22,
    DS_PB_TRACE = 23,
    DS_PB_HTTP_VERSION = 24,
    DS_PB_WORKER_ID = 25,
    DS_PB_PACKET_CACHE_HIT = 26,
    DS_PB_OUTGOING_QUERIES = 27,
    DS_PB_HEADER_FLAGS = 28,
    DS_PB_EDNS_VERSION = 29,
    DS_PB_OPEN_TELEMETRY_DATA = 30,
    DS_PB_EDE = 31,
    DS_PB_EDE_TEXT = 32,
    DS_PB_OPEN_TELEMETRY_TRACE_ID = 33,
};

/* DNSQuestion fields (bit n of ds_pb_msg.q_has). */
enum { DS_PB_Q_NAME = 1, DS_PB_Q_TYPE = 2, DS_PB_Q_CLASS = 3 };

/* DNSResponse fields (bit n of ds_pb_msg.r_has). */
enum {
    DS_PB_R_RCODE = 1,
    DS_PB_R_RRS = 2,
    DS_PB_R_APPLIED_POLICY = 3,
    DS_PB_R_TAGS = 4,
    DS_PB_R_QUERY_TIME_SEC = 5,
    DS_PB_R_QUERY_TIME_USEC = 6,
    DS_PB_R_APPLIED_POLICY_TYPE = 7,
    DS_PB_R_APPLIED_POLICY_TRIGGER = 8,
    DS_PB_R_APPLIED_POLICY_HIT = 9,
    DS_PB_R_APPLIED_POLICY_KIND = 10,
    DS_PB_R_VALIDATION_STATE = 11,
};

/* PBDNSMessage.Type values, and the rcode the recursor uses for a network error. */
enum {
    DS_PB_TYPE_QUERY = 1,
    DS_PB_TYPE_RESPONSE = 2,
    DS_PB_TYPE_OUTGOING_QUERY = 3,
    DS_PB_TYPE_INCOMING_RESPONSE = 4,
    DS_PB_TYPE_INTERNAL = 5,
};
#define DS_PB_RCODE_NETWORK_ERROR 65536u

/* A byte range inside the message: p + off, len bytes. */
struct ds_pb_span {
    uint32_t off, len;
};

/* The summary ds_pb_scan() fills.  A field's value is meaningful only when its has bit is
 * set; absent fields read as 0 / empty span. */
struct ds_pb_msg {
    uint64_t has; /* bit n: top-level field n seen (enum ds_pb_field_num) */
    uint32_t type, socket_family, socket_protocol;
    uint32_t time_sec, time_usec, id, from_port, to_port;
    uint32_t http_version, outgoing_queries, header_flags, edns_version, ede;
    uint64_t in_bytes, worker_id;
    bool newly_observed_domain, packet_cache_hit;
    struct ds_pb_span message_id, server_identity, from, to, original_requestor_subnet;
    struct ds_pb_span requestor_id, initial_request_id, device_id, device_name;
    struct ds_pb_span open_telemetry_data, ede_text, open_telemetry_trace_id;

    /* question (field 12), merged over occurrences */
    uint32_t q_has; /* bit n: DNSQuestion field n seen */
    struct ds_pb_span qname;
    uint32_t qtype, qclass;

    /* response (field 13) scalars, merged over occurrences */
    uint32_t r_has; /* bit n: DNSResponse field n seen */
    uint32_t rcode, query_time_sec, query_time_usec;
    uint32_t applied_policy_type, applied_policy_kind, validation_state;
    struct ds_pb_span applied_policy, applied_policy_trigger, applied_policy_hit;

    /* repeated parts: counts, and the offset of the first top-level field that holds them
     * (the tag of the first response for rrs/tags, of the first meta/trace entry) */
    uint32_t rr_count, tag_count, meta_count, trace_count;
    uint32_t resp_at, meta_at, trace_at;
};

static inline bool ds_pb_has(const struct ds_pb_msg *m, unsigned field)
{
    return (m->has >> field) & 1u;
}

/* DS_OK if p[0..len) is a well-formed PBDNSMessage (see the header comment), else
 * DS_EPROTO.  len above UINT32_MAX is DS_EPROTO too. */
int ds_pb_validate(const uint8_t *p, size_t len);

/* Validate and summarise in one pass.  DS_OK, or DS_EPROTO (m is then unspecified). */
int ds_pb_scan(const uint8_t *p, size_t len, struct ds_pb_msg *m);

/* The same, for a caller that knows p[0..lim) is readable and initialised (lim >= len;
 * the bytes after len may be anything, they never change the result).  With 16 bytes to
 * spare the walk runs in place; otherwise, and for messages over 1 KiB, as above (from
 * a padded copy). */
int ds_pb_validate_lim(const uint8_t *p, size_t len, size_t lim);
int ds_pb_scan_lim(const uint8_t *p, size_t len, size_t lim, struct ds_pb_msg *m);

/* Internal, for tests: the scan without its fast path (what ds_pb_scan falls back to for
 * anything the fast path does not take).  Same contract and results as ds_pb_scan. */
int ds__pb_scan_generic(const uint8_t *p, size_t len, struct ds_pb_msg *m);

/* The last top-level `from` (field 6) of a message that passed ds_pb_validate, without a
 * full scan (for the router's client sharding).  DS_OK, DS_ENOTFOUND, or DS_EPROTO. */
int ds_pb_get_from(const uint8_t *p, size_t len, struct ds_pb_span *from);

/* ---- low-level wire reader (also used by the encoders for nested parts) ---------- */

enum { DS_PB_WT_VARINT = 0, DS_PB_WT_I64 = 1, DS_PB_WT_LEN = 2, DS_PB_WT_I32 = 5 };

struct ds_pb_field {
    uint32_t num;           /* field number, >= 1 */
    uint32_t wt;            /* wire type: 0, 1, 2 or 5 */
    uint64_t v;             /* value for wire types 0 (low 64 bits), 1 and 5 (little endian) */
    struct ds_pb_span data; /* wire type 2: the payload; wire type 0: the varint's bytes */
};

/* Reads a varint of at most maxlen bytes starting at p[i], i < end.  Returns the index just
 * past it, or 0 when it is truncated or longer than maxlen (at most 10).  Bits past 64 are dropped
 * (protobuf-c does the same).  Indexes are passed by value so that the compiler can keep
 * them in registers (stores through byte pointers would force reloads). */
#if defined(__GNUC__) || defined(__clang__)
#define DS_PB_INLINE static inline __attribute__((always_inline))
#else
#define DS_PB_INLINE static inline
#endif

DS_PB_INLINE uint32_t ds_pb_varint_at(const uint8_t *p, uint32_t i, uint32_t end,
                                       unsigned maxlen, uint64_t *v)
{
    uint64_t r = 0;
    uint32_t stop = end - i > maxlen ? i + maxlen : end; /* maxlen <= 10: shift <= 63 */
    for (unsigned shift = 0; i < stop; shift += 7) {
        uint8_t b = p[i++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *v = r;
            return i;
        }
    }
    return 0;
}

/* The same with the index in *pos (advanced on success).  DS_OK or DS_EPROTO. */
static inline int ds_pb_varint(const uint8_t *p, uint32_t *pos, uint32_t end, unsigned maxlen,
                               uint64_t *v)
{
    uint32_t i = *pos;
    if (i >= end)
        return DS_EPROTO;
    uint32_t next = ds_pb_varint_at(p, i, end, maxlen, v);
    if (!next)
        return DS_EPROTO;
    *pos = next;
    return DS_OK;
}

/* Reads the next field of the region p[*pos..end) and advances *pos past it.
 * Returns 1 with *f filled, 0 at the end of the region, DS_EPROTO if malformed. */
DS_PB_INLINE int ds_pb_next(const uint8_t *p, uint32_t *pos, uint32_t end, struct ds_pb_field *f)
{
    uint32_t i = *pos;
    if (i >= end)
        return 0;
    uint64_t key, v = 0;
    uint8_t b0 = p[i];
    if (b0 < 0x80) {
        key = b0;
        i++;
    } else if (!(i = ds_pb_varint_at(p, i, end, 5, &key))) {
        return DS_EPROTO;
    }
    uint32_t num = (uint32_t)(key >> 3), wt = (uint32_t)(key & 7);
    if (num == 0)
        return DS_EPROTO;
    uint32_t off = i, len;
    switch (wt) {
    case DS_PB_WT_VARINT:
        if (i < end && p[i] < 0x80) {
            v = p[i];
            i++;
        } else if (i >= end || !(i = ds_pb_varint_at(p, i, end, 10, &v))) {
            return DS_EPROTO;
        }
        len = i - off;
        break;
    case DS_PB_WT_LEN:
        if (i < end && p[i] < 0x80) {
            v = p[i];
            i++;
        } else if (i >= end || !(i = ds_pb_varint_at(p, i, end, 5, &v))) {
            return DS_EPROTO;
        }
        if (v > end - i)
            return DS_EPROTO;
        off = i;
        len = (uint32_t)v;
        i += len;
        v = 0;
        break;
    case DS_PB_WT_I64:
        if (end - i < 8)
            return DS_EPROTO;
        for (int k = 7; k >= 0; k--)
            v = (v << 8) | p[i + (uint32_t)k];
        len = 8;
        i += 8;
        break;
    case DS_PB_WT_I32:
        if (end - i < 4)
            return DS_EPROTO;
        v = (uint64_t)p[i] | (uint64_t)p[i + 1] << 8 | (uint64_t)p[i + 2] << 16 |
            (uint64_t)p[i + 3] << 24;
        len = 4;
        i += 4;
        break;
    default:
        return DS_EPROTO; /* groups (3, 4) and 6, 7 */
    }
    f->num = num;
    f->wt = wt;
    f->v = v;
    f->data.off = off;
    f->data.len = len;
    *pos = i;
    return 1;
}

/* protobuf-c's reading of a bool varint: true when any payload bit is set, even past
 * bit 63 (a plain v != 0 differs only for over-long encodings). */
static inline bool ds_pb_bool(const uint8_t *p, const struct ds_pb_field *f)
{
    for (uint32_t i = 0; i < f->data.len; i++)
        if (p[f->data.off + i] & 0x7f)
            return true;
    return false;
}

/* ---- iterators over the repeated parts of a scanned message ---------------------- */

/* Walks the top-level fields from `pos`; for each occurrence of `parent` (0: the top level
 * itself) yields every `field` inside it, until `left` items were yielded. */
struct ds_pb_iter {
    const uint8_t *p;
    uint32_t pos, end;         /* top-level walk */
    uint32_t in_pos, in_end;   /* inside the current parent occurrence */
    uint32_t parent, field, left;
};

void ds_pb_iter_rrs(struct ds_pb_iter *it, const uint8_t *p, size_t len,
                    const struct ds_pb_msg *m);
void ds_pb_iter_tags(struct ds_pb_iter *it, const uint8_t *p, size_t len,
                     const struct ds_pb_msg *m);
void ds_pb_iter_meta(struct ds_pb_iter *it, const uint8_t *p, size_t len,
                     const struct ds_pb_msg *m);
void ds_pb_iter_trace(struct ds_pb_iter *it, const uint8_t *p, size_t len,
                      const struct ds_pb_msg *m);
/* The next item's payload (an RR, tag string, Meta or Event body).  false when done. */
bool ds_pb_iter_next(struct ds_pb_iter *it, struct ds_pb_span *item);

/* DNSResponse.DNSRR, fields last-wins.  has: bit n = field n seen. */
struct ds_pb_rr {
    uint32_t has;
    struct ds_pb_span name, rdata;
    uint32_t type, rclass, ttl;
    bool udr;
};
int ds_pb_rr_decode(const uint8_t *p, struct ds_pb_span item, struct ds_pb_rr *rr);

/* PBDNSMessage.Event, fields last-wins.  has: bit n = field n seen. */
struct ds_pb_event {
    uint32_t has;
    int64_t ts, int_val;
    uint32_t event;
    bool start, bool_val;
    struct ds_pb_span string_val, bytes_val, custom;
};
int ds_pb_event_decode(const uint8_t *p, struct ds_pb_span item, struct ds_pb_event *ev);

/* PBDNSMessage.Meta: the key (last wins) and its values, which may be spread over
 * several MetaValue occurrences (merged) and, for intVal, packed or not. */
struct ds_pb_meta {
    struct ds_pb_span key;
    uint32_t n_str, n_int;
    struct ds_pb_span body; /* the Meta payload, for the value iterator */
};
int ds_pb_meta_decode(const uint8_t *p, struct ds_pb_span item, struct ds_pb_meta *meta);

struct ds_pb_metaval_iter {
    const uint8_t *p;
    uint32_t pos, end;         /* Meta body */
    uint32_t in_pos, in_end;   /* current MetaValue */
    uint32_t pk_pos, pk_end;   /* current packed intVal run */
};
/* One iterator walks either the strings or the integers: init, then call one of the two
 * next functions until it returns false. */
void ds_pb_metaval_iter_init(struct ds_pb_metaval_iter *it, const uint8_t *p,
                             const struct ds_pb_meta *meta);
bool ds_pb_metaval_next_str(struct ds_pb_metaval_iter *it, struct ds_pb_span *s);
bool ds_pb_metaval_next_int(struct ds_pb_metaval_iter *it, int64_t *v);

#endif
