/*
 * ds_enc_json.c - one JSON object per event (schema: docs/json-schema.md).
 *
 * One ds_pb_scan() pass, then fields are written in a fixed order straight into the
 * caller's buffer.  Room is reserved once for the event and once per repeated item (see
 * event_room()); the fields are then written through a plain pointer with no checks:
 * literal keys as fixed-size copies, numbers, names, times and addresses through the
 * ds_dns_*_at writers (which may use the reserved slack for fixed-size copies), strings
 * through an escaper that checks and copies 8 bytes at a time.  No printf, no allocation beyond growing the caller's
 * buffer.  On a malformed message nothing is appended.
 * Threads: no state of its own (the time text cache in ds_dns_names.c is per thread).
 */
#include "ds_enc.h"

#include "ds_dns_names.h"
#include "ds_err.h"
#include "ds_pb.h"

#if defined(__GNUC__)
#define JSON_INLINE static inline __attribute__((always_inline))
#define JSON_COLD __attribute__((cold, noinline))
#else
#define JSON_INLINE static inline
#define JSON_COLD
#endif

/* ---- room and literals -------------------------------------------------------------- */

/* How much room the encoder reserves.  Every member of the event other than the repeated
 * parts (RRs, tags, meta entries, trace events) is written at most once; with its key and
 * separator it needs at most FIELD_ROOM bytes besides 6 per byte of its payload (an
 * escaped string; hex needs 2, an address is at most 39 characters), and the payloads
 * are disjoint parts of the message.  There are 48 such members (header, top-level
 * fields, question and response members, the brackets of the repeated parts, the closing
 * brace); MEMBERS_MAX leaves a margin.  So event_room() at the start covers all of them,
 * and each repeated item reserves its own bound plus event_room() again, which keeps
 * enough room for whatever single members follow it.  The writers below never check:
 * they rely on these reservations (and the ds_dns_*_at writers on their DS_DNS_*_ROOM,
 * all within FIELD_ROOM). */
#define FIELD_ROOM 128u
#define MEMBERS_MAX 64u
#define ITEM_ROOM(members, n) ((members) * (size_t)FIELD_ROOM + 6 * (size_t)(n))

static size_t event_room(size_t msg_len, size_t instance_len)
{
    return ITEM_ROOM(MEMBERS_MAX, msg_len + instance_len);
}

static JSON_COLD uint8_t *grow_at(struct ds_buf *b, uint8_t *o, size_t n)
{
    b->len = (size_t)(o - b->data);
    ds_buf_grow(b, n);
    return b->data + b->len;
}

/* Room for n bytes at o (a pointer into b's data); returns o, moved when b had to grow.
 * b->len is set once at the end of the event. */
JSON_INLINE uint8_t *room(struct ds_buf *b, uint8_t *o, size_t n)
{
    if ((size_t)(b->data + b->cap - o) < n)
        o = grow_at(b, o, n);
    return o;
}

/* A string literal as a fixed-size copy; evaluates to the end of what it wrote. */
#define LIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) + sizeof(s) - 1)

/* A key literal for the key_* writers: the text and its length. */
#define KEY(s) (s), (sizeof(s) - 1)
_Static_assert(DS_DNS_NUM_ROOM <= DS_DNS_ADDR_ROOM && DS_DNS_MNEM_ROOM <= DS_DNS_ADDR_ROOM &&
                   DS_DNS_NAME32_ROOM <= DS_DNS_ADDR_ROOM && DS_DNS_TIME_ROOM <= DS_DNS_ADDR_ROOM,
               "the address is the largest fixed-size value");
_Static_assert(sizeof(",\"originalRequestorSubnet\":\"\"") + DS_DNS_ADDR_ROOM <= FIELD_ROOM,
               "the longest key with the largest fixed-size value fits in FIELD_ROOM");

/* The separator (',' between members, '{' or '[' before the first) and the key. */
JSON_INLINE uint8_t *put_key(uint8_t *o, char sep, const char *k, size_t kl)
{
    *o = (uint8_t)sep;
    memcpy(o + 1, k, kl);
    return o + 1 + kl;
}

/* ---- strings ------------------------------------------------------------------------ */

