/* ds_syslog.c - syslog envelopes and stream framing.  See ds_syslog.h. */
#include "ds_syslog.h"

#include <stdio.h>

#include "ds_err.h"
#include "ds_plat.h"

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

void ds_syslog_5424_header(struct ds_buf *b, const struct ds_syslog_id *id, const char *msgid,
                           uint64_t time_us, uint64_t seq)
{
    struct ds_tm tm;
    ds_time_utc((int64_t)(time_us / 1000000u), &tm);
    char ts[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.year, tm.mon, tm.mday,
             tm.hour, tm.min, tm.sec, (unsigned)(time_us % 1000000u));
    ds_buf_printf(b, "<%d>1 %s ", DS_SYSLOG_PRI, ts);
    put_token(b, id->hostname, 255);
    ds_buf_putc(b, ' ');
    put_token(b, id->app_name, 48);
    ds_buf_putc(b, ' ');
    if (id->procid >= 0)
        ds_buf_put_u64(b, (uint64_t)id->procid);
    else
        ds_buf_putc(b, '-');
    ds_buf_putc(b, ' ');
    put_token(b, msgid, 32);
    ds_buf_puts(b, " [" DS_SYSLOG_SD_ID " instance=\"");
    put_sd_value(b, id->instance);
    ds_buf_puts(b, "\" seq=\"");
    ds_buf_put_u64(b, seq);
    ds_buf_puts(b, "\"] ");
}

void ds_syslog_3164_header(struct ds_buf *b, const struct ds_syslog_id *id, uint64_t time_us)
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct ds_tm tm;
    ds_time_local((int64_t)(time_us / 1000000u), &tm);
    int mon = (tm.mon >= 1 && tm.mon <= 12) ? tm.mon - 1 : 0;
    ds_buf_printf(b, "<%d>%s %2d %02d:%02d:%02d ", DS_SYSLOG_PRI, months[mon], tm.mday, tm.hour,
                  tm.min, tm.sec);
    put_token(b, id->hostname, 255);
    ds_buf_putc(b, ' ');
    put_token(b, id->app_name, 32);
    if (id->procid >= 0)
        ds_buf_printf(b, "[%d]", id->procid);
    ds_buf_puts(b, ": ");
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
        for (size_t i = at; i < out->len; i++) {
            if (out->data[i] == '\n')
                out->data[i] = ' ';
        }
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
