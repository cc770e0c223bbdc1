/*
 * ds_enc_bind.c - BIND 9.18 query-log lines from PowerDNS query events
 * (format and how each part is filled: docs/formats.md).
 *
 *   22-Nov-2026 00:00:29.759 queries: info: client @0x7f33ac772e11 127.0.0.1#57081
 *   (www.example.test): query: www.example.test IN A + (127.0.0.1)
 *
 * (one line, no newline).  Only client and outgoing queries (types 1 and 3) have a
 * query-log form; everything else is DS_ENOTSUP.  No printf, no allocation beyond the
 * caller's buffer.
 */
#include "ds_enc.h"

#include "ds_dns_names.h"
#include "ds_err.h"
#include "ds_pb.h"

#define PUT_LIT(b, s) ds_buf_append((b), (s), sizeof(s) - 1)
#define HAS(m, f) (((m)->has >> (f)) & 1u)

static const char hex_digits[] = "0123456789abcdef";

static void put2(struct ds_buf *b, int v)
{
    ds_buf_putc(b, (char)('0' + v / 10));
    ds_buf_putc(b, (char)('0' + v % 10));
}

/* "DD-Mon-YYYY HH:MM:SS.mmm", UTC. */
static void put_time(struct ds_buf *b, uint64_t us)
{
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct ds_dns_civil c;
    ds_dns_civil_utc((int64_t)(us / 1000000u), &c);
    unsigned ms = (unsigned)(us % 1000000u / 1000u);
    put2(b, c.mday);
    ds_buf_putc(b, '-');
    ds_buf_append(b, mon[c.mon - 1], 3);
    ds_buf_putc(b, '-');
    if (c.year < 1000)
        ds_buf_putc(b, '0');
    if (c.year < 100)
        ds_buf_putc(b, '0');
    if (c.year < 10)
        ds_buf_putc(b, '0');
    ds_dns_put_u64(b, (uint64_t)c.year);
    ds_buf_putc(b, ' ');
    put2(b, c.hour);
    ds_buf_putc(b, ':');
    put2(b, c.min);
    ds_buf_putc(b, ':');
    put2(b, c.sec);
    ds_buf_putc(b, '.');
    ds_buf_putc(b, (char)('0' + ms / 100));
    put2(b, (int)(ms % 100));
}

/* An address as text; a missing or odd-sized one as the unspecified address of the
 * socket family, so the line keeps its shape. */
static void put_addr(struct ds_buf *b, const uint8_t *p, bool present, struct ds_pb_span s,
                     uint32_t family)
{
    char t[DS_DNS_ADDR_TEXT_MAX];
    size_t l = present ? ds_dns_addr_text(p + s.off, s.len, t) : 0;
    if (l)
        ds_buf_append(b, t, l);
    else if (family == 2)
        PUT_LIT(b, "::");
    else
        PUT_LIT(b, "0.0.0.0");
}

/* A qname as BIND prints it: no trailing dot (except the root "."), and any byte that is
 * not printable ASCII, or is a space, as \DDD so a line stays one line. */
static void put_qname(struct ds_buf *b, const uint8_t *s, size_t n)
{
    if (n > 1 && s[n - 1] == '.' && !(n >= 2 && s[n - 2] == '\\'))
        n--;
    if (n == 0) {
        ds_buf_putc(b, '.');
        return;
    }
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] > 0x20 && s[run] < 0x7f)
            run++;
        ds_buf_append(b, s + i, run - i);
        i = run;
        if (i == n)
            break;
        char e[4] = {'\\', (char)('0' + s[i] / 100), (char)('0' + s[i] / 10 % 10),
                     (char)('0' + s[i] % 10)};
        ds_buf_append(b, e, 4);
        i++;
    }
}

static uint16_t bswap16(uint32_t v) { return (uint16_t)(((v & 0xff) << 8) | ((v >> 8) & 0xff)); }

static uint32_t bswap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

