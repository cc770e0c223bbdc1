/*
 * ds_dns_names.h - text forms the encoders share: DNS type/class/rcode mnemonics, the
 * names of the PowerDNS protobuf enums, IP address text (RFC 5952) and UTC time text.
 *
 * Purpose: one table per vocabulary, so JSON and BIND lines spell things the same way.
 * Name lookups return a static string or NULL when the value has no name; the caller
 * then writes its own fallback ("TYPE123", "CLASS5", "RCODE12" or the number).  The
 * formatters write into caller buffers and never allocate.
 * Threads: no shared state (the time text cache is per thread); any thread may call
 * anything here.
 */
#ifndef DS_DNS_NAMES_H
#define DS_DNS_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ds_buf.h"

/* DNS RR type mnemonic ("A", "AAAA", "MX", ...) or NULL. */
const char *ds_dns_qtype_name(uint32_t qtype);
/* "IN", "CH", "HS", "NONE", "ANY" or NULL. */
const char *ds_dns_class_name(uint32_t qclass);
/* "NOERROR" ... "BADCOOKIE", "NETWORK_ERROR" for 65536, or NULL. */
const char *ds_dns_rcode_name(uint32_t rcode);

/* Append the mnemonic, or the RFC 3597 / BIND fallback "TYPE<n>", "CLASS<n>", and
 * "RCODE<n>" for rcodes without a name. */
void ds_dns_put_qtype(struct ds_buf *b, uint32_t qtype);
void ds_dns_put_class(struct ds_buf *b, uint32_t qclass);
void ds_dns_put_rcode(struct ds_buf *b, uint32_t rcode);

/* PowerDNS protobuf enum names (proto/dnsmessage.proto), or NULL when unknown. */
const char *ds_dns_pb_type_name(uint32_t v);        /* "DNSQueryType", ... */
const char *ds_dns_pb_family_name(uint32_t v);      /* "INET", "INET6" */
const char *ds_dns_pb_protocol_name(uint32_t v);    /* "UDP", "TCP", "DOT", ... "DOQ" */
const char *ds_dns_pb_http_name(uint32_t v);        /* "HTTP1", "HTTP2", "HTTP3" */
const char *ds_dns_pb_policy_type_name(uint32_t v); /* "UNKNOWN", "QNAME", ... */
const char *ds_dns_pb_policy_kind_name(uint32_t v); /* "NoAction", "Drop", ... */
const char *ds_dns_pb_vstate_name(uint32_t v);      /* "Indeterminate", ... */
const char *ds_dns_pb_event_name(uint32_t v);       /* "CustomEvent", "ReqRecv", ... */

/* Longest text ds_dns_addr_text writes, plus the terminating NUL
 * ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" or "::ffff:255.255.255.255"). */
#define DS_DNS_ADDR_TEXT_MAX 46

/* Text of a 4-byte (IPv4, dotted quad) or 16-byte (IPv6, RFC 5952: lowercase, no
 * leading zeros, the longest run of two or more zero groups shortened to "::", the first
 * such run on a tie, and ::ffff:0:0/96 written as ::ffff:a.b.c.d) address.  buf must
 * hold DS_DNS_ADDR_TEXT_MAX bytes; the text is NUL-terminated.  Returns its length, or
 * 0 (buf = "") when len is neither 4 nor 16. */
size_t ds_dns_addr_text(const uint8_t *addr, size_t len, char *buf);

/* UTC calendar fields of a Unix time (proleptic Gregorian, any int64 second). */
struct ds_dns_civil {
    int64_t year;
    int mon, mday, hour, min, sec; /* mon 1..12 */
};
void ds_dns_civil_utc(int64_t unix_sec, struct ds_dns_civil *out);

/* Append "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (RFC 3339, UTC, 6 fraction digits) for a time in
 * microseconds since the epoch.  Keeps a per-thread cache of recent seconds' text. */
void ds_dns_put_rfc3339_us(struct ds_buf *b, uint64_t unix_us);

/* Decimal text of an integer (a faster ds_buf_put_u64/i64, two digits per step). */
void ds_dns_put_u64(struct ds_buf *b, uint64_t v);
void ds_dns_put_i64(struct ds_buf *b, int64_t v);

/* ---- writers into reserved room ----------------------------------------------------
 * For encoders that reserve room once per field and write through a pointer.  Each writes
 * its text at o and returns the end of the text.  The caller must have reserved the
 * stated room at o: some writers copy a fixed number of bytes and then advance by the
 * real length, so they may scribble on bytes past the end of their text (never past the
 * room).  Nothing is NUL-terminated. */

/* A name padded to 16 bytes, its length in the last byte, so that a writer can copy all
 * 16 bytes and advance by len.  The text is NUL-terminated (len <= 14). */
