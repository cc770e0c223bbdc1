/* ds_config_lex.c - line reader for inih, tokeniser and value parsers.  See ds_config_lex.h. */
#include "ds_config_lex.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_err.h"

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = ds_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

void ds_cfg_reader_init(struct ds_cfg_reader *r, const char *name, const char *text, size_t len,
                        char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->name = name;
    r->pos = text;
    r->end = text + len;
    r->err = err;
    r->errlen = errlen;
    if (err && errlen)
        err[0] = 0;
}

static void forget_line(struct ds_cfg_reader *r)
{
    free(r->dname);
    free(r->args);
    r->dname = NULL;
    r->args = NULL;
}

void ds_cfg_reader_free(struct ds_cfg_reader *r) { forget_line(r); }

int ds_cfg_fail(struct ds_cfg_reader *r, int line, const char *fmt, ...)
{
    if (r->failed)
        return DS_EINVAL;
    r->failed = true;
    if (!r->err || r->errlen == 0)
        return DS_EINVAL;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(r->err, r->errlen, "%s:%d: %s", r->name, line, msg);
    else
        snprintf(r->err, r->errlen, "%s: %s", r->name, msg);
    return DS_EINVAL;
}

/* Where the arguments end: at a '#' or ';' that starts a word outside quotes. */
static const char *args_end(const char *a, const char *le)
{
    bool inq = false;
    for (const char *s = a; s < le; s++) {
        if (inq) {
            if (*s == '\\' && s + 1 < le)
                s++;
            else if (*s == '"')
                inq = false;
        } else if (*s == '"') {
            inq = true;
        } else if ((*s == '#' || *s == ';') && (s == a || is_blank(s[-1]))) {
            return s;
        }
    }
    return le;
}

char *ds_cfg_reader_read(char *buf, int num, void *stream)
{
    struct ds_cfg_reader *r = stream;
    if (r->failed || r->pos >= r->end || num < 4)
        return NULL;
    forget_line(r);

    const char *ls = r->pos;
    const char *nl = memchr(ls, '\n', (size_t)(r->end - ls));
    const char *le = nl ? nl : r->end;
    r->pos = nl ? nl + 1 : r->end;
    r->line++;
    if (le > ls && le[-1] == '\r')
        le--;
    if (r->line == 1 && le - ls >= 3 && memcmp(ls, "\xEF\xBB\xBF", 3) == 0)
        ls += 3; /* UTF-8 byte order mark */

    /* inih only ever sees "name=" (its 200-byte line buffer would split a long
     * line); the arguments stay in our copy.  The limit here is our own. */
    size_t len = (size_t)(le - ls), max = DS_CFG_MAX_LINE;
    if (len > max) {
        ds_cfg_fail(r, r->line, "line too long (%zu characters, at most %zu)", len, max);
        return NULL;
    }
    for (const char *s = ls; s < le; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            ds_cfg_fail(r, r->line, "control character 0x%02x in line", c);
            return NULL;
        }
    }

    const char *p = ls;
    while (p < le && is_blank(*p))
        p++;
    if (p == le || *p == '#' || *p == ';') {
        strcpy(buf, "\n"); /* blank or comment: a line inih skips */
        return buf;
    }
    if (*p == '[') {
        ds_cfg_fail(r, r->line, "sections are not used in dnsstream.conf: '%.*s'", (int)(le - p),
                    p);
        return NULL;
    }
    const char *q = p;
    while (q < le && !is_blank(*q) && *q != '=')
        q++;
    if (q == p) {
        ds_cfg_fail(r, r->line, "missing directive name before '='");
        return NULL;
    }
    for (const char *s = p; s < q; s++) {
        if (!is_name_char(*s)) {
            ds_cfg_fail(r, r->line, "unknown directive '%.*s'", (int)(q - p), p);
            return NULL;
        }
    }
    const char *a = q;
    while (a < le && is_blank(*a))
        a++;
    if (a < le && *a == '=') { /* the "name = args" form */
        a++;
        while (a < le && is_blank(*a))
            a++;
    }
    const char *ae = args_end(a, le);
    while (ae > a && is_blank(ae[-1]))
        ae--;

    r->dname = xstrndup(p, (size_t)(q - p));
    r->args = xstrndup(a, (size_t)(ae - a));
    /* Directive names are short (the longest is far below inih's buffer); the
     * handler takes the arguments from r->args. */
    if (strlen(r->dname) + 3 > (size_t)num) {
        ds_cfg_fail(r, r->line, "unknown directive '%s'", r->dname);
        return NULL;
    }
    snprintf(buf, (size_t)num, "%s=\n", r->dname);
    return buf;
}

