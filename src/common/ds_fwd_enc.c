/*
 * ds_fwd_enc.c - turning a batch of ring records into the bytes one forwarder target
 * writes, on the target's own thread and, with encode-threads=N (N > 1), on N - 1
 * helper threads of that target.
 *
 * With helpers, a batch is cut into chunks of CHUNK consecutive records.  Every encoding
 * thread appends the chunks it takes to a buffer of its own (so the buffer stays in that
 * thread's cache from batch to batch) and notes where each chunk went.  The target thread posts the batch and then encodes chunks itself;
 * every thread takes the next chunk nobody has taken yet (one compare-and-swap), so a
 * helper that the scheduler holds back delays at most the chunk it has in hand, and the
 * work spreads over whatever threads get a CPU.  ds__fwd_write_out writes the chunks in
 * chunk order: the peer sees exactly the bytes, in exactly the order, one
 * thread would have written.  Batches of fewer than two chunks are encoded by the target
 * thread alone, into ft->out.  Every encoding thread keeps its own syslog header state
 * (the RFC 3164 time cache); the JSON encoder's time text cache is per thread already.
 *
 * The claim word holds the job's generation (bits 32-63), its number of chunks (16-31)
 * and the next chunk to take (0-15), so a helper still trying to claim from a finished job
 * cannot take a chunk of the next one, and reads nothing else before a claim succeeds.
 * The target thread changes the job only once every chunk of the previous one is done
 * (done == nchunks), and publishes it with the new claim word (release; a claim acquires).
 *
 * Ownership: the helpers, their output buffers and headers belong to the fwd_target
 * (ds__fwd_enc_start / ds__fwd_enc_stop).  The records belong to the ring and are held by
 * the target's cursor while helpers read them.
 * Threads: everything here is called by the target's thread only (start and stop by the
 * thread that starts and stops the manager, while the target thread is not running); a
 * helper appends only to its own buffer, and writes only the chunk notes (ref) of the
 * chunks it claimed, until it counts them done.
 */
#include "ds_fwd_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "ds_enc.h"
#include "ds_err.h"
#include "ds_log.h"

/* Records per chunk: about 30 microseconds of JSON, small enough to balance the threads,
 * large enough that claiming costs nothing. */
#define CHUNK 32

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

/* The ring's records were written by an input thread, usually on another core: the first
 * touch of each would wait for its cache lines to move.  Asking for the lines of a record
 * a few ahead overlaps that wait with the encoding of the current one. */
#define PREFETCH_AHEAD 4
static inline void prefetch_rec(const struct ds_rec *r)
{
#if defined(__GNUC__) || defined(__clang__)
    for (uint32_t off = 0; off < r->len && off < 512; off += 64)
        __builtin_prefetch(r->data + off, 0, 3);
#else
    (void)r;
#endif
}

/* Append the records to out. */
static void encode_range(struct fwd_target *ft, struct ds_syslog_hdr *hdr, struct ds_buf *out,
                         const struct ds_rec *recs, int n)
{
    struct ds_enc_ctx ctx = {ft->f->instance, ft->f->hostname};
    for (int i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n)
            prefetch_rec(&recs[i + PREFETCH_AHEAD]);
        encode_one(ft, hdr, out, &recs[i], &ctx);
    }
}

/* Claim and encode chunks of job generation gen until none is left, appending them to
 * out (this thread's own buffer, emptied first) and noting where each went (who: 0 for the
 * target thread, h + 1 for helper h).  Returns whether this thread finished the job's last
 * chunk. */
static bool work_chunks(struct fwd_target *ft, unsigned who, struct ds_syslog_hdr *hdr,
                        struct ds_buf *out, uint32_t gen)
{
    struct enc_pool *pl = ft->pool;
    bool last = false;
    ds_buf_reset(out);
    uint64_t w = atomic_load_explicit(&pl->claim, memory_order_acquire);
    for (;;) {
        uint32_t c = (uint32_t)w & 0xffff, nchunks = (uint32_t)(w >> 16) & 0xffff;
        if ((uint32_t)(w >> 32) != gen || c >= nchunks)
            return last;
        if (!atomic_compare_exchange_weak_explicit(&pl->claim, &w, w + 1, memory_order_acquire,
                                                   memory_order_acquire))
            continue; /* w now holds the current word */
        int from = (int)c * CHUNK, k = pl->n - from < CHUNK ? pl->n - from : CHUNK;
        size_t at = out->len;
        encode_range(ft, hdr, out, pl->recs + from, k);
        pl->ref[c] = (struct chunk_ref){who, at, out->len - at};
        if (atomic_fetch_add_explicit(&pl->done, 1, memory_order_acq_rel) + 1 == nchunks)
            last = true;
        w = atomic_load_explicit(&pl->claim, memory_order_acquire);
    }
}

