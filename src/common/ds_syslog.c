/* ds_syslog.c - syslog envelopes and stream framing.  See ds_syslog.h. */
#include "ds_syslog.h"

#include <string.h>

#include "ds_dns_names.h"
#include "ds_err.h"
#include "ds_plat.h"

#define PUT_LIT(b, s) ds_buf_append((b), (s), sizeof(s) - 1)
#define STR_(x) #x
#define STR(x) STR_(x)
#define PRI_TEXT "<" STR(DS_SYSLOG_PRI) ">"

/* Append a header token: printable US-ASCII without spaces, at most max characters;
 * anything else becomes '_' and an empty value the NILVALUE. */
static void put_token(struct ds_buf *b, const char *s, size_t max)
{
    if (!s || !*s) {
        ds_buf_putc(b, '-');
        return;
    }
    for (size_t i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        ds_buf_putc(b, (c > 32 && c < 127) ? (char)c : '_');
    }
}

/* An SD PARAM-VALUE: '"', '\' and ']' are escaped with a backslash. */
static void put_sd_value(struct ds_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\' || *s == ']')
            ds_buf_putc(b, '\\');
        ds_buf_putc(b, *s);
    }
}

/* 5424: " HOSTNAME APP-NAME PROCID " (between TIMESTAMP and MSGID). */
static void put_5424_mid(struct ds_buf *b, const struct ds_syslog_id *id)
{
    ds_buf_putc(b, ' ');
    put_token(b, id->hostname, 255);
    ds_buf_putc(b, ' ');
    put_token(b, id->app_name, 48);
    ds_buf_putc(b, ' ');
    if (id->procid >= 0)
        ds_buf_put_u64(b, (uint64_t)id->procid);
    else
        ds_buf_putc(b, '-');
    ds_buf_putc(b, ' ');
}

/* 5424: the SD element up to the seq value: " [dnsstream@32473 instance=\"...\" seq=\"". */
static void put_5424_sd(struct ds_buf *b, const struct ds_syslog_id *id)
{
    PUT_LIT(b, " [" DS_SYSLOG_SD_ID " instance=\"");
    put_sd_value(b, id->instance);
    PUT_LIT(b, "\" seq=\"");
}

/* 3164: " HOSTNAME TAG[PROCID]: " (after the timestamp). */
static void put_3164_mid(struct ds_buf *b, const struct ds_syslog_id *id)
{
    ds_buf_putc(b, ' ');
    put_token(b, id->hostname, 255);
    ds_buf_putc(b, ' ');
    put_token(b, id->app_name, 32);
    if (id->procid >= 0) {
        ds_buf_putc(b, '[');
        ds_buf_put_u64(b, (uint64_t)id->procid);
        ds_buf_putc(b, ']');
    }
    PUT_LIT(b, ": ");
}

/* 3164: "<PRI>Mmm dd hh:mm:ss" of a second, local time; returns the length. */
static size_t format_3164_ts(char *o, int64_t sec)
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct ds_tm tm;
    ds_time_local(sec, &tm);
    int mon = (tm.mon >= 1 && tm.mon <= 12) ? tm.mon - 1 : 0;
    char *start = o;
    memcpy(o, PRI_TEXT, sizeof(PRI_TEXT) - 1);
    o += sizeof(PRI_TEXT) - 1;
    memcpy(o, months[mon], 3);
    o += 3;
    *o++ = ' ';
    *o++ = tm.mday >= 10 ? (char)('0' + tm.mday / 10 % 10) : ' ';
    *o++ = (char)('0' + tm.mday % 10);
    const int hms[3] = {tm.hour, tm.min, tm.sec};
    for (int i = 0; i < 3; i++) {
        *o++ = i ? ':' : ' ';
        *o++ = (char)('0' + hms[i] / 10 % 10);
        *o++ = (char)('0' + hms[i] % 10);
    }
    return (size_t)(o - start);
}

