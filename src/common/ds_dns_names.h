/*
 * ds_dns_names.h - text forms the encoders share: DNS type/class/rcode mnemonics, the
 * names of the PowerDNS protobuf enums, IP address text (RFC 5952) and UTC time text.
 *
 * Purpose: one table per vocabulary, so JSON and BIND lines spell things the same way.
 * Name lookups return a static string or NULL when the value has no name; the caller
 * then writes its own fallback ("TYPE123", "CLASS5", "RCODE12" or the number).  The
 * formatters write into caller buffers and never allocate.
 * Threads: no state; any thread may call anything here.
 */
#ifndef DS_DNS_NAMES_H
#define DS_DNS_NAMES_H

#include <stddef.h>
#include <stdint.h>

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
 * microseconds since the epoch.  Keeps per-thread copies of the last four seconds' text. */
void ds_dns_put_rfc3339_us(struct ds_buf *b, uint64_t unix_us);

/* Decimal text of an integer (a faster ds_buf_put_u64/i64, two digits per step). */
void ds_dns_put_u64(struct ds_buf *b, uint64_t v);
void ds_dns_put_i64(struct ds_buf *b, int64_t v);

#endif
