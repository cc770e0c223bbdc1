/* ds_pb.c - PBDNSMessage schema tables, validator, scan and the RR and Event decoders (the
 * walks that need only the wire reader are in ds_pb_walk.c).  See ds_pb.h. */
#include "ds_pb.h"

#include <stddef.h>
#include <string.h>

/* ---- the schema, as far as the wire is concerned -------------------------------- */

/* How a known field must look on the wire.  Unknown fields may use any wire type. */
enum pb_kind {
    K_UNK = 0,
    K_VARINT, /* wire type 0: integers, enums, bools */
    K_LEN,    /* wire type 2: strings, bytes */
    K_PACKED, /* repeated integer: wire type 0, or 2 holding packed varints */
    K_MSG_Q,  /* wire type 2 holding a sub-message of this kind ... */
    K_MSG_R,
    K_MSG_RR,
    K_MSG_META,
    K_MSG_MV,
    K_MSG_EV,
};

/* The fields of each message and their kinds (field numbers are contiguous from 1); the
 * second argument is passed through to X. */
#define FIELDS_TOP(X, a)                                                                   \
    X(1, K_VARINT, a) X(2, K_LEN, a) X(3, K_LEN, a) X(4, K_VARINT, a) X(5, K_VARINT, a)     \
    X(6, K_LEN, a) X(7, K_LEN, a) X(8, K_VARINT, a) X(9, K_VARINT, a) X(10, K_VARINT, a)    \
    X(11, K_VARINT, a) X(12, K_MSG_Q, a) X(13, K_MSG_R, a) X(14, K_LEN, a) X(15, K_LEN, a)  \
    X(16, K_LEN, a) X(17, K_LEN, a) X(18, K_VARINT, a) X(19, K_LEN, a) X(20, K_VARINT, a)   \
    X(21, K_VARINT, a) X(22, K_MSG_META, a) X(23, K_MSG_EV, a) X(24, K_VARINT, a)          \
    X(25, K_VARINT, a) X(26, K_VARINT, a) X(27, K_VARINT, a) X(28, K_VARINT, a)            \
    X(29, K_VARINT, a) X(30, K_LEN, a) X(31, K_VARINT, a) X(32, K_LEN, a) X(33, K_LEN, a)
#define FIELDS_Q(X, a) X(1, K_LEN, a) X(2, K_VARINT, a) X(3, K_VARINT, a)
#define FIELDS_R(X, a)                                                                     \
    X(1, K_VARINT, a) X(2, K_MSG_RR, a) X(3, K_LEN, a) X(4, K_LEN, a) X(5, K_VARINT, a)     \
    X(6, K_VARINT, a) X(7, K_VARINT, a) X(8, K_LEN, a) X(9, K_LEN, a) X(10, K_VARINT, a)    \
    X(11, K_VARINT, a)
#define FIELDS_RR(X, a)                                                                    \
    X(1, K_LEN, a) X(2, K_VARINT, a) X(3, K_VARINT, a) X(4, K_VARINT, a) X(5, K_LEN, a)     \
    X(6, K_VARINT, a)
#define FIELDS_META(X, a) X(1, K_LEN, a) X(2, K_MSG_MV, a)
#define FIELDS_MV(X, a) X(1, K_LEN, a) X(2, K_PACKED, a)
#define FIELDS_EV(X, a)                                                                    \
    X(1, K_VARINT, a) X(2, K_VARINT, a) X(3, K_VARINT, a) X(4, K_VARINT, a)                \
    X(5, K_VARINT, a) X(6, K_LEN, a) X(7, K_LEN, a) X(8, K_LEN, a)
/* Required fields (bit n: field n). */
#define REQ_TOP (UINT64_C(1) << 1)
#define REQ_META ((UINT64_C(1) << 1) | (UINT64_C(1) << 2))
#define REQ_EV ((UINT64_C(1) << 1) | (UINT64_C(1) << 2) | (UINT64_C(1) << 3))

/* kind_*[n]: the kind of field n (K_UNK for 0 and past the end). */
#define KIND_ENTRY(n, k, a) [n] = k,
#define COUNT_ENTRY(n, k, a) +1
#define KIND_TABLE(name, FIELDS) \
    static const uint8_t name[1 FIELDS(COUNT_ENTRY, 0)] = {FIELDS(KIND_ENTRY, 0)}
KIND_TABLE(kind_top, FIELDS_TOP);
KIND_TABLE(kind_q, FIELDS_Q);
KIND_TABLE(kind_r, FIELDS_R);
KIND_TABLE(kind_rr, FIELDS_RR);
KIND_TABLE(kind_meta, FIELDS_META);
KIND_TABLE(kind_mv, FIELDS_MV);
KIND_TABLE(kind_ev, FIELDS_EV);

