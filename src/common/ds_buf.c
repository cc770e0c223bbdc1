/* ds_buf.c - growable buffer and allocation helpers.  See ds_buf.h. */
#include "ds_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void ds_oom_abort(size_t want)
{
    fprintf(stderr, "dnsstream: out of memory allocating %zu bytes\n", want);
    abort();
}

void *ds_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        ds_oom_abort(n);
    return p;
}

void *ds_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        ds_oom_abort(n * sz);
    return p;
}

void *ds_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        ds_oom_abort(n);
    return q;
}

char *ds_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = ds_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

void ds_buf_grow(struct ds_buf *b, size_t extra)
{
    size_t need = b->len + extra;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = ds_xrealloc(b->data, cap);
    b->cap = cap;
}

void ds_buf_free(struct ds_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void ds_buf_printf(struct ds_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        ds_buf_grow(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void ds_buf_put_u64(struct ds_buf *b, uint64_t v)
{
    char tmp[24];
    int i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    ds_buf_append(b, tmp + i, sizeof(tmp) - (size_t)i);
}

void ds_buf_put_i64(struct ds_buf *b, int64_t v)
{
    if (v < 0) {
        ds_buf_putc(b, '-');
        ds_buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        ds_buf_put_u64(b, (uint64_t)v);
    }
}