static void helper_thread(void *arg)
{
    struct enc_helper *h = arg;
    struct fwd_target *ft = h->ft;
    struct enc_pool *pl = ft->pool;
    uint32_t seen = 0;
    ds_mutex_lock(&pl->mu);
    for (;;) {
        while (pl->gen == seen && !pl->quit)
            ds_cond_wait(&pl->job_cond, &pl->mu);
        if (pl->quit)
            break;
        seen = pl->gen;
        ds_mutex_unlock(&pl->mu);
        bool last = work_chunks(ft, h->who, &h->hdr, &h->out, seen);
        ds_mutex_lock(&pl->mu);
        if (last)
            ds_cond_signal(&pl->done_cond);
    }
    ds_mutex_unlock(&pl->mu);
}

int ds__fwd_enc_start(struct fwd_target *ft, unsigned threads, unsigned batch)
{
    if (threads <= 1 || ft->format == DS_FMT_PDNS)
        return DS_OK;
    struct enc_pool *pl = ds_xcalloc(1, sizeof(*pl));
    ft->pool = pl;
    ds_mutex_init(&pl->mu);
    ds_cond_init(&pl->job_cond);
    ds_cond_init(&pl->done_cond);
    pl->maxchunks = (batch + CHUNK - 1) / CHUNK;
    pl->ref = ds_xcalloc(pl->maxchunks, sizeof(*pl->ref));
    pl->helpers = ds_xcalloc(threads - 1, sizeof(*pl->helpers));
    for (unsigned i = 0; i + 1 < threads; i++) {
        struct enc_helper *h = &pl->helpers[i];
        h->ft = ft;
        h->who = i + 1;
        ds_syslog_hdr_init(&h->hdr, ft->syslog, &ft->sid);
        pl->nhelpers = i + 1;
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
    struct enc_pool *pl = ft->pool;
    if (!pl)
        return;
    ds_mutex_lock(&pl->mu);
    pl->quit = true;
    ds_cond_broadcast(&pl->job_cond);
    ds_mutex_unlock(&pl->mu);
    for (unsigned i = 0; i < pl->nhelpers; i++) {
        struct enc_helper *h = &pl->helpers[i];
        if (h->started)
            ds_thread_join(&h->thread);
        ds_syslog_hdr_free(&h->hdr);
        ds_buf_free(&h->out);
    }
    free(pl->ref);
    free(pl->helpers);
    ds_cond_destroy(&pl->done_cond);
    ds_cond_destroy(&pl->job_cond);
    ds_mutex_destroy(&pl->mu);
    free(pl);
    ft->pool = NULL;
}

void ds__fwd_encode_batch(struct fwd_target *ft, const struct ds_rec *recs, int n)
{
    struct enc_pool *pl = ft->pool;
    uint32_t nchunks = (uint32_t)(n + CHUNK - 1) / CHUNK;
    ft->nchunks = 0;
    /* (more chunks than maxchunks never happens: batches are at most forwarder-batch-size) */
    if (!pl || n < 2 * CHUNK || nchunks > pl->maxchunks) {
        ds_buf_reset(&ft->out);
        encode_range(ft, &ft->hdr, &ft->out, recs, n);
        return;
    }
    /* Every chunk of the previous job is done: no helper reads these fields now. */
    pl->recs = recs;
    pl->n = n;
    atomic_store_explicit(&pl->done, 0, memory_order_relaxed);
    ds_mutex_lock(&pl->mu);
    uint32_t gen = ++pl->gen;
    atomic_store_explicit(&pl->claim, (uint64_t)gen << 32 | (uint64_t)nchunks << 16,
                          memory_order_release);
    ds_cond_broadcast(&pl->job_cond);
    ds_mutex_unlock(&pl->mu);
    work_chunks(ft, 0, &ft->hdr, &ft->out, gen);
    if (atomic_load_explicit(&pl->done, memory_order_acquire) != nchunks) {
        ds_mutex_lock(&pl->mu);
        while (atomic_load_explicit(&pl->done, memory_order_acquire) != nchunks)
            ds_cond_wait(&pl->done_cond, &pl->mu);
        ds_mutex_unlock(&pl->mu);
    }
    ft->nchunks = nchunks;
}

static const struct ds_buf *buf_of(const struct fwd_target *ft, unsigned who)
{
    return who == 0 ? &ft->out : &ft->pool->helpers[who - 1].out;
}

/* Write what the last ds__fwd_encode_batch produced (possibly nothing): ft->out, or the
 * chunks in chunk order, each from the buffer of the thread that encoded it (consecutive
 * chunks one thread encoded lie next to each other and go in one write).  While
 * ds__fwd_stopping, the write timeout shrinks to what is left of the stop budget. */
int ds__fwd_write_out(struct fwd_target *ft)
{
    const struct chunk_ref *ref = ft->nchunks ? ft->pool->ref : NULL;
    struct chunk_ref whole = {0, 0, ft->out.len};
    unsigned n = ft->nchunks ? ft->nchunks : 1;
    if (!ref)
        ref = &whole;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += ref[i].len;
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
    int rc = DS_OK;
    for (unsigned i = 0; rc == DS_OK && i < n;) {
        unsigned who = ref[i].who;
        size_t off = ref[i].off, len = ref[i].len;
        for (i++; i < n && ref[i].who == who && ref[i].off == off + len; i++)
            len += ref[i].len;
        if (len)
            rc = ds_target_write(&ft->t, buf_of(ft, who)->data + off, len);
    }
    return rc;
}