static const char hex_pairs[513] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                                   "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                                   "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
                                   "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
                                   "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                                   "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                                   "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
                                   "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* The escape of each control character, padded to 8 bytes (a fixed-size copy). */
static const struct {
    char text[7];
    uint8_t len;
} ctl_escape[0x20] = {
    {"\\u0000", 6}, {"\\u0001", 6}, {"\\u0002", 6}, {"\\u0003", 6}, {"\\u0004", 6}, {"\\u0005", 6},
    {"\\u0006", 6}, {"\\u0007", 6}, {"\\b", 2},     {"\\t", 2},     {"\\n", 2},     {"\\u000b", 6},
    {"\\f", 2},     {"\\r", 2},     {"\\u000e", 6}, {"\\u000f", 6}, {"\\u0010", 6}, {"\\u0011", 6},
    {"\\u0012", 6}, {"\\u0013", 6}, {"\\u0014", 6}, {"\\u0015", 6}, {"\\u0016", 6}, {"\\u0017", 6},
    {"\\u0018", 6}, {"\\u0019", 6}, {"\\u001a", 6}, {"\\u001b", 6}, {"\\u001c", 6}, {"\\u001d", 6},
    {"\\u001e", 6}, {"\\u001f", 6},
};

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

/* 8 bytes as a little-endian word (byte i of s in bits 8i..8i+7), and back. */
JSON_INLINE uint64_t load_le64(const uint8_t *s)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
#else
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--)
        w = w << 8 | s[i];
    return w;
#endif
}

JSON_INLINE void store_le64(uint8_t *o, uint64_t w)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(o, &w, 8);
#else
    for (int i = 0; i < 8; i++)
        o[i] = (uint8_t)(w >> 8 * i);
#endif
}

/* s[i..n) (1 to 7 bytes) as the low bytes of a word, the rest zero.  s[0..n) lies inside
 * the readable range [lo, hi), so an 8-byte load that stays inside it may be used. */