void ds_syslog_5424_header(struct ds_buf *b, const struct ds_syslog_id *id, const char *msgid,
                           uint64_t time_us, uint64_t seq)
{
    PUT_LIT(b, PRI_TEXT "1 ");
    ds_dns_put_rfc3339_us(b, time_us);
    put_5424_mid(b, id);
    put_token(b, msgid, 32);
    put_5424_sd(b, id);
    ds_dns_put_u64(b, seq);
    PUT_LIT(b, "\"] ");
}

void ds_syslog_3164_header(struct ds_buf *b, const struct ds_syslog_id *id, uint64_t time_us)
{
    char ts[32];
    ds_buf_append(b, ts, format_3164_ts(ts, (int64_t)(time_us / 1000000u)));
    put_3164_mid(b, id);
}

void ds_syslog_hdr_init(struct ds_syslog_hdr *h, enum ds_syslog kind,
                        const struct ds_syslog_id *id)
{
    *h = (struct ds_syslog_hdr){.kind = kind, .ts_sec = -1};
    if (kind == DS_SYSLOG_RFC5424) {
        put_5424_mid(&h->mid, id);
        put_5424_sd(&h->sd, id);
    } else if (kind == DS_SYSLOG_RFC3164) {
        put_3164_mid(&h->mid, id);
    }
    h->has_lf = (h->mid.len && memchr(h->mid.data, '\n', h->mid.len)) ||
                (h->sd.len && memchr(h->sd.data, '\n', h->sd.len));
}

void ds_syslog_hdr_free(struct ds_syslog_hdr *h)
{
    ds_buf_free(&h->mid);
    ds_buf_free(&h->sd);
}

/* MSGID: a token of at most 32 characters (as put_token), without a per-byte grow check. */
static void put_msgid(struct ds_buf *b, const char *s)
{
    if (!s || !*s) {
        ds_buf_putc(b, '-');
        return;
    }
    ds_buf_grow(b, 32);
    uint8_t *o = b->data + b->len;
    for (size_t i = 0; s[i] && i < 32; i++) {
        unsigned char c = (unsigned char)s[i];
        *o++ = (c > 32 && c < 127) ? c : '_';
    }
    b->len = (size_t)(o - b->data);
}

void ds_syslog_hdr_put(struct ds_syslog_hdr *h, struct ds_buf *b, const char *msgid,
                       uint64_t time_us, uint64_t seq)
{
    if (h->kind == DS_SYSLOG_RFC5424) {
        ds_buf_grow(b, 64 + h->mid.len + 32 + h->sd.len + 24);
        PUT_LIT(b, PRI_TEXT "1 ");
        ds_dns_put_rfc3339_us(b, time_us);
        ds_buf_append(b, h->mid.data, h->mid.len);
        put_msgid(b, msgid);
        ds_buf_append(b, h->sd.data, h->sd.len);
        ds_dns_put_u64(b, seq);
        PUT_LIT(b, "\"] ");
    } else if (h->kind == DS_SYSLOG_RFC3164) {
        int64_t sec = (int64_t)(time_us / 1000000u);
        if (sec != h->ts_sec) {
            h->ts_len = format_3164_ts(h->ts, sec);
            h->ts_sec = sec;
        }
        ds_buf_grow(b, h->ts_len + h->mid.len);
        ds_buf_append(b, h->ts, h->ts_len);
        ds_buf_append(b, h->mid.data, h->mid.len);
    }
}

void ds_frame_lf_to_space(uint8_t *p, size_t n)
{
    uint8_t *end = p + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL)
        *p++ = ' ';
}