struct ds_dns_name16 {
    char text[15];
    uint8_t len;
};
/* The same for names up to 30 bytes (the protobuf enum names). */
struct ds_dns_name32 {
    char text[31];
    uint8_t len;
};

#define DS_DNS_NUM_ROOM 24u  /* ds_dns_u64_at, ds_dns_i64_at: up to 20 digits and a sign */
#define DS_DNS_MNEM_ROOM 24u /* qtype/class/rcode: a 16-byte copy, or "CLASS4294967295" */
#define DS_DNS_NAME32_ROOM 32u /* ds_dns_name32_at */
#define DS_DNS_TIME_ROOM 40u /* ds_dns_rfc3339_us_at: a 32-byte copy and the fraction */
#define DS_DNS_ADDR_ROOM 48u /* ds_dns_addr_at */

uint8_t *ds_dns_qtype_at(uint8_t *o, uint32_t qtype); /* as ds_dns_put_qtype */
uint8_t *ds_dns_class_at(uint8_t *o, uint32_t qclass); /* as ds_dns_put_class */
uint8_t *ds_dns_rcode_at(uint8_t *o, uint32_t rcode); /* as ds_dns_put_rcode */
uint8_t *ds_dns_rfc3339_us_at(uint8_t *o, uint64_t unix_us); /* as ds_dns_put_rfc3339_us */
/* The same for a time given as seconds (below 2^45) and microseconds (below 1000000). */
uint8_t *ds_dns_rfc3339_at(uint8_t *o, uint64_t unix_sec, uint32_t usec);
/* As ds_dns_addr_text, without the NUL; len must be 4 or 16. */
uint8_t *ds_dns_addr_at(uint8_t *o, const uint8_t *addr, size_t len);

/* The PowerDNS protobuf enum names above as name32 entries, or NULL when unknown. */
const struct ds_dns_name32 *ds_dns_pb_type(uint32_t v);
const struct ds_dns_name32 *ds_dns_pb_family(uint32_t v);
const struct ds_dns_name32 *ds_dns_pb_protocol(uint32_t v);
const struct ds_dns_name32 *ds_dns_pb_http(uint32_t v);
const struct ds_dns_name32 *ds_dns_pb_policy_type(uint32_t v);
const struct ds_dns_name32 *ds_dns_pb_policy_kind(uint32_t v);
const struct ds_dns_name32 *ds_dns_pb_vstate(uint32_t v);
const struct ds_dns_name32 *ds_dns_pb_event(uint32_t v);

static inline uint8_t *ds_dns_name32_at(uint8_t *o, const struct ds_dns_name32 *n)
{
    memcpy(o, n, sizeof(*n));
    return o + n->len;
}

/* "00" to "99", two characters each; 10^0 to 10^19. */
extern const char ds_dns_digit_pairs[201];
extern const uint64_t ds_dns_pow10[20];

static inline unsigned ds_dns_u64_digits(uint64_t v)
{
#if defined(__GNUC__)
    /* log10 from the bit length (1233 / 4096 ~ log10 2), corrected by one compare */
    unsigned t = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;
    return t + 1 - ((v | 1) < ds_dns_pow10[t]);
#else
    unsigned n = 1;
    while (v >= 10)
        v /= 10, n++;
    return n;
#endif
}

/* Decimal text of v, exactly its digits (no slack written): four digits per step, whose
 * two halves do not wait for each other. */
static inline uint8_t *ds_dns_u64_at(uint8_t *o, uint64_t v)
{
    uint8_t *end = o + ds_dns_u64_digits(v), *w = end;
    while (v >= 10000) {
        uint64_t q = v / 10000;
        unsigned r = (unsigned)(v - q * 10000);
        w -= 4;
        memcpy(w, ds_dns_digit_pairs + 2 * (r / 100), 2);
        memcpy(w + 2, ds_dns_digit_pairs + 2 * (r % 100), 2);
        v = q;
    }
    unsigned x = (unsigned)v; /* < 10000 */
    if (x >= 100) {
        w -= 2;
        memcpy(w, ds_dns_digit_pairs + 2 * (x % 100), 2);
        x /= 100;
    }
    if (x >= 10)
        memcpy(w - 2, ds_dns_digit_pairs + 2 * x, 2);
    else
        w[-1] = (uint8_t)('0' + x);
    return end;
}

static inline uint8_t *ds_dns_i64_at(uint8_t *o, int64_t v)
{
    if (v >= 0)
        return ds_dns_u64_at(o, (uint64_t)v);
    *o = '-';
    return ds_dns_u64_at(o + 1, (uint64_t)0 - (uint64_t)v);
}

#endif