JSON_INLINE uint64_t load_tail_le64(const uint8_t *s, size_t i, size_t n, const uint8_t *lo,
                                    const uint8_t *hi)
{
    size_t r = n - i;
    if ((size_t)(hi - (s + i)) >= 8) /* forwards: the bytes after the string are readable */
        return load_le64(s + i) & (~0ull >> (64 - 8 * r));
    if ((size_t)(s + n - lo) >= 8) /* backwards: the last 8 bytes end with the string */
        return load_le64(s + n - 8) >> (8 * (8 - r));
    uint64_t w = 0;
    for (size_t k = r; k-- > 0;)
        w = w << 8 | s[i + k];
    return w;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The high bit of every byte of w that the escaper must look at: below 0x20, '"', '\\'
 * or 0x80 and above.  A borrow can only carry out of a flagged byte, so the lowest flag
 * is exact and the result is 0 exactly when no byte needs attention. */
JSON_INLINE uint64_t special_bytes(uint64_t w)
{
    return ((w - 0x20 * ONES) | ((w ^ ('"' * ONES)) - ONES) | ((w ^ ('\\' * ONES)) - ONES) | w) &
           HIGHS;
}

/* Index of the lowest flagged byte of a nonzero special_bytes() result. */
JSON_INLINE size_t first_flagged(uint64_t m)
{
#if defined(__GNUC__)
    return (size_t)__builtin_ctzll(m) / 8;
#else
    size_t k = 0;
    while (!(m & 0x80))
        m >>= 8, k++;
    return k;
#endif
}

/* One byte that needs attention at s[*i]: an escape, a valid UTF-8 sequence copied, or
 * U+FFFD for an invalid byte.  Writes at most 6 bytes per input byte consumed. */
static uint8_t *put_special(uint8_t *o, const uint8_t *s, size_t *i, size_t n)
{
    uint8_t c = s[*i];
    if (c < 0x20) {
        memcpy(o, &ctl_escape[c], 8);
        (*i)++;
        return o + ctl_escape[c].len;
    }
    if (c < 0x80) { /* '"' or '\\' */
        o[0] = '\\';
        o[1] = c;
        (*i)++;
        return o + 2;
    }
    size_t l = utf8_seq_len(s + *i, n - *i);
    if (!l) {
        (*i)++;
        return LIT(o, "\xef\xbf\xbd");
    }
    for (size_t k = 0; k < l; k++)
        o[k] = s[*i + k];
    *i += l;
    return o + l;
}

/* Room put_escaped needs for n input bytes: 6 output bytes per input byte at most, and
 * the 8-byte copies may write up to 8 bytes past the text (within FIELD_ROOM). */
#define ESC_ROOM(n) (6 * (size_t)(n) + 16)

/* The body of a JSON string (no quotes).  Invalid UTF-8: each offending byte becomes
 * U+FFFD, so the output is always valid UTF-8 JSON.  Clean bytes are checked and copied
 * 8 at a time (the copy is written first and kept for as many bytes as are clean); the
 * last few bytes are read with one load inside [lo, hi), the readable bytes around s
 * (the whole protobuf message for its strings). */
static uint8_t *put_escaped(uint8_t *o, const uint8_t *s, size_t n, const uint8_t *lo,
                            const uint8_t *hi)
{
    size_t i = 0;
    while (i < n) {
        uint64_t w, m;
        size_t r = n - i;
        if (r >= 8) {
            w = load_le64(s + i);
            m = special_bytes(w);
            r = 8;
        } else {
            w = load_tail_le64(s, i, n, lo, hi);
            m = special_bytes(w) & (HIGHS >> (64 - 8 * r));
        }
        store_le64(o, w);
        if (!m) {
            o += r;
            i += r;
            continue;
        }
        size_t k = first_flagged(m);
        o += k;
        i += k;
        o = put_special(o, s, &i, n);
    }
    return o;
}

/* A string s[0..n), lying inside the readable bytes [lo, hi). */
/* A string s[0..n), lying inside the readable bytes [lo, hi). */
JSON_INLINE uint8_t *key_str(uint8_t *o, char sep, const char *k, size_t kl, const uint8_t *s,
                             size_t n, const uint8_t *lo, const uint8_t *hi)
{
    o = put_key(o, sep, k, kl);
    *o++ = '"';
    o = put_escaped(o, s, n, lo, hi);
    *o++ = '"';
    return o;
}

/* ---- other values -------------------------------------------------------------------- */

/* 4 bytes (the first in the low byte of x) as 8 lowercase hex digits, the first digit in
 * the low byte of the result: each byte spread to 16 bits, its nibbles split into the two
 * halves, then each nibble v becomes '0' + v, plus 'a' - '0' - 10 when v > 9. */
JSON_INLINE uint64_t hex_digits8(uint32_t x)
{
    uint64_t y = x;
    y = (y | y << 16) & 0x0000ffff0000ffffull;
    y = (y | y << 8) & 0x00ff00ff00ff00ffull;
    uint64_t v = ((y >> 4) & 0x000f000f000f000full) | ((y & 0x000f000f000f000full) << 8);
    uint64_t letter = ((v + 6 * ONES) >> 4) & ONES; /* 1 in each byte where v > 9 */
    return v + '0' * ONES + letter * ('a' - '0' - 10);
}

static uint8_t *put_hex(uint8_t *o, const uint8_t *s, size_t n)
{
    size_t i = 0;
    *o++ = '"';
    for (; i + 8 <= n; i += 8, o += 16) {
        uint64_t x = load_le64(s + i);
        store_le64(o, hex_digits8((uint32_t)x));
        store_le64(o + 8, hex_digits8((uint32_t)(x >> 32)));
    }
    for (; i < n; i++, o += 2)
        memcpy(o, hex_pairs + 2 * s[i], 2);
    *o++ = '"';
    return o;
}

JSON_INLINE uint8_t *key_hex(uint8_t *o, char sep, const char *k, size_t kl, const uint8_t *s,
                             size_t n)
{
    return put_hex(put_key(o, sep, k, kl), s, n);
}

/* An address of 4 or 16 bytes as text; any other length as hex. */
JSON_INLINE uint8_t *key_addr(uint8_t *o, char sep, const char *k, size_t kl, const uint8_t *s,
                              size_t n)
{
    if (n != 4 && n != 16)
        return key_hex(o, sep, k, kl, s, n);
    o = put_key(o, sep, k, kl);
    *o++ = '"';
    o = ds_dns_addr_at(o, s, n);
    *o++ = '"';
    return o;
}

JSON_INLINE uint8_t *key_u64(uint8_t *o, char sep, const char *k, size_t kl, uint64_t v)
{
    return ds_dns_u64_at(put_key(o, sep, k, kl), v);
}

JSON_INLINE uint8_t *key_i64(uint8_t *o, char sep, const char *k, size_t kl, int64_t v)
{
    return ds_dns_i64_at(put_key(o, sep, k, kl), v);
}

/* An enum as its name, or the number as a string when the value has no name. */
JSON_INLINE uint8_t *key_enum(uint8_t *o, char sep, const char *k, size_t kl,
                              const struct ds_dns_name32 *name, uint64_t v)
{
    o = put_key(o, sep, k, kl);
    *o++ = '"';
    o = name ? ds_dns_name32_at(o, name) : ds_dns_u64_at(o, v);
    *o++ = '"';
    return o;
}

JSON_INLINE uint8_t *key_bool(uint8_t *o, char sep, const char *k, size_t kl, bool v)
{
    o = put_key(o, sep, k, kl);
    return v ? LIT(o, "true") : LIT(o, "false");
}

JSON_INLINE uint8_t *key_time_us(uint8_t *o, char sep, const char *k, size_t kl, uint64_t us)
{
    o = put_key(o, sep, k, kl);
    *o++ = '"';
    o = ds_dns_rfc3339_us_at(o, us);
    *o++ = '"';
    return o;
}

JSON_INLINE uint8_t *key_time(uint8_t *o, char sep, const char *k, size_t kl, uint32_t sec,
                              uint32_t usec)
{
    if (usec >= 1000000u) /* not from a real clock: carry into the seconds */
        return key_time_us(o, sep, k, kl, (uint64_t)sec * 1000000u + usec);
    o = put_key(o, sep, k, kl);
    *o++ = '"';
    o = ds_dns_rfc3339_at(o, sec, usec);
    *o++ = '"';
    return o;
}

/* qType, type, qClass, class, rcode: the mnemonic or its fallback, as a string. */
#define KEY_MNEM(fn)                                                                           \
    JSON_INLINE uint8_t *key_##fn(uint8_t *o, char sep, const char *k, size_t kl, uint32_t v) \
    {                                                                                          \
        o = put_key(o, sep, k, kl);                                                            \
        *o++ = '"';                                                                            \
        o = ds_dns_##fn##_at(o, v);                                                            \
        *o++ = '"';                                                                            \
        return o;                                                                              \
    }
KEY_MNEM(qtype)
KEY_MNEM(class)
KEY_MNEM(rcode)

/* Closes an object or array whose members were opened with sep (or writes {} / [] when
 * there were none: sep is still the opening character). */
JSON_INLINE uint8_t *put_close(uint8_t *o, char sep, char close)
{
    if (sep == '{' || sep == '[')
        *o++ = (uint8_t)sep;
    *o++ = (uint8_t)close;
    return o;
}

#define SPAN(p, s) ((p) + (s).off), ((s).len)
/* A string of the message p[0..len): the span and the message as its readable range. */
#define MSTR(s) SPAN(p, s), (p), (p) + len

/* ---- sections ------------------------------------------------------------------------ */

/* rdata in readable form: addresses for A/AAAA, text for name and TXT types, else hex. */
static uint8_t *key_rdata(uint8_t *o, char sep, const uint8_t *p, size_t len,
                          const struct ds_pb_rr *rr)
{
    const uint8_t *d = p + rr->rdata.off;
    size_t n = rr->rdata.len;
    switch (rr->type) {
    case 1: /* A */
    case 28: /* AAAA */
        if (n == (rr->type == 1 ? 4u : 16u))
            return key_addr(o, sep, KEY("\"rdata\":"), d, n);
        break;
    case 2:  /* NS */
    case 5:  /* CNAME */
    case 12: /* PTR */
    case 15: /* MX: the exchange only */
    case 16: /* TXT: presentation text, quotes included */
    case 33: /* SRV: the target only */
    case 99: /* SPF */
        return key_str(o, sep, KEY("\"rdata\":"), d, n, p, p + len);
    default:
        break;
    }
    return key_hex(o, sep, KEY("\"rdata\":"), d, n);
}

/* The repeated parts: each item reserves ITEM_ROOM for its members and payload, plus
 * keep (the event's room, for the members that follow).  NULL on a malformed item. */

static uint8_t *put_rrs(struct ds_buf *b, uint8_t *o, size_t keep, const uint8_t *p, size_t len,
                        const struct ds_pb_msg *m)
{
    struct ds_pb_iter it;
    struct ds_pb_span item;
    struct ds_pb_rr rr;
    char asep = '[';
    ds_pb_iter_rrs(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        if (ds_pb_rr_decode(p, item, &rr) != DS_OK)
            return NULL;
        o = room(b, o, keep + ITEM_ROOM(8, item.len)); /* 6 members, '{', '}' */
        *o++ = (uint8_t)asep;
        asep = ',';
        char sep = '{';
        if (rr.has & (1u << 1)) {
            o = key_str(o, sep, KEY("\"name\":"), MSTR(rr.name));
            sep = ',';
        }
        if (rr.has & (1u << 2)) {
            o = key_qtype(o, sep, KEY("\"type\":"), rr.type);
            sep = ',';
        }
        if (rr.has & (1u << 3)) {
            o = key_class(o, sep, KEY("\"class\":"), rr.rclass);
            sep = ',';
        }
        if (rr.has & (1u << 4)) {
            o = key_u64(o, sep, KEY("\"ttl\":"), rr.ttl);
            sep = ',';
        }
        if (rr.has & (1u << 5)) {
            o = key_rdata(o, sep, p, len, &rr);
            sep = ',';
        }
        if (rr.has & (1u << 6)) {
            o = key_bool(o, sep, KEY("\"udr\":"), rr.udr);
            sep = ',';
        }
        o = put_close(o, sep, '}');
    }
    return put_close(o, asep, ']');
}

static uint8_t *put_response(struct ds_buf *b, uint8_t *o, size_t keep, const uint8_t *p,
                             size_t len, const struct ds_pb_msg *m)
{
    uint32_t h = m->r_has;
    char sep = '{';
    o = LIT(o, ",\"response\":");
    if (h & (1u << DS_PB_R_RCODE)) {
        o = key_rcode(o, sep, KEY("\"rcode\":"), m->rcode);
        sep = ',';
    }
    if (m->rr_count) {
        o = put_key(o, sep, KEY("\"rrs\":"));
        sep = ',';
        o = put_rrs(b, o, keep, p, len, m);
        if (!o)
            return NULL;
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY)) {
        o = key_str(o, sep, KEY("\"appliedPolicy\":"), MSTR(m->applied_policy));
        sep = ',';
    }
    if (m->tag_count) {
        struct ds_pb_iter it;
        struct ds_pb_span item;
        char tsep = '[';
        o = put_key(o, sep, KEY("\"tags\":"));
        sep = ',';
        ds_pb_iter_tags(&it, p, len, m);
        while (ds_pb_iter_next(&it, &item)) {
            o = room(b, o, keep + ITEM_ROOM(1, item.len));
            o = key_str(o, tsep, "", 0, MSTR(item));
            tsep = ',';
        }
        o = put_close(o, tsep, ']');
    }
    if (h & (1u << DS_PB_R_QUERY_TIME_SEC)) {
        o = key_time(o, sep, KEY("\"queryTime\":"), m->query_time_sec, m->query_time_usec);
        sep = ',';
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY_TYPE)) {
        o = key_enum(o, sep, KEY("\"appliedPolicyType\":"),
                     ds_dns_pb_policy_type(m->applied_policy_type), m->applied_policy_type);
        sep = ',';
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY_TRIGGER)) {
        o = key_str(o, sep, KEY("\"appliedPolicyTrigger\":"), MSTR(m->applied_policy_trigger));
        sep = ',';
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY_HIT)) {
        o = key_str(o, sep, KEY("\"appliedPolicyHit\":"), MSTR(m->applied_policy_hit));
        sep = ',';
    }
    if (h & (1u << DS_PB_R_APPLIED_POLICY_KIND)) {
        o = key_enum(o, sep, KEY("\"appliedPolicyKind\":"),
                     ds_dns_pb_policy_kind(m->applied_policy_kind), m->applied_policy_kind);
        sep = ',';
    }
    if (h & (1u << DS_PB_R_VALIDATION_STATE)) {
        o = key_enum(o, sep, KEY("\"validationState\":"), ds_dns_pb_vstate(m->validation_state),
                     m->validation_state);
        sep = ',';
    }
    return put_close(o, sep, '}');
}