int ds_frame_append(struct ds_buf *out, enum ds_framing framing, const void *msg, size_t len)
{
    uint8_t pre[4];
    switch (framing) {
    case DS_FRAMING_OCTET:
        ds_buf_put_u64(out, (uint64_t)len);
        ds_buf_putc(out, ' ');
        ds_buf_append(out, msg, len);
        return DS_OK;
    case DS_FRAMING_NEWLINE: {
        size_t at = out->len;
        ds_buf_append(out, msg, len);
        ds_frame_lf_to_space(out->data + at, len);
        ds_buf_putc(out, '\n');
        return DS_OK;
    }
    case DS_FRAMING_16BIT:
        if (len > 0xffff)
            return DS_ERANGE;
        pre[0] = (uint8_t)(len >> 8);
        pre[1] = (uint8_t)len;
        ds_buf_append(out, pre, 2);
        ds_buf_append(out, msg, len);
        return DS_OK;
    case DS_FRAMING_32BIT:
        if ((uint64_t)len > 0xffffffffu)
            return DS_ERANGE;
        pre[0] = (uint8_t)(len >> 24);
        pre[1] = (uint8_t)(len >> 16);
        pre[2] = (uint8_t)(len >> 8);
        pre[3] = (uint8_t)len;
        ds_buf_append(out, pre, 4);
        ds_buf_append(out, msg, len);
        return DS_OK;
    case DS_FRAMING_DEFAULT:
        break;
    }
    return DS_EINVAL;
}

/* Bytes ds_frame_begin reserves for the prefix.  Octet counting reserves "NNN ", right
 * for messages of 100 to 999 bytes (a JSON event is about 500); others move once. */
static size_t frame_reserve(enum ds_framing framing)
{
    switch (framing) {
    case DS_FRAMING_OCTET:
    case DS_FRAMING_32BIT:
        return 4;
    case DS_FRAMING_16BIT:
        return 2;
    case DS_FRAMING_NEWLINE:
    case DS_FRAMING_DEFAULT:
        break;
    }
    return 0;
}

size_t ds_frame_begin(struct ds_buf *out, enum ds_framing framing)
{
    size_t mark = out->len, r = frame_reserve(framing);
    if (r) {
        ds_buf_grow(out, r);
        out->len += r;
    }
    return mark;
}

int ds_frame_end(struct ds_buf *out, enum ds_framing framing, size_t mark)
{
    size_t r = frame_reserve(framing);
    size_t len = out->len - mark - r;
    uint8_t *pre = out->data + mark;
    switch (framing) {
    case DS_FRAMING_OCTET: {
        char digits[24];
        size_t nd = 0;
        uint64_t v = len;
        do {
            digits[sizeof digits - 1 - nd++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        size_t want = nd + 1; /* digits and the space */
        if (want != r) {
            if (want > r)
                ds_buf_grow(out, want - r);
            pre = out->data + mark;
            memmove(pre + want, pre + r, len);
            out->len = mark + want + len;
        }
        memcpy(pre, digits + sizeof digits - nd, nd);
        pre[nd] = ' ';
        return DS_OK;
    }
    case DS_FRAMING_NEWLINE:
        ds_buf_putc(out, '\n');
        return DS_OK;
    case DS_FRAMING_16BIT:
        if (len > 0xffff)
            break;
        pre[0] = (uint8_t)(len >> 8);
        pre[1] = (uint8_t)len;
        return DS_OK;
    case DS_FRAMING_32BIT:
        if ((uint64_t)len > 0xffffffffu)
            break;
        pre[0] = (uint8_t)(len >> 24);
        pre[1] = (uint8_t)(len >> 16);
        pre[2] = (uint8_t)(len >> 8);
        pre[3] = (uint8_t)len;
        return DS_OK;
    case DS_FRAMING_DEFAULT:
        out->len = mark;
        return DS_EINVAL;
    }
    out->len = mark;
    return DS_ERANGE;
}

enum ds_framing ds_framing_default(enum ds_format format, enum ds_syslog syslog)
{
    if (format == DS_FMT_PDNS)
        return DS_FRAMING_16BIT;
    if (syslog != DS_SYSLOG_NONE)
        return DS_FRAMING_OCTET;
    return DS_FRAMING_NEWLINE;
}

const char *ds_framing_name(enum ds_framing framing)
{
    switch (framing) {
    case DS_FRAMING_OCTET:
        return "octet-counting";
    case DS_FRAMING_NEWLINE:
        return "newline";
    case DS_FRAMING_16BIT:
        return "16bit";
    case DS_FRAMING_32BIT:
        return "32bit";
    case DS_FRAMING_DEFAULT:
        break;
    }
    return "default";
}