/* What the validator does with a field, by its number and wire type: skip a varint, 8 or 4
 * bytes, or a length-delimited payload (A_LEN), whose body is checked for kinds from
 * K_PACKED on (A_LEN + kind); A_BAD rejects the message.  A_REQ is added for a required
 * field (the walk notes that it was seen). */
enum { A_BAD = 0, A_VARINT, A_I64, A_I32, A_LEN, A_REQ = 0x80 };
/* The kind of field i, as a constant expression. */
#define KIND_SUM(n, k, i) +((n) == (i) ? (k) : 0)
#define KIND_OF(FIELDS, i) (0 FIELDS(KIND_SUM, i))
#define ACT_FOR(k, wt)                                                                     \
    ((wt) == DS_PB_WT_VARINT                                                               \
         ? ((k) == K_UNK || (k) == K_VARINT || (k) == K_PACKED ? A_VARINT : A_BAD)         \
     : (wt) == DS_PB_WT_LEN                                                                \
         ? ((k) == K_VARINT ? A_BAD : (k) == K_UNK || (k) == K_LEN ? A_LEN : A_LEN + (k))  \
     : (wt) == DS_PB_WT_I64 ? ((k) == K_UNK ? A_I64 : A_BAD)                               \
     : (wt) == DS_PB_WT_I32 ? ((k) == K_UNK ? A_I32 : A_BAD)                               \
                            : A_BAD)
#define ACT_AT(FIELDS, REQ, i, wt)                                                         \
    ((i) == 0 ? A_BAD                                                                      \
              : ACT_FOR(KIND_OF(FIELDS, i), wt) |                                          \
                    (ACT_FOR(KIND_OF(FIELDS, i), wt) != A_BAD && ((REQ) >> (i) & 1) ? A_REQ : 0))
#define ACT_ROW(FIELDS, REQ, i)                                                            \
    ACT_AT(FIELDS, REQ, i, 0), ACT_AT(FIELDS, REQ, i, 1), ACT_AT(FIELDS, REQ, i, 2),       \
        ACT_AT(FIELDS, REQ, i, 3), ACT_AT(FIELDS, REQ, i, 4), ACT_AT(FIELDS, REQ, i, 5),   \
        ACT_AT(FIELDS, REQ, i, 6), ACT_AT(FIELDS, REQ, i, 7)
#define ACT_ROWS8(F, R, i)                                                                 \
    ACT_ROW(F, R, i), ACT_ROW(F, R, (i) + 1), ACT_ROW(F, R, (i) + 2), ACT_ROW(F, R, (i) + 3), \
        ACT_ROW(F, R, (i) + 4), ACT_ROW(F, R, (i) + 5), ACT_ROW(F, R, (i) + 6),            \
        ACT_ROW(F, R, (i) + 7)
/* act_*[key], key = field number n << 3 | wire type, for n below 16 (every one-byte key
 * indexes it directly), or below 40 for the top level (33 fields); the last row of 8 stands
 * for every larger field number.  Row 0 (field 0) rejects everything. */
static const uint8_t act_top[40 * 8] = {ACT_ROWS8(FIELDS_TOP, REQ_TOP, 0),
                                       ACT_ROWS8(FIELDS_TOP, REQ_TOP, 8),
                                       ACT_ROWS8(FIELDS_TOP, REQ_TOP, 16),
                                       ACT_ROWS8(FIELDS_TOP, REQ_TOP, 24),
                                       ACT_ROWS8(FIELDS_TOP, REQ_TOP, 32)};
#define ACT_TABLE16(name, FIELDS, REQ) \
    static const uint8_t name[16 * 8] = {ACT_ROWS8(FIELDS, REQ, 0), ACT_ROWS8(FIELDS, REQ, 8)}
ACT_TABLE16(act_q, FIELDS_Q, 0);
ACT_TABLE16(act_r, FIELDS_R, 0);
ACT_TABLE16(act_rr, FIELDS_RR, 0);
ACT_TABLE16(act_meta, FIELDS_META, REQ_META);
ACT_TABLE16(act_mv, FIELDS_MV, 0);
ACT_TABLE16(act_ev, FIELDS_EV, REQ_EV);

struct pb_desc {
    const uint8_t *kind;     /* indexed by field number */
    uint32_t n;              /* entries in kind[] (the highest field number + 1) */
    uint64_t required;       /* bit n: field n is required */
    const uint8_t *act;      /* see act_top */
    uint32_t act_last;       /* the number of the last row of act */
};