static uint8_t *put_meta(struct ds_buf *b, uint8_t *o, size_t keep, const uint8_t *p, size_t len,
                         const struct ds_pb_msg *m)
{
    struct ds_pb_iter it;
    struct ds_pb_span item;
    char sep = '{';
    o = LIT(o, ",\"meta\":");
    ds_pb_iter_meta(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        struct ds_pb_meta meta;
        struct ds_pb_metaval_iter vi;
        if (ds_pb_meta_decode(p, item, &meta) != DS_OK)
            return NULL;
        /* the key, the two lists' keys and brackets; each value reserves its own */
        o = room(b, o, keep + ITEM_ROOM(4, meta.key.len));
        o = key_str(o, sep, "", 0, MSTR(meta.key));
        sep = ',';
        o = LIT(o, ":{");
        if (meta.n_str) {
            struct ds_pb_span s;
            char vsep = '[';
            o = LIT(o, "\"stringVal\":");
            ds_pb_metaval_iter_init(&vi, p, &meta);
            while (ds_pb_metaval_next_str(&vi, &s)) {
                o = room(b, o, keep + ITEM_ROOM(3, s.len));
                o = key_str(o, vsep, "", 0, MSTR(s));
                vsep = ',';
            }
            *o++ = ']';
        }
        if (meta.n_int) {
            int64_t v;
            char vsep = '[';
            if (meta.n_str)
                *o++ = ',';
            o = LIT(o, "\"intVal\":");
            ds_pb_metaval_iter_init(&vi, p, &meta);
            while (ds_pb_metaval_next_int(&vi, &v)) {
                o = room(b, o, keep + ITEM_ROOM(3, 0));
                o = key_i64(o, vsep, "", 0, v);
                vsep = ',';
            }
            *o++ = ']';
        }
        *o++ = '}';
    }
    return put_close(o, sep, '}');
}

