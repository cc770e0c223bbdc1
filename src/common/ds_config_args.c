/* ds_config_args.c - keyword tables and argument helpers of the configuration loader.
 * See ds_config_int.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_config_int.h"
#include "ds_err.h"
#include "ds_log.h"
#include "ds_plat.h"

/* ---- keyword tables ------------------------------------------------------- */

const struct kw ds_cfg_kw_format[] = {
    {"json", DS_FMT_JSON}, {"bind", DS_FMT_BIND}, {"pdns", DS_FMT_PDNS}, {NULL, 0}};
const struct kw ds_cfg_kw_syslog[] = {{"rfc5424", DS_SYSLOG_RFC5424},
                                      {"rfc3164", DS_SYSLOG_RFC3164},
                                      {"none", DS_SYSLOG_NONE},
                                      {NULL, 0}};
const struct kw ds_cfg_kw_fwd_framing[] = {{"octet-counting", DS_FRAMING_OCTET},
                                           {"newline", DS_FRAMING_NEWLINE},
                                           {"16bit", DS_FRAMING_16BIT},
                                           {"32bit", DS_FRAMING_32BIT},
                                           {NULL, 0}};
const struct kw ds_cfg_kw_in_framing[] = {
    {"16bit", DS_FRAMING_16BIT}, {"32bit", DS_FRAMING_32BIT}, {NULL, 0}};
const struct kw ds_cfg_kw_recovery[] = {{"drop", DS_RECOVERY_DROP},
                                        {"best-effort", DS_RECOVERY_BEST_EFFORT},
                                        {"durable", DS_RECOVERY_DURABLE},
                                        {NULL, 0}};
const struct kw ds_cfg_kw_mode[] = {{"broadcast", DS_FWD_BROADCAST},
                                    {"failover", DS_FWD_FAILOVER},
                                    {"roundrobin", DS_FWD_ROUNDROBIN},
                                    {"sharded", DS_FWD_SHARDED},
                                    {NULL, 0}};
const struct kw ds_cfg_kw_overflow[] = {
    {"drop-newest", DS_OVERFLOW_DROP_NEWEST}, {"drop-oldest", DS_OVERFLOW_DROP_OLDEST}, {NULL, 0}};
const struct kw ds_cfg_kw_log_level[] = {{"error", DS_LOG_ERROR},
                                         {"warn", DS_LOG_WARN},
                                         {"info", DS_LOG_INFO},
                                         {"debug", DS_LOG_DEBUG},
                                         {NULL, 0}};
const struct kw ds_cfg_kw_log_format[] = {{"text", DS_LOG_TEXT}, {"json", DS_LOG_JSON}, {NULL, 0}};

const char *ds_cfg_kw_name(const struct kw *k, int val)
{
    for (; k->name; k++)
        if (k->val == val)
            return k->name;
    return "?";
}

/* "a, b or c" */
void ds_cfg_kw_list(const struct kw *k, char *buf, size_t len)
{
    size_t n = 0, total = 0;
    while (k[total].name)
        total++;
    buf[0] = 0;
    for (size_t i = 0; i < total; i++) {
        const char *sep = i == 0 ? "" : i + 1 == total ? " or " : ", ";
        int w = snprintf(buf + n, len - n, "%s%s", sep, k[i].name);
        if (w < 0 || (size_t)w >= len - n)
            return;
        n += (size_t)w;
    }
}

/* ---- parse state and error helpers ------------------------------------------ */

int ds_cfg_err(struct ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ds_cfg_fail(&c->rd, c->rd.line, "%s", msg);
}

int ds_cfg_bad_kw(struct ctx *c, const struct directive *d, const char *what, const char *v,
                  const struct kw *k)
{
    char list[160];
    ds_cfg_kw_list(k, list, sizeof(list));
    return ds_cfg_err(c, "%s: bad %s '%s' (use %s)", d->name, what, v, list);
}

int ds_cfg_kw(struct ctx *c, const struct directive *d, const char *what, const char *v,
              const struct kw *k, int *out)
{
    *out = 0;
    for (const struct kw *p = k; p->name; p++) {
        if (strcmp(p->name, v) == 0) {
            *out = p->val;
            return DS_OK;
        }
    }
    return ds_cfg_bad_kw(c, d, what, v, k);
}