#define DESC(kinds, req, acts) {kinds, sizeof(kinds), req, acts, sizeof(acts) / 8 - 1}
static const struct pb_desc pb_descs[] = {
    [K_UNK] = DESC(kind_top, REQ_TOP, act_top), /* slot 0 doubles as PBDNSMessage */
    [K_MSG_Q] = DESC(kind_q, 0, act_q),
    [K_MSG_R] = DESC(kind_r, 0, act_r),
    [K_MSG_RR] = DESC(kind_rr, 0, act_rr),
    [K_MSG_META] = DESC(kind_meta, REQ_META, act_meta),
    [K_MSG_MV] = DESC(kind_mv, 0, act_mv),
    [K_MSG_EV] = DESC(kind_ev, REQ_EV, act_ev),
};
#undef DESC

static int pb_check_packed(const uint8_t *p, uint32_t pos, uint32_t end)
{
    uint64_t v;
    while (pos < end)
        if (ds_pb_varint(p, &pos, end, 10, &v) != DS_OK)
            return DS_EPROTO;
    return DS_OK;
}

/* Checks that every field of p[pos..end) is well formed and that a known field has the wire
 * type its kind needs, and recurses into sub-messages (at most three levels deep: the schema
 * has no recursion).  p[0..lim) is readable (lim >= end): the fast path loads 16 bytes at a
 * time while they lie inside it. */
static int pb_check_msg(const struct pb_desc *d, const uint8_t *p, uint32_t pos, uint32_t end,
                        uint32_t lim);

/* The body of a length-delimited field of kind `kind` at p[body..next). */
static int pb_check_body(uint8_t kind, const uint8_t *p, uint32_t body, uint32_t next,
                         uint32_t lim)
{
    if (kind == K_PACKED)
        return pb_check_packed(p, body, next);
    return pb_check_msg(&pb_descs[kind], p, body, next, lim);
}

/* One field, byte by byte (anything the fast path does not take: the last bytes of the
 * readable region, keys of three or more bytes, varints longer than eight bytes).  Returns
 * the position after the field, or 0 (no field ends at 0) when it is malformed. */