static uint8_t *put_trace(struct ds_buf *b, uint8_t *o, size_t keep, const uint8_t *p,
                          size_t len, const struct ds_pb_msg *m)
{
    struct ds_pb_iter it;
    struct ds_pb_span item;
    char sep = '[';
    o = LIT(o, ",\"trace\":");
    ds_pb_iter_trace(&it, p, len, m);
    while (ds_pb_iter_next(&it, &item)) {
        struct ds_pb_event ev;
        if (ds_pb_event_decode(p, item, &ev) != DS_OK)
            return NULL;
        o = room(b, o, keep + ITEM_ROOM(10, item.len)); /* 8 members, '{', '}' */
        *o++ = (uint8_t)sep;
        sep = ',';
        /* ts, event and start are required, so the object never starts with ',' */
        o = key_i64(o, '{', KEY("\"ts\":"), ev.ts);
        o = key_enum(o, ',', KEY("\"event\":"), ds_dns_pb_event(ev.event), ev.event);
        o = key_bool(o, ',', KEY("\"start\":"), ev.start);
        if (ev.has & (1u << 4))
            o = key_bool(o, ',', KEY("\"boolVal\":"), ev.bool_val);
        if (ev.has & (1u << 5))
            o = key_i64(o, ',', KEY("\"intVal\":"), ev.int_val);
        if (ev.has & (1u << 6))
            o = key_str(o, ',', KEY("\"stringVal\":"), MSTR(ev.string_val));
        if (ev.has & (1u << 7))
            o = key_hex(o, ',', KEY("\"bytesVal\":"), SPAN(p, ev.bytes_val));
        if (ev.has & (1u << 8))
            o = key_str(o, ',', KEY("\"custom\":"), MSTR(ev.custom));
        *o++ = '}';
    }
    return put_close(o, sep, ']');
}