int ds_cfg_tokenize(const char *args, struct ds_cfg_tokens *out, char *why, size_t whylen)
{
    size_t len = strlen(args);
    memset(out, 0, sizeof(*out));
    /* Tokens are separated by at least one blank, so there are at most (len + 1) / 2;
     * unquoting never makes a token longer. */
    out->buf = ds_xmalloc(len + 1);
    out->tok = ds_xcalloc(len / 2 + 1, sizeof(*out->tok));
    const char *p = args;
    char *w = out->buf;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        struct ds_cfg_token t = {w, -1};
        bool inq = false;
        while (*p && (inq || !is_blank(*p))) {
            if (inq) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) {
                    *w++ = p[1];
                    p += 2;
                } else if (*p == '"') {
                    inq = false;
                    p++;
                } else {
                    *w++ = *p++;
                }
            } else if (*p == '"') {
                inq = true;
                p++;
            } else {
                if (*p == '=' && t.eq < 0)
                    t.eq = (int)(w - t.text);
                *w++ = *p++;
            }
        }
        if (inq) {
            if (why && whylen)
                snprintf(why, whylen, "unterminated quote in '%s'", start);
            ds_cfg_tokens_free(out);
            return DS_EINVAL;
        }
        *w++ = 0;
        out->tok[out->n++] = t;
    }
    return DS_OK;
}

void ds_cfg_tokens_free(struct ds_cfg_tokens *t)
{
    free(t->buf);
    free(t->tok);
    memset(t, 0, sizeof(*t));
}

/* Leading decimal digits; *big is set when they do not fit in 64 bits. */
static const char *digits(const char *s, uint64_t *out, bool *big)
{
    uint64_t v = 0;
    *big = false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            *big = true;
        else
            v = v * 10 + d;
    }
    *out = v;
    return s;
}

int ds_cfg_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v;
    bool big;
    const char *e = digits(s, &v, &big);
    if (e == s || *e)
        return DS_EINVAL;
    if (big || v > max)
        return DS_ERANGE;
    *out = v;
    return DS_OK;
}

int ds_cfg_parse_size(const char *s, uint64_t *out)
{
    uint64_t v, mult;
    bool big;
    const char *e = digits(s, &v, &big);
    if (e == s)
        return DS_EINVAL;
    if (!*e)
        mult = 1;
    else if (strcmp(e, "k") == 0 || strcmp(e, "K") == 0)
        mult = 1024;
    else if (strcmp(e, "M") == 0)
        mult = 1024 * 1024;
    else if (strcmp(e, "G") == 0)
        mult = 1024 * 1024 * 1024;
    else
        return DS_EINVAL;
    if (big || v > UINT64_MAX / mult)
        return DS_ERANGE;
    *out = v * mult;
    return DS_OK;
}

int ds_cfg_parse_duration_ms(const char *s, unsigned *out)
{
    uint64_t v, mult;
    bool big;
    const char *e = digits(s, &v, &big);
    if (e == s)
        return DS_EINVAL;
    if (!*e || strcmp(e, "s") == 0)
        mult = 1000;
    else if (strcmp(e, "ms") == 0)
        mult = 1;
    else if (strcmp(e, "m") == 0)
        mult = 60 * 1000;
    else if (strcmp(e, "h") == 0)
        mult = 3600 * 1000;
    else
        return DS_EINVAL;
    if (big || v > UINT_MAX / mult)
        return DS_ERANGE;
    *out = (unsigned)(v * mult);
    return DS_OK;
}

int ds_cfg_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"on", "yes", "true"};
    static const char *const no[] = {"off", "no", "false"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return DS_OK;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return DS_OK;
        }
    }
    return DS_EINVAL;
}