static uint32_t pb_check_step(const struct pb_desc *d, const uint8_t *p, uint32_t pos,
                              uint32_t end, uint32_t lim, uint64_t *seen)
{
    uint64_t key;
    if (p[pos] < 0x80) {
        key = p[pos++];
    } else if (!(pos = ds_pb_varint_at(p, pos, end, 5, &key))) {
        return 0;
    }
    uint64_t num = key >> 3;
    if (num == 0)
        return 0;
    uint8_t kind = num < d->n ? d->kind[num] : K_UNK;
    switch (key & 7) {
    case DS_PB_WT_VARINT: {
        if (kind != K_UNK && kind != K_VARINT && kind != K_PACKED)
            return 0;
        uint32_t stop = end - pos > 10 ? pos + 10 : end;
        while (pos < stop && (p[pos] & 0x80))
            pos++;
        if (pos == stop)
            return 0;
        pos++;
        break;
    }
    case DS_PB_WT_LEN: {
        uint64_t len;
        if (pos < end && p[pos] < 0x80)
            len = p[pos++];
        else if (pos >= end || !(pos = ds_pb_varint_at(p, pos, end, 5, &len)))
            return 0;
        if (len > end - pos || kind == K_VARINT)
            return 0;
        uint32_t body = pos;
        pos += (uint32_t)len;
        if (kind >= K_PACKED && pb_check_body(kind, p, body, pos, lim) != DS_OK)
            return 0;
        break;
    }
    case DS_PB_WT_I64:
        if (kind != K_UNK || end - pos < 8)
            return 0;
        pos += 8;
        break;
    case DS_PB_WT_I32:
        if (kind != K_UNK || end - pos < 4)
            return 0;
        pos += 4;
        break;
    default:
        return 0;
    }
    if (num < 64)
        *seen |= (uint64_t)1 << num;
    return pos;
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PB_FAST 1
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
#else
#define PB_FAST 0
#endif
#define PB_COPY_MAX 1024

/* The validator's own walk: it needs no values, only where each field ends.  While 16
 * bytes can be loaded, a field with a one- or two-byte key, a varint of up to eight bytes
 * or a one- or two-byte length prefix is taken from two 8-byte loads: one table load turns
 * the key into an action (no separate checks of field 0, the table size and the wire type),
 * and the end of a longer varint is the first byte without the continuation bit (no byte
 * loop).  A sub-message is entered without a call (a small stack holds the outer levels;
 * the schema nests two levels below the top).  Everything else goes through pb_check_step,
 * which accepts the same. */
static int pb_check_msg(const struct pb_desc *d, const uint8_t *p, uint32_t pos, uint32_t end,
                        uint32_t lim)
{
    uint64_t seen = 0;
#if PB_FAST
    struct {
        const struct pb_desc *d;
        uint32_t end;
        uint64_t seen;
    } outer[4];
    unsigned depth = 0;
    const uint8_t *act = d->act;
    const uint32_t fast_end = lim >= 16 ? lim - 15 : 0; /* pos < fast_end: 16 bytes readable */
    for (;;) {
        if (pos >= end) {
            if ((seen & d->required) != d->required)
                return DS_EPROTO;
            if (depth == 0)
                return DS_OK;
            depth--;
            d = outer[depth].d;
            end = outer[depth].end;
            seen = outer[depth].seen;
            act = d->act;
            continue;
        }
        if (pos >= fast_end)
            goto step;
        uint64_t w = load_le64(p + pos);
        uint32_t key, klen;
        unsigned a;
        if (!(w & 0x80)) {
            key = (uint32_t)w & 0x7f;
            klen = 1;
            a = act[key]; /* a one-byte key indexes the (at least 16) rows directly */
        } else if (!(w & 0x8000)) {
            key = ((uint32_t)w & 0x7f) | ((uint32_t)(w >> 8) & 0x7f) << 7;
            klen = 2;
            uint32_t num = key >> 3, last = d->act_last;
            a = act[(num < last ? num : last) << 3 | (key & 7)];
        } else {
            goto step;
        }
    again:;
        uint64_t v = load_le64(p + pos + klen);
        if (a == A_VARINT) {
            uint32_t vlen = 1;
            if (v & 0x80) { /* a predicted branch is faster for the common one-byte value */
                uint64_t stops = ~v & 0x8080808080808080ull;
                if (!stops)
                    goto step; /* nine or ten bytes */
                vlen = (uint32_t)(__builtin_ctzll(stops) >> 3) + 1;
            }
            pos += klen + vlen;
            if (pos > end)
                return DS_EPROTO;
            continue;
        }
        if (a >= A_LEN) {
            if (a & A_REQ) {
                seen |= (uint64_t)1 << (key >> 3); /* required fields are below 64 */
                a &= ~(unsigned)A_REQ;
                goto again;
            }
            uint64_t len;
            uint32_t body;
            if (!(v & 0x80)) {
                len = v & 0x7f;
                body = pos + klen + 1;
            } else if (!(v & 0x8000)) {
                len = (v & 0x7f) | (v >> 1 & 0x3f80);
                body = pos + klen + 2;
            } else {
                goto step;
            }
            if (body + len > end)
                return DS_EPROTO;
            pos = body + (uint32_t)len;
            if (a == A_LEN)
                continue;
            if (a == A_LEN + K_PACKED) {
                if (pb_check_packed(p, body, pos) != DS_OK)
                    return DS_EPROTO;
                continue;
            }
            outer[depth].d = d;
            outer[depth].end = end;
            outer[depth].seen = seen;
            depth++;
            d = &pb_descs[a - A_LEN];
            act = d->act;
            end = pos;
            pos = body;
            seen = 0;
            continue;
        }
    step:
        if (!(pos = pb_check_step(d, p, pos, end, lim, &seen)))
            return DS_EPROTO;
    }
#else
    while (pos < end)
        if (!(pos = pb_check_step(d, p, pos, end, lim, &seen)))
            return DS_EPROTO;
    return (seen & d->required) == d->required ? DS_OK : DS_EPROTO;
#endif
}

#if PB_FAST
/* What the fast paths walk for p[0..len) (len <= PB_COPY_MAX), which load up to 16 bytes
 * past a field's start: p itself when the caller has 16 readable bytes after it, else
 * copy (PB_COPY_MAX + 16 bytes) holding the message and 16 zeros.  Copying a typical
 * frame, about 120 bytes, costs less than walking its last 16 bytes slowly. */
static const uint8_t *walkable(const uint8_t *p, size_t len, size_t lim, uint8_t *copy)
{
    if (lim >= len + 16)
        return p;
    memcpy(copy, p, len);
    memset(copy + len, 0, 16);
    return copy;
}
#endif

int ds_pb_validate_lim(const uint8_t *p, size_t len, size_t lim)
{
    if (!p && len)
        return DS_EPROTO;
    if (len > UINT32_MAX)
        return DS_EPROTO;
#if PB_FAST
    if (len && len <= PB_COPY_MAX) {
        uint8_t copy[PB_COPY_MAX + 16];
        return pb_check_msg(&pb_descs[K_UNK], walkable(p, len, lim, copy), 0, (uint32_t)len,
                            (uint32_t)len + 16);
    }
#else
    (void)lim;
#endif
    return pb_check_msg(&pb_descs[K_UNK], p, 0, (uint32_t)len, (uint32_t)len);
}

int ds_pb_validate(const uint8_t *p, size_t len)
{
    return ds_pb_validate_lim(p, len, len);
}

/* ---- scan ------------------------------------------------------------------------ */

/* Reads the field at p[*pos..end) (*pos < end) of a message with the action table act
 * (act_last of its descriptor: last): one table load checks field 0, the wire type of a
 * known field and the wire types nobody may use.
 * Returns the field's action without A_REQ (A_BAD: malformed), fills f as ds_pb_next()
 * does (v: the value of a varint; data: the payload of a length-delimited field, or the
 * varint's bytes) and advances *pos. */
DS_PB_INLINE unsigned pb_read_field(const uint8_t *act, uint32_t last, const uint8_t *p,
                                    uint32_t *pos, uint32_t end, struct ds_pb_field *f)
{
    uint32_t i = *pos;
    uint64_t key, v;
    if (p[i] < 0x80)
        key = p[i++];
    else if (!(i = ds_pb_varint_at(p, i, end, 5, &key)))
        return A_BAD;
    uint64_t num = key >> 3;
    unsigned wt = (unsigned)key & 7;
    unsigned a = act[(num < last ? num : last) << 3 | wt] & ~(unsigned)A_REQ;
    uint32_t off = i;
    if (a == A_VARINT) {
        if (i < end && p[i] < 0x80)
            v = p[i++];
        else if (i >= end || !(i = ds_pb_varint_at(p, i, end, 10, &v)))
            return A_BAD;
        f->v = v;
        f->data.off = off;
        f->data.len = i - off;
    } else if (a >= A_LEN) {
        if (i < end && p[i] < 0x80)
            v = p[i++];
        else if (i >= end || !(i = ds_pb_varint_at(p, i, end, 5, &v)))
            return A_BAD;
        if (v > end - i)
            return A_BAD;
        f->v = 0;
        f->data.off = i;
        f->data.len = (uint32_t)v;
        i += (uint32_t)v;
    } else if (a == A_I64 || a == A_I32) {
        uint32_t n = a == A_I64 ? 8 : 4;
        if (end - i < n)
            return A_BAD;
        f->v = 0; /* only unknown fields have these wire types: the value is never used */
        f->data.off = i;
        f->data.len = n;
        i += n;
    } else {
        return A_BAD;
    }
    f->num = (uint32_t)num;
    f->wt = wt;
    *pos = i;
    return a;
}


/* What the scan does with a field, by key (field number << 3 | wire type): store a varint
 * as a 32- or 64-bit integer or a bool, store a payload's span, enter or check a
 * sub-message, count a repeated part, or skip an unknown field.  0 (F_BAD) is a known
 * field with the wrong wire type, field 0, or a group.  One table per message kind is
 * the only place that maps field numbers to members of struct ds_pb_msg. */
enum {
    F_BAD = 0,
    F_VSKIP, F_U32, F_U64, F_BOOL,                          /* wire type 0 */
    F_LSKIP, F_SPAN, F_Q, F_R, F_RR, F_TAG, F_META, F_TRACE, /* wire type 2 */
    F_SKIP8, F_SKIP4,                                       /* wire types 1 and 5 */
};
struct fent {
    uint8_t op;
    uint8_t bit; /* the has bit: the field number, 63 for an unknown field */
    uint16_t off; /* offsetof the member in struct ds_pb_msg */
};
#define MOFF(member) ((uint16_t)offsetof(struct ds_pb_msg, member))
#define FV(n, op, member) [(n) * 8 + DS_PB_WT_VARINT] = {op, n, MOFF(member)}
#define FL(n, op, member) [(n) * 8 + DS_PB_WT_LEN] = {op, n, MOFF(member)}
#define FX(n, op) [(n) * 8 + DS_PB_WT_LEN] = {op, n, 0}
#define FUNK(n)                                                                           \
    [(n) * 8 + DS_PB_WT_VARINT] = {F_VSKIP, 63, 0}, [(n) * 8 + DS_PB_WT_I64] = {F_SKIP8, 63, 0}, \
    [(n) * 8 + DS_PB_WT_LEN] = {F_LSKIP, 63, 0}, [(n) * 8 + DS_PB_WT_I32] = {F_SKIP4, 63, 0}
/* Rows 34..39 are unknown numbers; row 39 stands for every number from 39 on. */
#define FTOP_ROWS 40
static const struct fent ftop[FTOP_ROWS * 8] = {
    FV(1, F_U32, type), FL(2, F_SPAN, message_id), FL(3, F_SPAN, server_identity),
    FV(4, F_U32, socket_family), FV(5, F_U32, socket_protocol), FL(6, F_SPAN, from),
    FL(7, F_SPAN, to), FV(8, F_U64, in_bytes), FV(9, F_U32, time_sec),
    FV(10, F_U32, time_usec), FV(11, F_U32, id), FX(12, F_Q), FX(13, F_R),
    FL(14, F_SPAN, original_requestor_subnet), FL(15, F_SPAN, requestor_id),
    FL(16, F_SPAN, initial_request_id), FL(17, F_SPAN, device_id),
    FV(18, F_BOOL, newly_observed_domain), FL(19, F_SPAN, device_name),
    FV(20, F_U32, from_port), FV(21, F_U32, to_port), FX(22, F_META), FX(23, F_TRACE),
    FV(24, F_U32, http_version), FV(25, F_U64, worker_id), FV(26, F_BOOL, packet_cache_hit),
    FV(27, F_U32, outgoing_queries), FV(28, F_U32, header_flags), FV(29, F_U32, edns_version),
    FL(30, F_SPAN, open_telemetry_data), FV(31, F_U32, ede), FL(32, F_SPAN, ede_text),
    FL(33, F_SPAN, open_telemetry_trace_id),
    FUNK(34), FUNK(35), FUNK(36), FUNK(37), FUNK(38), FUNK(39),
};
/* DNSQuestion and DNSResponse: 16 rows, row 15 for every number from 15 on. */
#define FSUB_ROWS 16
static const struct fent fq[FSUB_ROWS * 8] = {
    FL(1, F_SPAN, qname), FV(2, F_U32, qtype), FV(3, F_U32, qclass),
    FUNK(4), FUNK(5), FUNK(6), FUNK(7), FUNK(8), FUNK(9), FUNK(10), FUNK(11),
    FUNK(12), FUNK(13), FUNK(14), FUNK(15),
};
static const struct fent fr[FSUB_ROWS * 8] = {
    FV(1, F_U32, rcode), FX(2, F_RR), FL(3, F_SPAN, applied_policy), FX(4, F_TAG),
    FV(5, F_U32, query_time_sec), FV(6, F_U32, query_time_usec),
    FV(7, F_U32, applied_policy_type), FL(8, F_SPAN, applied_policy_trigger),
    FL(9, F_SPAN, applied_policy_hit), FV(10, F_U32, applied_policy_kind),
    FV(11, F_U32, validation_state),
    FUNK(12), FUNK(13), FUNK(14), FUNK(15),
};
#undef FV
#undef FL
#undef FX
#undef FUNK
#undef MOFF

/* Walks the fields of p[pos..end) with table tab (rows rows: the last one stands for every
 * larger field number) and stores what it says into m; the has bits seen are ORed into
 * *has.  RRs, meta and trace entries are checked with pb_check_msg (p[0..lim) readable).
 *
 * fast: p[0..end + 16) is readable, and a field is read with two 8-byte loads (a one- or
 * two-byte key; a varint of up to eight bytes, decoded from one word; a one- or two-byte
 * length prefix).  Anything else, and anything malformed, returns SCAN_RETRY: the caller
 * walks again with fast false, which reads every field with ds_pb_next and alone decides
 * what is rejected (DS_EPROTO). */
#define SCAN_RETRY 1
DS_PB_INLINE int scan_walk(bool fast, const uint8_t *p, uint32_t pos, uint32_t end,
                           uint32_t lim, const struct fent *tab, uint32_t rows,
                           struct ds_pb_msg *m, uint64_t *has);

static int scan_walk_fast(const uint8_t *p, uint32_t pos, uint32_t end, uint32_t lim,
                          const struct fent *tab, uint32_t rows, struct ds_pb_msg *m,
                          uint64_t *has)
{
    return scan_walk(true, p, pos, end, lim, tab, rows, m, has);
}

static int scan_walk_generic(const uint8_t *p, uint32_t pos, uint32_t end, uint32_t lim,
                             const struct fent *tab, uint32_t rows, struct ds_pb_msg *m,
                             uint64_t *has)
{
    return scan_walk(false, p, pos, end, lim, tab, rows, m, has);
}

/* A field that is more than a store: a question or response (walked), an RR, meta or trace
 * entry (checked), a tag (counted).  at: where the field starts; first: its first
 * occurrence at this level.  DS_OK, or nonzero when it is malformed. */
static int scan_part(bool fast, unsigned op, const uint8_t *p, uint32_t at, uint32_t body,
                     uint32_t end, uint32_t lim, bool first, struct ds_pb_msg *m)
{
    int (*walk)(const uint8_t *, uint32_t, uint32_t, uint32_t, const struct fent *, uint32_t,
                struct ds_pb_msg *, uint64_t *) = fast ? scan_walk_fast : scan_walk_generic;
    uint64_t sub = 0;
    switch (op) {
    case F_Q:
        if (walk(p, body, end, lim, fq, FSUB_ROWS, m, &sub) != DS_OK)
            return DS_EPROTO;
        m->q_has |= (uint32_t)sub;
        return DS_OK;
    case F_R:
        if (first)
            m->resp_at = at; /* the iterators start at the first occurrence */
        if (walk(p, body, end, lim, fr, FSUB_ROWS, m, &sub) != DS_OK)
            return DS_EPROTO;
        m->r_has |= (uint32_t)sub;
        return DS_OK;
    case F_RR:
        m->rr_count++;
        return pb_check_msg(&pb_descs[K_MSG_RR], p, body, end, lim);
    case F_TAG:
        m->tag_count++;
        return DS_OK;
    case F_META:
        if (m->meta_count++ == 0)
            m->meta_at = at;
        return pb_check_msg(&pb_descs[K_MSG_META], p, body, end, lim);
    default: /* F_TRACE */
        if (m->trace_count++ == 0)
            m->trace_at = at;
        return pb_check_msg(&pb_descs[K_MSG_EV], p, body, end, lim);
    }
}

DS_PB_INLINE int scan_walk(bool fast, const uint8_t *p, uint32_t pos, uint32_t end,
                           uint32_t lim, const struct fent *tab, uint32_t rows,
                           struct ds_pb_msg *m, uint64_t *has)
{
    const int bad = fast ? SCAN_RETRY : DS_EPROTO;
    uint64_t seen = 0;
    char *base = (char *)m;
    while (pos < end) {
        uint32_t at = pos, body = 0, len = 0;
        uint64_t val = 0;
        struct fent e;
#if PB_FAST
        if (fast) {
            uint64_t w = load_le64(p + pos);
            uint32_t key;
            if (!(w & 0x80)) {
                key = (uint32_t)w & 0x7f;
                pos += 1;
            } else if (!(w & 0x8000)) {
                key = ((uint32_t)w & 0x7f) | ((uint32_t)(w >> 1) & 0x3f80);
                pos += 2;
            } else {
                return SCAN_RETRY;
            }
            uint32_t num = key >> 3;
            e = tab[(num < rows ? num : rows - 1) * 8 + (key & 7)];
            uint64_t v = load_le64(p + pos);
            if (e.op == F_BAD) {
                return SCAN_RETRY;
            } else if (e.op <= F_BOOL) {
                if (!(v & 0x80)) {
                    val = v & 0x7f;
                    pos += 1;
                } else {
                    uint64_t stops = ~v & 0x8080808080808080ull;
                    if (!stops)
                        return SCAN_RETRY; /* nine or ten bytes */
                    /* keep the bytes up to the first without the continuation bit (eight:
                     * the mask is all ones) and pack their 7-bit groups in three steps */
                    uint64_t lastbit = stops & (0 - stops);
                    uint64_t x = v & ((lastbit << 1) - 1);
                    x = ((x & 0x7f007f007f007f00ull) >> 1) | (x & 0x007f007f007f007full);
                    x = ((x & 0x3fff00003fff0000ull) >> 2) | (x & 0x00003fff00003fffull);
                    val = ((x & 0x0fffffff00000000ull) >> 4) | (x & 0x000000000fffffffull);
                    pos += (uint32_t)(__builtin_ctzll(stops) >> 3) + 1;
                }
                if (pos > end)
                    return SCAN_RETRY;
            } else if (e.op <= F_TRACE) {
                if (!(v & 0x80)) {
                    len = (uint32_t)v & 0x7f;
                    pos += 1;
                } else if (!(v & 0x8000)) {
                    len = ((uint32_t)v & 0x7f) | ((uint32_t)(v >> 1) & 0x3f80);
                    pos += 2;
                } else {
                    return SCAN_RETRY;
                }
                if (pos > end || len > end - pos)
                    return SCAN_RETRY;
                body = pos;
                pos += len;
            } else {
                uint32_t n = e.op == F_SKIP8 ? 8 : 4;
                if (pos > end || end - pos < n)
                    return SCAN_RETRY;
                pos += n;
            }
        } else
#endif
        {
            struct ds_pb_field f;
            if (ds_pb_next(p, &pos, end, &f) != 1)
                return DS_EPROTO;
            e = tab[(f.num < rows ? f.num : rows - 1) * 8 + f.wt];
            if (e.op == F_BAD)
                return DS_EPROTO;
            val = e.op == F_BOOL ? ds_pb_bool(p, &f) : f.v;
            body = f.data.off;
            len = f.data.len;
        }
        /* the common stores first, as branches: a jump table mispredicts per field */
        if (e.op == F_U32) {
            uint32_t x32 = (uint32_t)val;
            memcpy(base + e.off, &x32, sizeof(x32));
        } else if (e.op == F_SPAN) {
            struct ds_pb_span sp = {body, len};
            memcpy(base + e.off, &sp, sizeof(sp));
        } else if (e.op == F_U64) {
            memcpy(base + e.off, &val, sizeof(val));
        } else if (e.op == F_BOOL) {
            bool b = val != 0; /* fast: at most eight bytes, the same as ds_pb_bool */
            memcpy(base + e.off, &b, sizeof(b));
        } else if (e.op >= F_Q && e.op <= F_TRACE) {
            bool first = !(seen & ((uint64_t)1 << e.bit));
            if (scan_part(fast, e.op, p, at, body, body + len, lim, first, m) != DS_OK)
                return bad;
        }
        seen |= (uint64_t)1 << e.bit;
    }
    *has |= seen & ~((uint64_t)1 << 63);
    return DS_OK;
}

/* One whole scan from scratch: m zeroed, the top level walked, type required. */
static int scan_msg(bool fast, const uint8_t *p, uint32_t len, uint32_t lim,
                    struct ds_pb_msg *m)
{
    *m = (struct ds_pb_msg){0};
    uint64_t has = 0;
    int rc = (fast ? scan_walk_fast : scan_walk_generic)(p, 0, len, lim, ftop, FTOP_ROWS, m,
                                                         &has);
    if (rc != DS_OK)
        return rc;
    m->has = has;
    return (has >> DS_PB_TYPE) & 1 ? DS_OK : (fast ? SCAN_RETRY : DS_EPROTO);
}

int ds__pb_scan_generic(const uint8_t *p, size_t len, struct ds_pb_msg *m)
{
    if ((!p && len) || len > UINT32_MAX) {
        *m = (struct ds_pb_msg){0};
        return DS_EPROTO;
    }
    return scan_msg(false, p, (uint32_t)len, (uint32_t)len, m);
}

int ds_pb_scan_lim(const uint8_t *p, size_t len, size_t lim, struct ds_pb_msg *m)
{
#if PB_FAST
    /* Spans are offsets: from the copy they hold for p as well. */
    if (p && len && len <= PB_COPY_MAX) {
        uint8_t copy[PB_COPY_MAX + 16];
        if (scan_msg(true, walkable(p, len, lim, copy), (uint32_t)len, (uint32_t)len + 16, m) ==
            DS_OK)
            return DS_OK;
    }
#else
    (void)lim;
#endif
    return ds__pb_scan_generic(p, len, m);
}

int ds_pb_scan(const uint8_t *p, size_t len, struct ds_pb_msg *m)
{
    return ds_pb_scan_lim(p, len, len, m);
}

int ds_pb_rr_decode(const uint8_t *p, struct ds_pb_span item, struct ds_pb_rr *rr)
{
    *rr = (struct ds_pb_rr){0};
    const uint8_t *act = pb_descs[K_MSG_RR].act;
    const uint32_t last = pb_descs[K_MSG_RR].act_last;
    uint32_t pos = item.off, end = item.off + item.len;
    struct ds_pb_field f;
    while (pos < end) {
        if (pb_read_field(act, last, p, &pos, end, &f) == A_BAD)
            return DS_EPROTO;
        if (f.num >= 7)
            continue; /* unknown */
        rr->has |= 1u << f.num;
        switch (f.num) {
        case 1: rr->name = f.data; break;
        case 2: rr->type = (uint32_t)f.v; break;
        case 3: rr->rclass = (uint32_t)f.v; break;
        case 4: rr->ttl = (uint32_t)f.v; break;
        case 5: rr->rdata = f.data; break;
        default: rr->udr = ds_pb_bool(p, &f); break;
        }
    }
    return DS_OK;
}

int ds_pb_event_decode(const uint8_t *p, struct ds_pb_span item, struct ds_pb_event *ev)
{
    *ev = (struct ds_pb_event){0};
    const uint8_t *act = pb_descs[K_MSG_EV].act;
    const uint32_t last = pb_descs[K_MSG_EV].act_last;
    uint32_t pos = item.off, end = item.off + item.len;
    struct ds_pb_field f;
    while (pos < end) {
        if (pb_read_field(act, last, p, &pos, end, &f) == A_BAD)
            return DS_EPROTO;
        if (f.num >= 9)
            continue; /* unknown */
        ev->has |= 1u << f.num;
        switch (f.num) {
        case 1: ev->ts = (int64_t)f.v; break;
        case 2: ev->event = (uint32_t)f.v; break;
        case 3: ev->start = ds_pb_bool(p, &f); break;
        case 4: ev->bool_val = ds_pb_bool(p, &f); break;
        case 5: ev->int_val = (int64_t)f.v; break;
        case 6: ev->string_val = f.data; break;
        case 7: ev->bytes_val = f.data; break;
        default: ev->custom = f.data; break;
        }
    }
    return DS_OK;
}