/* {"seq":...,"instance":"...","captured":"..." (3 members). */
static uint8_t *put_header(uint8_t *o, const struct ds_rec *rec, const struct ds_enc_ctx *ctx,
                           size_t instance_len)
{
    o = key_u64(o, '{', KEY("\"seq\":"), rec->seq);
    if (ctx && ctx->instance) {
        const uint8_t *s = (const uint8_t *)ctx->instance;
        o = key_str(o, ',', KEY("\"instance\":"), s, instance_len, s, s + instance_len + 1);
    }
    return key_time_us(o, ',', KEY("\"captured\":"), rec->time_us);
}

static int enc_metrics(struct ds_buf *out, const struct ds_rec *rec, const struct ds_enc_ctx *ctx,
                       size_t instance_len)
{
    if (!rec->data || rec->len == 0)
        return DS_EPROTO;
    uint8_t *o = ds_buf_room(out, ITEM_ROOM(4, instance_len) + rec->len);
    o = put_header(o, rec, ctx, instance_len);
    o = LIT(o, ",\"type\":\"metrics\",\"metrics\":");
    memcpy(o, rec->data, rec->len);
    o += rec->len;
    *o++ = '}';
    out->len = (size_t)(o - out->data);
    return DS_OK;
}

#define HAS(m, f) (((m)->has >> (f)) & 1u)

