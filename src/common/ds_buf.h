/*
 * ds_buf.h - an owned, growable byte buffer and small append helpers.
 *
 * Ownership: the struct owns data; ds_buf_free releases it.  Growth aborts the
 * process on out-of-memory (ds_oom_abort), so append calls cannot fail; the hot
 * path reuses one buffer per thread (ds_buf_reset keeps the capacity).
 * Threads: a buffer belongs to one thread at a time.
 */
#ifndef DS_BUF_H
#define DS_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ds_buf {
    uint8_t *data;
    size_t len, cap;
};

void ds_oom_abort(size_t want);
void *ds_xmalloc(size_t n);
void *ds_xcalloc(size_t n, size_t sz);
void *ds_xrealloc(void *p, size_t n);
char *ds_xstrdup(const char *s);

void ds_buf_grow(struct ds_buf *b, size_t extra); /* ensure cap >= len + extra */
void ds_buf_free(struct ds_buf *b);
static inline void ds_buf_reset(struct ds_buf *b) { b->len = 0; }
/* Room for n more bytes: grows only when needed (no call otherwise) and returns where
 * the next byte goes.  The caller writes there and then sets len. */
static inline uint8_t *ds_buf_room(struct ds_buf *b, size_t n)
{
    if (b->cap - b->len < n)
        ds_buf_grow(b, n);
    return b->data + b->len;
}
static inline void ds_buf_append(struct ds_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n)
        ds_buf_grow(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}
static inline void ds_buf_putc(struct ds_buf *b, char c)
{
    if (b->cap == b->len)
        ds_buf_grow(b, 1);
    b->data[b->len++] = (uint8_t)c;
}
static inline void ds_buf_puts(struct ds_buf *b, const char *s) { ds_buf_append(b, s, strlen(s)); }
void ds_buf_printf(struct ds_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ds_buf_put_u64(struct ds_buf *b, uint64_t v); /* decimal */
void ds_buf_put_i64(struct ds_buf *b, int64_t v);

#endif
