/*
 * ds_fwd_enc.c - turning a batch of ring records into the bytes one forwarder target
 * writes, on the target's own thread and, with encode-threads=N (N > 1), on N - 1
 * helper threads of that target.
 *
 * A batch is split into N contiguous parts of about the same number of records; the
 * target thread encodes the first part into ft->out while each helper encodes one of the
 * others into its own buffer, and ds__fwd_write_out writes the buffers in part order, so
 * the peer sees exactly the bytes, in exactly the order, that one thread would have
 * written.  Batches too small to be worth a wake-up are encoded by the target thread alone.
 * Every encoder keeps its own syslog header state (the RFC 3164 time cache); the JSON
 * encoder's time text cache is per thread already.
 *
 * Ownership: the helpers, their buffers and headers belong to the fwd_target
 * (ds__fwd_enc_start / ds__fwd_enc_stop).  The records belong to the ring and are held by
 * the target's cursor while a helper reads them.
 * Threads: everything here is called by the target's thread only (start and stop by the
 * thread that starts and stops the manager, while the target thread is not running); a
 * helper touches its own buffer only between a job being posted and it being done.
 */
#include "ds_fwd_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "ds_enc.h"
#include "ds_err.h"
#include "ds_log.h"

/* A part gets at least this many records, so a small batch is not split. */
#define SPLIT_MIN 32

/* Append one record, framed, to out.  Records the format cannot carry (metrics in pdns,
 * responses in bind, malformed protobuf) are counted and left out.  The header and the
 * event are written straight into out, between ds_frame_begin and ds_frame_end.
 * Newline framing must turn LFs into spaces: JSON of a PowerDNS event never has one
 * (ds_enc_json escapes control characters), so only the other bodies and a header whose
 * constant part holds one are looked at. */
static void encode_one(struct fwd_target *ft, struct ds_syslog_hdr *hdr, struct ds_buf *out,
                       const struct ds_rec *rec, const struct ds_enc_ctx *ctx)
{
    if (ft->format == DS_FMT_PDNS) {
        int rc = ds_enc_pdns(out, rec, ft->framing == DS_FRAMING_32BIT ? 32 : 16);
        if (rc != DS_OK)
            atomic_fetch_add(&ft->unencodable, 1);
        return;
    }
    size_t mark = ds_frame_begin(out, ft->framing);
    size_t head = out->len;
    ds_syslog_hdr_put(hdr, out, rec->kind == DS_REC_METRICS ? "metrics" : "dns", rec->time_us,
                      rec->seq);
    size_t body = out->len;
    int rc = ft->format == DS_FMT_BIND ? ds_enc_bind(out, rec, ctx) : ds_enc_json(out, rec, ctx);
    if (rc != DS_OK || out->len == body) {
        out->len = mark;
        atomic_fetch_add(&ft->unencodable, 1);
        return;
    }
    if (ft->framing == DS_FRAMING_NEWLINE) {
        if (hdr->has_lf)
            ds_frame_lf_to_space(out->data + head, body - head);
        if (ft->format != DS_FMT_JSON || rec->kind != DS_REC_PDNS)
            ds_frame_lf_to_space(out->data + body, out->len - body);
    }
    if (ds_frame_end(out, ft->framing, mark) != DS_OK)
        atomic_fetch_add(&ft->unencodable, 1);
}

static void encode_part(struct fwd_target *ft, struct ds_syslog_hdr *hdr, struct ds_buf *out,
                        const struct ds_rec *recs, int n)
{
    struct ds_enc_ctx ctx = {ft->f->instance, ft->f->hostname};
    ds_buf_reset(out);
    for (int i = 0; i < n; i++)
        encode_one(ft, hdr, out, &recs[i], &ctx);
}

static void helper_thread(void *arg)
{
    struct enc_helper *h = arg;
    ds_mutex_lock(&h->mu);
    for (;;) {
        while (!h->busy && !h->quit)
            ds_cond_wait(&h->cond, &h->mu);
        if (h->quit)
            break;
        const struct ds_rec *recs = h->recs;
        int n = h->n;
        ds_mutex_unlock(&h->mu);
        encode_part(h->ft, &h->hdr, &h->out, recs, n);
        ds_mutex_lock(&h->mu);
        h->busy = false;
        ds_cond_signal(&h->cond);
    }
    ds_mutex_unlock(&h->mu);
}