int ds_enc_json(struct ds_buf *out, const struct ds_rec *rec, const struct ds_enc_ctx *ctx)
{
    size_t ilen = ctx && ctx->instance ? strlen(ctx->instance) : 0;
    if (rec->kind == DS_REC_METRICS)
        return enc_metrics(out, rec, ctx, ilen);
    if (rec->kind != DS_REC_PDNS)
        return DS_ENOTSUP;

    const uint8_t *p = rec->data;
    size_t len = rec->len;
    struct ds_pb_msg m;
    if (ds_pb_scan_lim(p, len, len + rec->after, &m) != DS_OK)
        return DS_EPROTO;

    struct ds_buf *b = out;
    size_t start = out->len;
    size_t keep = event_room(len, ilen);
    uint8_t *o = ds_buf_room(b, keep);

    o = put_header(o, rec, ctx, ilen);
    o = key_enum(o, ',', KEY("\"type\":"), ds_dns_pb_type(m.type), m.type);
    if (HAS(&m, DS_PB_MESSAGE_ID))
        o = key_hex(o, ',', KEY("\"messageId\":"), SPAN(p, m.message_id));
    if (HAS(&m, DS_PB_SERVER_IDENTITY))
        o = key_str(o, ',', KEY("\"serverIdentity\":"), MSTR(m.server_identity));
    if (HAS(&m, DS_PB_SOCKET_FAMILY))
        o = key_enum(o, ',', KEY("\"socketFamily\":"), ds_dns_pb_family(m.socket_family),
                     m.socket_family);
    if (HAS(&m, DS_PB_SOCKET_PROTOCOL))
        o = key_enum(o, ',', KEY("\"socketProtocol\":"), ds_dns_pb_protocol(m.socket_protocol),
                     m.socket_protocol);
    if (HAS(&m, DS_PB_FROM))
        o = key_addr(o, ',', KEY("\"from\":"), SPAN(p, m.from));
    if (HAS(&m, DS_PB_TO))
        o = key_addr(o, ',', KEY("\"to\":"), SPAN(p, m.to));
    if (HAS(&m, DS_PB_FROM_PORT))
        o = key_u64(o, ',', KEY("\"fromPort\":"), m.from_port);
    if (HAS(&m, DS_PB_TO_PORT))
        o = key_u64(o, ',', KEY("\"toPort\":"), m.to_port);
    if (HAS(&m, DS_PB_IN_BYTES))
        o = key_u64(o, ',', KEY("\"inBytes\":"), m.in_bytes);
    if (HAS(&m, DS_PB_TIME_SEC))
        o = key_time(o, ',', KEY("\"time\":"), m.time_sec, m.time_usec);
    if (HAS(&m, DS_PB_ID))
        o = key_u64(o, ',', KEY("\"id\":"), m.id);
    if (HAS(&m, DS_PB_QUESTION)) {
        char sep = '{';
        o = LIT(o, ",\"question\":");
        if (m.q_has & (1u << DS_PB_Q_NAME)) {
            o = key_str(o, sep, KEY("\"qName\":"), MSTR(m.qname));
            sep = ',';
        }
        if (m.q_has & (1u << DS_PB_Q_TYPE)) {
            o = key_qtype(o, sep, KEY("\"qType\":"), m.qtype);
            sep = ',';
        }
        if (m.q_has & (1u << DS_PB_Q_CLASS)) {
            o = key_class(o, sep, KEY("\"qClass\":"), m.qclass);
            sep = ',';
        }
        o = put_close(o, sep, '}');
    }
    if (HAS(&m, DS_PB_RESPONSE))
        o = put_response(b, o, keep, p, len, &m);
    if (o && HAS(&m, DS_PB_ORIGINAL_REQUESTOR_SUBNET))
        o = key_addr(o, ',', KEY("\"originalRequestorSubnet\":"),
                     SPAN(p, m.original_requestor_subnet));
    if (!o) {
        out->len = start; /* nothing appended on error */
        return DS_EPROTO;
    }
    if (HAS(&m, DS_PB_REQUESTOR_ID))
        o = key_str(o, ',', KEY("\"requestorId\":"), MSTR(m.requestor_id));
    if (HAS(&m, DS_PB_INITIAL_REQUEST_ID))
        o = key_hex(o, ',', KEY("\"initialRequestId\":"), SPAN(p, m.initial_request_id));
    if (HAS(&m, DS_PB_DEVICE_ID))
        o = key_hex(o, ',', KEY("\"deviceId\":"), SPAN(p, m.device_id));
    if (HAS(&m, DS_PB_NEWLY_OBSERVED_DOMAIN))
        o = key_bool(o, ',', KEY("\"newlyObservedDomain\":"), m.newly_observed_domain);
    if (HAS(&m, DS_PB_DEVICE_NAME))
        o = key_str(o, ',', KEY("\"deviceName\":"), MSTR(m.device_name));
    if (m.meta_count)
        o = put_meta(b, o, keep, p, len, &m);
    if (o && m.trace_count)
        o = put_trace(b, o, keep, p, len, &m);
    if (!o) {
        out->len = start;
        return DS_EPROTO;
    }
    if (HAS(&m, DS_PB_HTTP_VERSION))
        o = key_enum(o, ',', KEY("\"httpVersion\":"), ds_dns_pb_http(m.http_version),
                     m.http_version);
    if (HAS(&m, DS_PB_WORKER_ID))
        o = key_u64(o, ',', KEY("\"workerId\":"), m.worker_id);
    if (HAS(&m, DS_PB_PACKET_CACHE_HIT))
        o = key_bool(o, ',', KEY("\"packetCacheHit\":"), m.packet_cache_hit);
    if (HAS(&m, DS_PB_OUTGOING_QUERIES))
        o = key_u64(o, ',', KEY("\"outgoingQueries\":"), m.outgoing_queries);
    if (HAS(&m, DS_PB_HEADER_FLAGS))
        o = key_u64(o, ',', KEY("\"headerFlags\":"), m.header_flags);
    if (HAS(&m, DS_PB_EDNS_VERSION))
        o = key_u64(o, ',', KEY("\"ednsVersion\":"), m.edns_version);
    if (HAS(&m, DS_PB_EDE))
        o = key_u64(o, ',', KEY("\"ede\":"), m.ede);
    if (HAS(&m, DS_PB_EDE_TEXT))
        o = key_str(o, ',', KEY("\"edeText\":"), MSTR(m.ede_text));
    if (HAS(&m, DS_PB_OPEN_TELEMETRY_TRACE_ID))
        o = key_hex(o, ',', KEY("\"openTelemetryTraceID\":"), SPAN(p, m.open_telemetry_trace_id));
    *o++ = '}';
    out->len = (size_t)(o - out->data);
    return DS_OK;
}

void ds_enc_json_string(struct ds_buf *out, const char *s)
{
    size_t n = strlen(s);
    uint8_t *o = ds_buf_room(out, ESC_ROOM(n) + 2);
    *o++ = '"';
    o = put_escaped(o, (const uint8_t *)s, n, (const uint8_t *)s, (const uint8_t *)s + n + 1);
    *o++ = '"';
    out->len = (size_t)(o - out->data);
}