int ds_enc_bind(struct ds_buf *out, const struct ds_rec *rec, const struct ds_enc_ctx *ctx)
{
    (void)ctx;
    if (rec->kind != DS_REC_PDNS)
        return DS_ENOTSUP;
    const uint8_t *p = rec->data;
    struct ds_pb_msg m;
    if (ds_pb_scan_lim(p, rec->len, (size_t)rec->len + rec->after, &m) != DS_OK)
        return DS_EPROTO;
    if (m.type != DS_PB_TYPE_QUERY && m.type != DS_PB_TYPE_OUTGOING_QUERY)
        return DS_ENOTSUP;
    if (!(m.q_has & (1u << DS_PB_Q_NAME)))
        return DS_ENOTSUP; /* BIND never logs a query without a name */

    struct ds_buf *b = out;
    ds_buf_grow(b, 3 * m.qname.len + 192);

    uint64_t us = HAS(&m, DS_PB_TIME_SEC) ? (uint64_t)m.time_sec * 1000000u + m.time_usec
                                          : rec->time_us;
    put_time(b, us);
    PUT_LIT(b, " queries: info: client @0x7f");
    /* pseudo client pointer: 0x7f and the first five messageId bytes (zero if missing) */
    for (uint32_t i = 0; i < 5; i++) {
        uint8_t v = i < m.message_id.len ? p[m.message_id.off + i] : 0;
        ds_buf_putc(b, hex_digits[v >> 4]);
        ds_buf_putc(b, hex_digits[v & 15]);
    }
    ds_buf_putc(b, ' ');
    put_addr(b, p, HAS(&m, DS_PB_FROM), m.from, m.socket_family);
    ds_buf_putc(b, '#');
    ds_dns_put_u64(b, m.from_port);
    PUT_LIT(b, " (");
    put_qname(b, p + m.qname.off, m.qname.len);
    PUT_LIT(b, "): query: ");
    put_qname(b, p + m.qname.off, m.qname.len);
    ds_buf_putc(b, ' ');
    ds_dns_put_class(b, (m.q_has & (1u << DS_PB_Q_CLASS)) ? m.qclass : 1);
    ds_buf_putc(b, ' ');
    ds_dns_put_qtype(b, m.qtype);
    ds_buf_putc(b, ' ');

    /* Flags.  headerFlags and ednsVersion hold the wire words as a little-endian sender
     * read them from memory (PowerDNS's own decoder applies ntohs/ntohl). */
    uint16_t hf = HAS(&m, DS_PB_HEADER_FLAGS) ? bswap16(m.header_flags) : 0;
    uint32_t edns = HAS(&m, DS_PB_EDNS_VERSION) ? bswap32(m.edns_version) : 0;
    if (HAS(&m, DS_PB_HEADER_FLAGS) && !(hf & 0x0100))
        ds_buf_putc(b, '-');
    else
        ds_buf_putc(b, '+'); /* RD set, or unknown */
    if (HAS(&m, DS_PB_EDNS_VERSION)) {
        PUT_LIT(b, "E(");
        ds_dns_put_u64(b, (edns >> 16) & 0xff);
        ds_buf_putc(b, ')');
    }
    switch (m.socket_protocol) {
    case 2: /* TCP */
    case 3: /* DoT */
    case 6: /* DNSCrypt over TCP */
        ds_buf_putc(b, 'T');
        break;
    case 4: /* DoH: TCP unless HTTP/3 */
        if (!(HAS(&m, DS_PB_HTTP_VERSION) && m.http_version == 3))
            ds_buf_putc(b, 'T');
        break;
    default:
        break;
    }
    if (HAS(&m, DS_PB_EDNS_VERSION) && (edns & 0x8000))
        ds_buf_putc(b, 'D');
    if (HAS(&m, DS_PB_HEADER_FLAGS) && (hf & 0x0010))
        ds_buf_putc(b, 'C');

    PUT_LIT(b, " (");
    put_addr(b, p, HAS(&m, DS_PB_TO), m.to, m.socket_family);
    ds_buf_putc(b, ')');
    return DS_OK;
}