int ds__fwd_enc_start(struct fwd_target *ft, unsigned threads)
{
    if (threads <= 1 || ft->format == DS_FMT_PDNS)
        return DS_OK;
    ft->helpers = ds_xcalloc(threads - 1, sizeof(*ft->helpers));
    for (unsigned i = 0; i + 1 < threads; i++) {
        struct enc_helper *h = &ft->helpers[i];
        h->ft = ft;
        ds_mutex_init(&h->mu);
        ds_cond_init(&h->cond);
        ds_syslog_hdr_init(&h->hdr, ft->syslog, &ft->sid);
        ft->nhelpers = i + 1;
        char name[32];
        snprintf(name, sizeof name, "ds-enc-%d.%u", ft->index % 1000, i + 1);
        int rc = ds_thread_create(&h->thread, helper_thread, h, name);
        if (rc != DS_OK) {
            ds_log_error("forwarder", "%s: cannot start encoding thread %u: %s", ft->t.name,
                         i + 1, ds_strerror(rc));
            return rc;
        }
        h->started = true;
    }
    return DS_OK;
}

void ds__fwd_enc_stop(struct fwd_target *ft)
{
    for (unsigned i = 0; i < ft->nhelpers; i++) {
        struct enc_helper *h = &ft->helpers[i];
        if (h->started) {
            ds_mutex_lock(&h->mu);
            h->quit = true;
            ds_cond_signal(&h->cond);
            ds_mutex_unlock(&h->mu);
            ds_thread_join(&h->thread);
        }
        ds_buf_free(&h->out);
        ds_syslog_hdr_free(&h->hdr);
        ds_cond_destroy(&h->cond);
        ds_mutex_destroy(&h->mu);
    }
    free(ft->helpers);
    ft->helpers = NULL;
    ft->nhelpers = 0;
}

void ds__fwd_encode_batch(struct fwd_target *ft, const struct ds_rec *recs, int n)
{
    unsigned parts = ft->nhelpers + 1;
    ft->nparts = 1;
    if (parts == 1 || n < (int)(SPLIT_MIN * parts)) {
        encode_part(ft, &ft->hdr, &ft->out, recs, n);
        return;
    }
    int each = n / (int)parts, extra = n % (int)parts;
    int first = each + (extra > 0), at = first;
    for (unsigned i = 0; i < ft->nhelpers; i++) {
        struct enc_helper *h = &ft->helpers[i];
        int k = each + ((int)i + 1 < extra);
        ds_mutex_lock(&h->mu);
        h->recs = recs + at;
        h->n = k;
        h->busy = true;
        ds_cond_signal(&h->cond);
        ds_mutex_unlock(&h->mu);
        at += k;
    }
    encode_part(ft, &ft->hdr, &ft->out, recs, first);
    for (unsigned i = 0; i < ft->nhelpers; i++) {
        struct enc_helper *h = &ft->helpers[i];
        ds_mutex_lock(&h->mu);
        while (h->busy)
            ds_cond_wait(&h->cond, &h->mu);
        ds_mutex_unlock(&h->mu);
    }
    ft->nparts = parts;
}

/* Write what the last ds__fwd_encode_batch produced (possibly nothing), part by part.
 * While ds__fwd_stopping, the write timeout shrinks to what is left of the stop budget. */
int ds__fwd_write_out(struct fwd_target *ft)
{
    size_t total = ft->out.len;
    for (unsigned i = 0; i + 1 < ft->nparts; i++)
        total += ft->helpers[i].out.len;
    if (total == 0)
        return DS_OK;
    struct ds_fwd *f = ft->f;
    if (ds__fwd_stopping(f)) {
        unsigned left = ds__fwd_stop_remaining_ms(f);
        if (left == 0)
            return DS_ETIMEDOUT;
        unsigned w = left < ft->t.write_timeout_ms ? left : ft->t.write_timeout_ms;
        ds_sock_set_timeouts(ft->t.sock, w, w);
    }
    int rc = ft->out.len ? ds_target_write(&ft->t, ft->out.data, ft->out.len) : DS_OK;
    for (unsigned i = 0; rc == DS_OK && i + 1 < ft->nparts; i++) {
        const struct ds_buf *b = &ft->helpers[i].out;
        if (b->len)
            rc = ds_target_write(&ft->t, b->data, b->len);
    }
    return rc;
}