int ds_cfg_duration(struct ctx *c, const struct directive *d, const char *what, const char *v,
                    unsigned min_ms, unsigned *out)
{
    int rc = ds_cfg_parse_duration_ms(v, out);
    if (rc == DS_EINVAL)
        return ds_cfg_err(c, "%s: bad %s '%s' (use seconds, or a number with ms, s, m or h)",
                          d->name, what, v);
    if (rc == DS_ERANGE)
        return ds_cfg_err(c, "%s: %s '%s' is too long", d->name, what, v);
    if (*out < min_ms)
        return ds_cfg_err(c, "%s: %s '%s' must be at least %ums", d->name, what, v, min_ms);
    return DS_OK;
}

int ds_cfg_bool(struct ctx *c, const struct directive *d, const char *what, const char *v,
                bool *out)
{
    if (ds_cfg_parse_bool(v, out) != DS_OK)
        return ds_cfg_err(c, "%s: bad %s '%s' (use on or off)", d->name, what, v);
    return DS_OK;
}

int ds_cfg_range(struct ctx *c, const struct directive *d, const char *what, const char *v,
                 uint64_t min, uint64_t max, uint64_t *out)
{
    if (ds_cfg_parse_uint(v, max, out) != DS_OK || *out < min)
        return ds_cfg_err(c, "%s: bad %s '%s' (use %llu to %llu)", d->name, what, v,
                          (unsigned long long)min, (unsigned long long)max);
    return DS_OK;
}

int ds_cfg_text(struct ctx *c, const struct directive *d, const char *what, const char *v,
                char **out)
{
    if (!v[0])
        return ds_cfg_err(c, "%s: empty %s", d->name, what);
    free(*out);
    *out = ds_xstrdup(v);
    return DS_OK;
}

/* Check the positional words t[first..] (names[] name them for messages): at least
 * min and at most max of them, and, when options are allowed, only key=value words
 * after them.  *npos receives the number of positional words. */
int ds_cfg_check_args(struct ctx *c, const struct directive *d, const struct ds_cfg_tokens *t,
                      int first, int min, int max, const char *const *names, bool options,
                      int *npos)
{
    int n = first;
    if (options)
        while (n < t->n && !ds_cfg_is_option(&t->tok[n]))
            n++;
    else
        n = t->n;
    int pos = n - first;
    if (pos < min)
        return ds_cfg_err(c, "%s: missing %s (usage: %s)", d->name, names[pos], d->usage);
    if (pos > max)
        return ds_cfg_err(c, "%s: too many arguments: '%s' (usage: %s)", d->name,
                          t->tok[first + max].text, d->usage);
    for (int i = n; i < t->n; i++)
        if (!ds_cfg_is_option(&t->tok[i]))
            return ds_cfg_err(c, "%s: too many arguments: '%s' (usage: %s)", d->name,
                              t->tok[i].text, d->usage);
    if (npos)
        *npos = pos;
    return DS_OK;
}

/* Walk the options t[from..]: *key and *val point into the token (the '=' is cut),
 * *idx is the key's index in keys[] (NULL-terminated).  Unknown and repeated keys
 * are errors.  Returns 1 for an option, 0 at the end, or a negative error. */
int ds_cfg_next_option(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t,
                       struct optwalk *w, const char *const *keys, int *idx, const char **val)
{
    if (w->next >= t->n)
        return 0;
    struct ds_cfg_token *tok = &t->tok[w->next++];
    const char *key = tok->text;
    for (int i = 0; keys[i]; i++) {
        if (strncmp(keys[i], key, (size_t)tok->eq) == 0 && keys[i][tok->eq] == 0) {
            if (w->seen & (1u << i))
                return ds_cfg_err(c, "%s: option %s given twice ('%s')", d->name, keys[i], key);
            w->seen |= 1u << i;
            *idx = i;
            *val = key + tok->eq + 1;
            return 1;
        }
    }
    return ds_cfg_err(c, "%s: unknown option '%s'", d->name, key);
}

bool ds_cfg_all_digits_dots(const char *s)
{
    for (; *s; s++)
        if (!(*s == '.' || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* A DNS name: letters, digits, '-' and '_' in labels of 1-63, dots between, at most
 * 253 characters plus an optional final dot. */
bool ds_cfg_valid_hostname(const char *s)
{
    size_t len = strlen(s), label = 0;
    if (len && s[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '-' || ch == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

/* "[::1]" -> "::1" */
char *ds_cfg_strip_brackets(const char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        char *d = ds_xmalloc(n - 1);
        memcpy(d, s + 1, n - 2);
        d[n - 2] = 0;
        return d;
    }
    return ds_xstrdup(s);
}

bool ds_cfg_is_numeric_address(const char *s)
{
    struct ds_addr a;
    return ds_addr_parse(s, 0, &a) == DS_OK;
}
