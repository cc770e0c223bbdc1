/* ds_log.c - levelled logging to stderr.  See ds_log.h. */
#include "ds_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_enc.h"
#include "ds_plat.h"

int ds_log_threshold = DS_LOG_INFO;
static enum ds_log_format log_format = DS_LOG_TEXT;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void ds_log_init(enum ds_log_level level, enum ds_log_format format)
{
    ds_log_threshold = (int)level;
    log_format = format;
}

int ds_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    if (strcmp(s, "warning") == 0)
        return DS_LOG_WARN;
    return -1;
}

int ds_log_format_parse(const char *s)
{
    if (strcmp(s, "text") == 0)
        return DS_LOG_TEXT;
    if (strcmp(s, "json") == 0)
        return DS_LOG_JSON;
    return -1;
}

void ds_log_write(enum ds_log_level level, const char *component, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    uint64_t now = ds_time_now_us();
    struct ds_tm tm;
    ds_time_utc((int64_t)(now / 1000000), &tm);
    char ts[40];
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.year, tm.mon, tm.mday,
             tm.hour, tm.min, tm.sec, (unsigned)(now % 1000000));

    if (log_format == DS_LOG_JSON) {
        struct ds_buf line = {0};
        ds_buf_printf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"component\":", ts,
                      level_names[level]);
        ds_enc_json_string(&line, component);
        ds_buf_puts(&line, ",\"msg\":");
        ds_enc_json_string(&line, msg);
        ds_buf_puts(&line, "}\n");
        fwrite(line.data, 1, line.len, stderr);
        ds_buf_free(&line);
    } else {
        char line[2600];
        int n = snprintf(line, sizeof(line), "%s %-5s %s: %s\n", ts, level_names[level],
                         component, msg);
        size_t len = n < 0 ? 0 : ((size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        fwrite(line, 1, len, stderr);
    }
    fflush(stderr);
}
