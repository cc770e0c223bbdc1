/*
 * ds_fwd.c - the forwarder manager.  See ds_fwd.h and docs/delivery.md.
 *
 * Broadcast: one thread per target, each reading the ring through its own cursor.
 * Written batches that may still have to be resent are kept as "marks" (seq range
 * and wire offset); recovery after a failure is a cursor rewind:
 *   drop        releases the in-flight batch and goes on after it;
 *   best-effort releases a batch once written; rewinds to the in-flight batch;
 *   durable     releases a batch only once the batch after it was written and the
 *               peer's TCP acknowledged every byte of it (where the platform tells);
 *               rewinds to the oldest kept batch (at least the previous one).
 *
 * Failover / roundrobin / sharded: one dispatcher thread reads the ring through one
 * cursor and hands "items" (a batch, or the part of a batch for one shard) to the
 * target threads.  The same recovery rules decide which items of a failed target go
 * back to the dispatcher (to be delivered by another target, before new records)
 * and which are dropped.  The cursor is released up to the oldest item still alive.
 */
#include "ds_fwd.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ds_err.h"
#include "ds_log.h"
#include "ds_pb.h"
#include "ds_plat.h"
#include "ds_syslog.h"
#include "ds_target.h"

#define READ_WAIT_MS 200
#define BATCH_MAX_BYTES (4u << 20)
#define STOP_BUDGET_MS 5000
#define INBOX_MAX 2
#define PEER_CLOSED_DRAIN_MS 1000
#define PEER_CLOSED_MAX_WAIT_MS 30000

enum tstate { TS_CONNECTING = 0, TS_CONNECTED, TS_BACKOFF, TS_STOPPED };
static const char *const tstate_names[] = {"connecting", "connected", "backoff", "stopped"};

/* A written batch that may still have to be resent (broadcast). */
struct mark {
    uint64_t first, last, end_off;
    uint32_t count;
};

/* A unit of work of the group modes. */
struct item {
    struct item *next;
    struct ds_rec *recs;
    int n;
    uint64_t end_off;
};

struct item_list {
    struct item *head, *tail;
    int count;
};

struct fwd_target {
    struct ds_fwd *f;
    int index;
    struct ds_target t;
    enum ds_format format;
    enum ds_syslog syslog;
    enum ds_framing framing;
    enum ds_recovery recovery;
    struct ds_syslog_id sid;
    int cursor; /* broadcast */
    struct ds_thread thread;
    bool thread_started;

    struct ds_buf out;
    struct ds_syslog_hdr hdr;
    struct ds_rec *recs;
    struct mark *marks;
    size_t nmarks, capmarks;

    /* group modes, under f->glock */
    struct ds_cond cond;
    struct item_list inbox, kept;
    struct item *cur;
    bool up;

    atomic_uint_fast64_t forwarded, connects, failures, resent, dropped, unencodable;
    atomic_int state;
    struct ds_mutex addr_lock;
    char addr[64];
};

struct ds_fwd {
    struct ds_ring *ring;
    enum ds_fwd_mode mode;
    unsigned batch;
    char *instance, *hostname;
    int procid;
    struct fwd_target *targets;
    size_t n;

    atomic_bool stop;
    uint64_t stop_deadline; /* monotonic ms, valid once stop is set */
    struct ds_mutex wait_lock;
    struct ds_cond wait_cond;

    /* group modes */
    int gcursor;
    struct ds_thread dispatcher;
    bool dispatcher_started;
    struct ds_mutex glock;
    struct ds_cond gcond;
    struct item_list retry;
    bool group_done;
    unsigned rr_next;
    uint64_t last_read, released;
    uint64_t *redo; /* seqs to deliver again after an all-down rewind, sorted */
    size_t nredo;
    uint64_t redo_hi;
    atomic_uint_fast64_t g_skipped_redo;
};

static const char *mode_name(enum ds_fwd_mode m)
{
    switch (m) {
    case DS_FWD_BROADCAST:
        return "broadcast";
    case DS_FWD_FAILOVER:
        return "failover";
    case DS_FWD_ROUNDROBIN:
        return "roundrobin";
    case DS_FWD_SHARDED:
        return "sharded";
    }
    return "broadcast";
}

/* ---- small helpers --------------------------------------------------------- */
static bool stopping(struct ds_fwd *f) { return atomic_load(&f->stop); }

static bool past_deadline(struct ds_fwd *f)
{
    return stopping(f) && ds_time_mono_ms() >= f->stop_deadline;
}

static unsigned stop_remaining_ms(struct ds_fwd *f)
{
    uint64_t now = ds_time_mono_ms();
    return now >= f->stop_deadline ? 0 : (unsigned)(f->stop_deadline - now);
}

/* Sleep up to ms, returning early when the manager stops. */
static void pause_ms(struct ds_fwd *f, unsigned ms)
{
    uint64_t end = ds_time_mono_ms() + ms;
    ds_mutex_lock(&f->wait_lock);
    while (!stopping(f)) {
        uint64_t now = ds_time_mono_ms();
        if (now >= end)
            break;
        ds_cond_timedwait_ms(&f->wait_cond, &f->wait_lock, (unsigned)(end - now));
    }
    ds_mutex_unlock(&f->wait_lock);
}

static void set_state(struct fwd_target *ft, enum tstate s)
{
    atomic_store(&ft->state, (int)s);
    ds_mutex_lock(&ft->addr_lock);
    if (s == TS_CONNECTED)
        snprintf(ft->addr, sizeof ft->addr, "%s", ft->t.addr);
    else
        ft->addr[0] = 0;
    ds_mutex_unlock(&ft->addr_lock);
}

/* ---- encoding --------------------------------------------------------------- */
/* Append one record, framed, to ft->out.  Records the format cannot carry (metrics in
 * pdns, responses in bind, malformed protobuf) are counted and left out.  The header and
 * the event are written straight into ft->out, between ds_frame_begin and ds_frame_end.
 * Newline framing must turn LFs into spaces: JSON of a PowerDNS event never has one
 * (ds_enc_json escapes control characters), so only the other bodies and a header whose
 * constant part holds one are looked at. */
static void encode_one(struct fwd_target *ft, const struct ds_rec *rec, const struct ds_enc_ctx *ctx)
{
    if (ft->format == DS_FMT_PDNS) {
        int rc = ds_enc_pdns(&ft->out, rec, ft->framing == DS_FRAMING_32BIT ? 32 : 16);
        if (rc != DS_OK)
            atomic_fetch_add(&ft->unencodable, 1);
        return;
    }
    struct ds_buf *out = &ft->out;
    size_t mark = ds_frame_begin(out, ft->framing);
    size_t head = out->len;
    ds_syslog_hdr_put(&ft->hdr, out, rec->kind == DS_REC_METRICS ? "metrics" : "dns",
                      rec->time_us, rec->seq);
    size_t body = out->len;
    int rc = ft->format == DS_FMT_BIND ? ds_enc_bind(out, rec, ctx) : ds_enc_json(out, rec, ctx);
    if (rc != DS_OK || out->len == body) {
        out->len = mark;
        atomic_fetch_add(&ft->unencodable, 1);
        return;
    }
    if (ft->framing == DS_FRAMING_NEWLINE) {
        if (ft->hdr.has_lf)
            ds_frame_lf_to_space(out->data + head, body - head);
        if (ft->format != DS_FMT_JSON || rec->kind != DS_REC_PDNS)
            ds_frame_lf_to_space(out->data + body, out->len - body);
    }
    if (ds_frame_end(out, ft->framing, mark) != DS_OK)
        atomic_fetch_add(&ft->unencodable, 1);
}

static void encode_batch(struct fwd_target *ft, const struct ds_rec *recs, int n)
{
    struct ds_enc_ctx ctx = {ft->f->instance, ft->f->hostname};
    ds_buf_reset(&ft->out);
    for (int i = 0; i < n; i++)
        encode_one(ft, &recs[i], &ctx);
}

/* Write ft->out (possibly empty).  While stopping, the write timeout shrinks to what is
 * left of the stop budget. */
static int write_out(struct fwd_target *ft)
{
    if (ft->out.len == 0)
        return DS_OK;
    struct ds_fwd *f = ft->f;
    if (stopping(f)) {
        unsigned left = stop_remaining_ms(f);
        if (left == 0)
            return DS_ETIMEDOUT;
        unsigned w = left < ft->t.write_timeout_ms ? left : ft->t.write_timeout_ms;
        ds_sock_set_timeouts(ft->t.sock, w, w);
    }
    return ds_target_write(&ft->t, ft->out.data, ft->out.len);
}

static void log_failure(struct fwd_target *ft, const char *what, int rc)
{
    ds_log_warn("forwarder", "%s: connection to %s failed (%s: %s)", ft->t.name, ft->t.addr, what,
                ds_strerror(rc));
}

/* Close after a failure: a peer that closed its side gets a short graceful close (it
 * may still be reading); anything else is reset. */
static void close_failed(struct fwd_target *ft, int rc)
{
    if (rc == DS_ECLOSED)
        ds_target_close(&ft->t, true, PEER_CLOSED_DRAIN_MS);
    else
        ds_target_close(&ft->t, false, 0);
}

/* ---- broadcast -------------------------------------------------------------- */
static void push_mark(struct fwd_target *ft, const struct ds_rec *recs, int n, uint64_t end_off)
{
    if (ft->nmarks == ft->capmarks) {
        ft->capmarks = ft->capmarks ? ft->capmarks * 2 : 16;
        ft->marks = ds_xrealloc(ft->marks, ft->capmarks * sizeof(*ft->marks));
    }
    ft->marks[ft->nmarks++] = (struct mark){recs[0].seq, recs[n - 1].seq, end_off, (uint32_t)n};
}

/* Durable: how many of the oldest written batches may go, given the wire offsets at
 * which each ended (end_off(i), i < n): all but the one before the first batch the peer
 * has not fully acknowledged; without acknowledgement information, all but the last. */
#define DURABLE_RELEASABLE(ft, n, end_off_of_i, out)                           \
    do {                                                                      \
        uint64_t acked_;                                                      \
        size_t j_ = 0;                                                        \
        if (ds_target_acked(&(ft)->t, &acked_) != DS_OK) {                    \
            j_ = (n);                                                         \
        } else {                                                              \
            for (size_t i = 0; i < (n) && (end_off_of_i) <= acked_; i++)      \
                j_ = i + 1;                                                   \
        }                                                                     \
        (out) = j_ > 0 ? j_ - 1 : 0;                                          \
    } while (0)

static void bcast_release(struct fwd_target *ft)
{
    struct ds_fwd *f = ft->f;
    if (ft->nmarks == 0)
        return;
    size_t k;
    if (ft->recovery != DS_RECOVERY_DURABLE)
        k = ft->nmarks;
    else
        DURABLE_RELEASABLE(ft, ft->nmarks, ft->marks[i].end_off, k);
    if (k == 0)
        return;
    ds_ring_release(f->ring, ft->cursor, ft->marks[k - 1].last);
    memmove(ft->marks, ft->marks + k, (ft->nmarks - k) * sizeof(*ft->marks));
    ft->nmarks -= k;
}

/* Before recovery decides what to resend: a peer that closed its side gets our close
 * and time to acknowledge what it still reads (while acknowledgements progress, within
 * write-timeout each, 30 s at most); then every batch the peer's TCP
 * acknowledged by now (while a write was blocked, say) counts as delivered. */
static void settle_acks(struct fwd_target *ft, int rc)
{
    if (rc != DS_ECLOSED)
        return;
    unsigned max = PEER_CLOSED_MAX_WAIT_MS;
    if (stopping(ft->f) && stop_remaining_ms(ft->f) < max)
        max = stop_remaining_ms(ft->f);
    ds_target_half_close(&ft->t, ft->t.write_timeout_ms, max);
}

static void bcast_fail(struct fwd_target *ft, const struct ds_rec *inflight, int n, int rc)
{
    struct ds_fwd *f = ft->f;
    uint64_t resend = 0;
    settle_acks(ft, rc);
    if (ft->recovery == DS_RECOVERY_DURABLE)
        bcast_release(ft);
    switch (ft->recovery) {
    case DS_RECOVERY_DROP:
        if (n > 0) {
            ds_ring_release(f->ring, ft->cursor, inflight[n - 1].seq);
            atomic_fetch_add(&ft->dropped, (uint64_t)n);
        }
        break;
    case DS_RECOVERY_BEST_EFFORT:
        if (n > 0) {
            ds_ring_rewind(f->ring, ft->cursor, inflight[0].seq);
            resend = (uint64_t)n;
        }
        break;
    case DS_RECOVERY_DURABLE:
        for (size_t i = 0; i < ft->nmarks; i++)
            resend += ft->marks[i].count;
        resend += (uint64_t)n;
        if (ft->nmarks > 0)
            ds_ring_rewind(f->ring, ft->cursor, ft->marks[0].first);
        else if (n > 0)
            ds_ring_rewind(f->ring, ft->cursor, inflight[0].seq);
        break;
    }
    ft->nmarks = 0;
    atomic_fetch_add(&ft->resent, resend);
    atomic_fetch_add(&ft->failures, 1);
    close_failed(ft, rc);
    ds_ring_cursor_set_connected(f->ring, ft->cursor, false);
    if (resend)
        ds_log_info("forwarder", "%s: %llu event(s) will be resent (%s)", ft->t.name,
                    (unsigned long long)resend,
                    ft->recovery == DS_RECOVERY_DURABLE ? "durable" : "best-effort");
}

static bool connect_target(struct fwd_target *ft)
{
    struct ds_fwd *f = ft->f;
    set_state(ft, TS_CONNECTING);
    int rc = ds_target_connect(&ft->t, &f->stop);
    if (rc == DS_OK) {
        atomic_fetch_add(&ft->connects, 1);
        set_state(ft, TS_CONNECTED);
        return true;
    }
    atomic_fetch_add(&ft->failures, 1);
    set_state(ft, TS_BACKOFF);
    if (!stopping(f)) {
        unsigned ms = ds_target_backoff(&ft->t);
        ds_log_debug("forwarder", "%s: next attempt in %u ms", ft->t.name, ms);
        pause_ms(f, ms);
    }
    return false;
}

static void backoff_after_failure(struct fwd_target *ft)
{
    set_state(ft, TS_BACKOFF);
    if (!stopping(ft->f))
        pause_ms(ft->f, ds_target_backoff(&ft->t));
}

/* A clean end: the ring is shut down and everything this target could read was
 * written.  Close gracefully; what the peer confirmed by closing its side is released. */
static void bcast_finish(struct fwd_target *ft)
{
    struct ds_fwd *f = ft->f;
    unsigned left = stop_remaining_ms(f);
    int rc = ds_target_close(&ft->t, true, left > 100 ? left : 100);
    if (rc == DS_OK && ft->nmarks > 0) {
        ds_ring_release(f->ring, ft->cursor, ft->marks[ft->nmarks - 1].last);
        ft->nmarks = 0;
    }
    ds_log_info("forwarder", "%s: closed%s", ft->t.name,
                rc == DS_OK ? "" : " (the peer did not confirm the close)");
}

static void bcast_thread(void *arg)
{
    struct fwd_target *ft = arg;
    struct ds_fwd *f = ft->f;
    for (;;) {
        if (!ds_target_connected(&ft->t)) {
            if (stopping(f))
                break;
            if (!connect_target(ft))
                continue;
            ds_ring_cursor_set_connected(f->ring, ft->cursor, true);
        }
        if (past_deadline(f)) {
            ds_target_close(&ft->t, false, 0);
            break;
        }
        int n = ds_ring_read(f->ring, ft->cursor, ft->recs, (int)f->batch, BATCH_MAX_BYTES,
                             READ_WAIT_MS);
        if (n == DS_ECLOSED) {
            bcast_finish(ft);
            break;
        }
        if (n < 0) {
            ds_log_error("forwarder", "%s: ring read failed: %s", ft->t.name, ds_strerror(n));
            pause_ms(f, READ_WAIT_MS);
            continue;
        }
        int rc = ds_target_check(&ft->t);
        if (rc != DS_OK) {
            /* The batch just read was not sent: it is not in flight. */
            if (n > 0)
                ds_ring_rewind(f->ring, ft->cursor, ft->recs[0].seq);
            log_failure(ft, "peer check", rc);
            bcast_fail(ft, NULL, 0, rc);
            backoff_after_failure(ft);
            continue;
        }
        if (n == 0) {
            if (ft->recovery == DS_RECOVERY_DURABLE)
                bcast_release(ft);
            continue;
        }
        encode_batch(ft, ft->recs, n);
        rc = write_out(ft);
        if (rc != DS_OK) {
            log_failure(ft, "write", rc);
            bcast_fail(ft, ft->recs, n, rc);
            backoff_after_failure(ft);
            continue;
        }
        atomic_fetch_add(&ft->forwarded, (uint64_t)n);
        ds_target_backoff_reset(&ft->t);
        push_mark(ft, ft->recs, n, ds_target_wire_out(&ft->t));
        bcast_release(ft);
    }
    ds_ring_cursor_set_connected(f->ring, ft->cursor, false);
    set_state(ft, TS_STOPPED);
}

/* ---- group modes: items --------------------------------------------------- */
static void list_push(struct item_list *l, struct item *it)
{
    it->next = NULL;
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->count++;
}

static struct item *list_pop(struct item_list *l)
{
    struct item *it = l->head;
    if (it) {
        l->head = it->next;
        if (!l->head)
            l->tail = NULL;
        l->count--;
        it->next = NULL;
    }
    return it;
}

/* Insert keeping the list ordered by first seq (retry list). */
static void list_insert_sorted(struct item_list *l, struct item *it)
{
    struct item **pp = &l->head, *prev = NULL;
    while (*pp && (*pp)->recs[0].seq <= it->recs[0].seq) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    it->next = *pp;
    *pp = it;
    if (!it->next)
        l->tail = it;
    (void)prev;
    l->count++;
}

static void item_free(struct item *it)
{
    if (it) {
        free(it->recs);
        free(it);
    }
}

static struct item *item_new(int cap)
{
    struct item *it = ds_xcalloc(1, sizeof(*it));
    it->recs = ds_xmalloc(sizeof(struct ds_rec) * (size_t)(cap > 0 ? cap : 1));
    return it;
}

static uint64_t item_min_seq(const struct item *it) { return it->recs[0].seq; }

static void list_min(const struct item_list *l, uint64_t *min)
{
    for (const struct item *it = l->head; it; it = it->next)
        if (*min == 0 || item_min_seq(it) < *min)
            *min = item_min_seq(it);
}

/* Oldest seq still alive anywhere (0: none).  Under glock. */
static uint64_t group_min_alive(struct ds_fwd *f)
{
    uint64_t min = 0;
    list_min(&f->retry, &min);
    for (size_t i = 0; i < f->n; i++) {
        struct fwd_target *ft = &f->targets[i];
        list_min(&ft->inbox, &min);
        list_min(&ft->kept, &min);
        if (ft->cur && (min == 0 || item_min_seq(ft->cur) < min))
            min = item_min_seq(ft->cur);
    }
    return min;
}

static bool group_any_alive(struct ds_fwd *f) { return group_min_alive(f) != 0; }

/* Work not written yet (kept items are written).  Under glock. */
static bool group_pending(struct ds_fwd *f)
{
    if (f->retry.count)
        return true;
    for (size_t i = 0; i < f->n; i++)
        if (f->targets[i].inbox.count || f->targets[i].cur)
            return true;
    return false;
}

static int first_up_from(struct ds_fwd *f, size_t start)
{
    for (size_t k = 0; k < f->n; k++) {
        size_t i = (start + k) % f->n;
        if (f->targets[i].up)
            return (int)i;
    }
    return -1;
}

static size_t shard_of(struct ds_fwd *f, const struct ds_rec *r)
{
    /* The client address (field 6, "from"); records without one share a hash. */
    struct ds_pb_span from = {0, 0};
    if (r->kind != DS_REC_PDNS || ds_pb_get_from(r->data, r->len, &from) != DS_OK)
        from.len = 0;
    uLong h = crc32(0L, Z_NULL, 0);
    if (from.len)
        h = crc32(h, r->data + from.off, (uInt)from.len);
    return (size_t)(h % f->n);
}

static void give(struct ds_fwd *f, int ti, struct item *it)
{
    list_push(&f->targets[ti].inbox, it);
    ds_cond_signal(&f->targets[ti].cond);
}

/* Hand an item to the target(s) the mode picks.  Under glock; some target is up. */
static void group_assign(struct ds_fwd *f, struct item *it)
{
    if (f->mode == DS_FWD_FAILOVER) {
        give(f, first_up_from(f, 0), it);
        return;
    }
    if (f->mode == DS_FWD_ROUNDROBIN) {
        int ti = first_up_from(f, f->rr_next % f->n);
        f->rr_next = (unsigned)ti + 1;
        give(f, ti, it);
        return;
    }
    /* sharded: split by owner, keeping the order inside each part */
    int owner0 = first_up_from(f, shard_of(f, &it->recs[0]));
    bool single = true;
    for (int i = 1; i < it->n && single; i++)
        single = first_up_from(f, shard_of(f, &it->recs[i])) == owner0;
    if (single) {
        give(f, owner0, it);
        return;
    }
    struct item **parts = ds_xcalloc(f->n, sizeof(*parts));
    for (int i = 0; i < it->n; i++) {
        int o = first_up_from(f, shard_of(f, &it->recs[i]));
        if (!parts[o])
            parts[o] = item_new(it->n);
        parts[o]->recs[parts[o]->n++] = it->recs[i];
    }
    for (size_t o = 0; o < f->n; o++)
        if (parts[o])
            give(f, (int)o, parts[o]);
    free(parts);
    item_free(it);
}

/* Can the dispatcher read a new batch now?  Under glock. */
static bool group_has_room(struct ds_fwd *f)
{
    if (f->mode == DS_FWD_FAILOVER) {
        int ti = first_up_from(f, 0);
        return ti >= 0 && f->targets[ti].inbox.count < INBOX_MAX;
    }
    if (f->mode == DS_FWD_ROUNDROBIN) {
        int ti = first_up_from(f, f->rr_next % f->n);
        return ti >= 0 && f->targets[ti].inbox.count < INBOX_MAX;
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->targets[i].up && f->targets[i].inbox.count >= INBOX_MAX)
            return false;
    return first_up_from(f, 0) >= 0;
}

static bool in_redo(struct ds_fwd *f, uint64_t seq)
{
    size_t lo = 0, hi = f->nredo;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (f->redo[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->nredo && f->redo[lo] == seq;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every target is down: let go of the ring records (the ring may drop them on
 * overflow while this cursor is disconnected), remember which seqs must be delivered
 * again and rewind to the oldest.  Under glock. */
static void group_all_down(struct ds_fwd *f)
{
    if (f->retry.count == 0)
        return;
    size_t total = 0;
    for (struct item *it = f->retry.head; it; it = it->next)
        total += (size_t)it->n;
    uint64_t *seqs = ds_xmalloc(sizeof(uint64_t) * (total + f->nredo));
    size_t k = 0;
    for (struct item *it; (it = list_pop(&f->retry));) {
        for (int i = 0; i < it->n; i++)
            seqs[k++] = it->recs[i].seq;
        item_free(it);
    }
    /* seqs of an earlier rewind that were not read again yet stay to do */
    for (size_t i = 0; i < f->nredo; i++)
        if (f->redo[i] > f->last_read)
            seqs[k++] = f->redo[i];
    qsort(seqs, k, sizeof(*seqs), cmp_u64);
    free(f->redo);
    f->redo = seqs;
    f->nredo = k;
    if (f->last_read > f->redo_hi)
        f->redo_hi = f->last_read;
    ds_ring_rewind(f->ring, f->gcursor, seqs[0]);
    f->last_read = seqs[0] - 1;
    ds_log_info("forwarder", "all %s targets are down: %zu event(s) to deliver again",
                mode_name(f->mode), k);
}

static void dispatcher_thread(void *arg)
{
    struct ds_fwd *f = arg;
    struct ds_rec *recs = ds_xmalloc(sizeof(*recs) * f->batch);
    bool connected = false, ring_eof = false;
    ds_mutex_lock(&f->glock);
    for (;;) {
        /* release what no item needs any more */
        uint64_t min = group_min_alive(f);
        uint64_t upto = min ? min - 1 : f->last_read;
        if (upto > f->released) {
            f->released = upto;
            ds_ring_release(f->ring, f->gcursor, upto);
        }
        if (past_deadline(f) || (ring_eof && !group_pending(f))) {
            f->group_done = true;
            break;
        }
        if (first_up_from(f, 0) < 0) {
            group_all_down(f);
            if (connected) {
                ds_ring_cursor_set_connected(f->ring, f->gcursor, false);
                connected = false;
            }
            if (stopping(f) && ring_eof)
                break;
            if (stopping(f) && !group_any_alive(f)) {
                /* nobody left to take the rest: what is unread stays in the ring */
                break;
            }
            ds_cond_timedwait_ms(&f->gcond, &f->glock, READ_WAIT_MS);
            continue;
        }
        if (!connected) {
            ds_ring_cursor_set_connected(f->ring, f->gcursor, true);
            connected = true;
        }
        while (f->retry.count > 0)
            group_assign(f, list_pop(&f->retry));
        if (ring_eof || !group_has_room(f)) {
            ds_cond_timedwait_ms(&f->gcond, &f->glock, READ_WAIT_MS);
            continue;
        }
        ds_mutex_unlock(&f->glock);
        int n = ds_ring_read(f->ring, f->gcursor, recs, (int)f->batch, BATCH_MAX_BYTES,
                             READ_WAIT_MS);
        ds_mutex_lock(&f->glock);
        if (n == DS_ECLOSED) {
            ring_eof = true;
            for (size_t i = 0; i < f->n; i++)
                ds_cond_signal(&f->targets[i].cond);
            continue;
        }
        if (n <= 0)
            continue;
        f->last_read = recs[n - 1].seq;
        struct item *it = item_new(n);
        for (int i = 0; i < n; i++) {
            if (recs[i].seq <= f->redo_hi && !in_redo(f, recs[i].seq)) {
                atomic_fetch_add(&f->g_skipped_redo, 1); /* delivered before the rewind */
                continue;
            }
            it->recs[it->n++] = recs[i];
        }
        if (f->nredo && f->last_read >= f->redo_hi) {
            free(f->redo);
            f->redo = NULL;
            f->nredo = 0;
        }
        if (it->n == 0) {
            item_free(it);
            continue;
        }
        if (first_up_from(f, 0) < 0) {
            list_insert_sorted(&f->retry, it);
        } else {
            /* items that came back while the read waited go first */
            while (f->retry.count > 0)
                group_assign(f, list_pop(&f->retry));
            group_assign(f, it);
        }
    }
    f->group_done = true;
    for (size_t i = 0; i < f->n; i++)
        ds_cond_signal(&f->targets[i].cond);
    ds_mutex_unlock(&f->glock);
    if (connected)
        ds_ring_cursor_set_connected(f->ring, f->gcursor, false);
    free(recs);
}

/* After a successful write: which kept items may go.  Under glock. */
static void group_release_kept(struct fwd_target *ft)
{
    if (ft->recovery != DS_RECOVERY_DURABLE) {
        for (struct item *it; (it = list_pop(&ft->kept));)
            item_free(it);
        return;
    }
    /* the ends of the kept items, oldest first */
    size_t n = (size_t)ft->kept.count, k;
    uint64_t *ends = ds_xmalloc(sizeof(uint64_t) * (n ? n : 1));
    size_t m = 0;
    for (struct item *it = ft->kept.head; it; it = it->next)
        ends[m++] = it->end_off;
    DURABLE_RELEASABLE(ft, n, ends[i], k);
    free(ends);
    while (k-- > 0)
        item_free(list_pop(&ft->kept));
}

/* A target failed with `inflight` (may be NULL) unwritten.  Under glock. */
static void group_fail(struct fwd_target *ft, struct item *inflight)
{
    struct ds_fwd *f = ft->f;
    uint64_t resend = 0;
    ft->up = false;
    if (ft->recovery == DS_RECOVERY_DURABLE) {
        for (struct item *it; (it = list_pop(&ft->kept));) {
            resend += (uint64_t)it->n;
            list_insert_sorted(&f->retry, it);
        }
    } else {
        for (struct item *it; (it = list_pop(&ft->kept));)
            item_free(it);
    }
    if (inflight) {
        if (ft->recovery == DS_RECOVERY_DROP) {
            atomic_fetch_add(&ft->dropped, (uint64_t)inflight->n);
            item_free(inflight);
        } else {
            resend += (uint64_t)inflight->n;
            list_insert_sorted(&f->retry, inflight);
        }
    }
    /* queued items were never sent: another target takes them */
    for (struct item *it; (it = list_pop(&ft->inbox));)
        list_insert_sorted(&f->retry, it);
    atomic_fetch_add(&ft->resent, resend);
    ds_cond_signal(&f->gcond);
}

static void group_target_thread(void *arg)
{
    struct fwd_target *ft = arg;
    struct ds_fwd *f = ft->f;
    for (;;) {
        if (!ds_target_connected(&ft->t)) {
            ds_mutex_lock(&f->glock);
            bool done = f->group_done;
            ds_mutex_unlock(&f->glock);
            if (stopping(f) || done)
                break;
            if (!connect_target(ft))
                continue;
            ds_mutex_lock(&f->glock);
            ft->up = true;
            ds_cond_signal(&f->gcond);
            ds_mutex_unlock(&f->glock);
        }
        ds_mutex_lock(&f->glock);
        if (ft->inbox.count == 0 && !f->group_done)
            ds_cond_timedwait_ms(&ft->cond, &f->glock, READ_WAIT_MS);
        struct item *it = list_pop(&ft->inbox);
        bool done = !it && f->group_done;
        if (!it && !done && ft->recovery == DS_RECOVERY_DURABLE)
            group_release_kept(ft);
        ft->cur = it;
        ds_mutex_unlock(&f->glock);

        if (done || past_deadline(f)) {
            unsigned left = stop_remaining_ms(f);
            bool graceful = !past_deadline(f);
            int rc = ds_target_close(&ft->t, graceful, left > 100 ? left : 100);
            ds_mutex_lock(&f->glock);
            if (it)
                list_push(&ft->inbox, it);
            ft->cur = NULL;
            if (graceful && rc == DS_OK)
                for (struct item *k; (k = list_pop(&ft->kept));)
                    item_free(k);
            ft->up = false;
            ds_cond_signal(&f->gcond);
            ds_mutex_unlock(&f->glock);
            break;
        }
        int rc = ds_target_check(&ft->t);
        if (rc != DS_OK) {
            log_failure(ft, "peer check", rc);
            settle_acks(ft, rc);
            ds_mutex_lock(&f->glock);
            ft->cur = NULL;
            if (it)
                list_insert_sorted(&f->retry, it); /* not sent: not in flight */
            group_release_kept(ft);
            group_fail(ft, NULL);
            ds_mutex_unlock(&f->glock);
            atomic_fetch_add(&ft->failures, 1);
            close_failed(ft, rc);
            backoff_after_failure(ft);
            continue;
        }
        if (!it)
            continue;
        encode_batch(ft, it->recs, it->n);
        rc = write_out(ft);
        ds_mutex_lock(&f->glock);
        if (rc == DS_OK) {
            ft->cur = NULL;
            it->end_off = ds_target_wire_out(&ft->t);
            list_push(&ft->kept, it);
            group_release_kept(ft);
            ds_cond_signal(&f->gcond);
            ds_mutex_unlock(&f->glock);
            atomic_fetch_add(&ft->forwarded, (uint64_t)it->n);
            ds_target_backoff_reset(&ft->t);
            continue;
        }
        ds_mutex_unlock(&f->glock);
        settle_acks(ft, rc);
        ds_mutex_lock(&f->glock);
        ft->cur = NULL;
        group_release_kept(ft);
        group_fail(ft, it);
        ds_mutex_unlock(&f->glock);
        log_failure(ft, "write", rc);
        atomic_fetch_add(&ft->failures, 1);
        close_failed(ft, rc);
        backoff_after_failure(ft);
    }
    set_state(ft, TS_STOPPED);
}

/* ---- start / stop / stats ------------------------------------------------- */
static void target_free(struct fwd_target *ft)
{
    ds_target_deinit(&ft->t);
    ds_buf_free(&ft->out);
    ds_syslog_hdr_free(&ft->hdr);
    free(ft->recs);
    free(ft->marks);
    for (struct item *it; (it = list_pop(&ft->inbox));)
        item_free(it);
    for (struct item *it; (it = list_pop(&ft->kept));)
        item_free(it);
    item_free(ft->cur);
    ds_cond_destroy(&ft->cond);
    ds_mutex_destroy(&ft->addr_lock);
}

static void fwd_free(struct ds_fwd *f)
{
    for (size_t i = 0; i < f->n; i++)
        target_free(&f->targets[i]);
    for (struct item *it; (it = list_pop(&f->retry));)
        item_free(it);
    free(f->targets);
    free(f->redo);
    free(f->instance);
    free(f->hostname);
    ds_cond_destroy(&f->wait_cond);
    ds_mutex_destroy(&f->wait_lock);
    ds_cond_destroy(&f->gcond);
    ds_mutex_destroy(&f->glock);
    free(f);
}

static int open_cursor(struct ds_fwd *f, const char *base, size_t index)
{
    int id = ds_ring_cursor_open(f->ring, base);
    if (id >= 0)
        return id;
    char name[360];
    snprintf(name, sizeof name, "%.320s#%zu", base, index + 1);
    return ds_ring_cursor_open(f->ring, name);
}

int ds_fwd_start(const struct ds_config *cfg, struct ds_ring *ring, const struct ds_enc_ctx *ctx,
                 struct ds_fwd **out)
{
    *out = NULL;
    if (cfg->n_forwarders == 0)
        return DS_OK;
    struct ds_fwd *f = ds_xcalloc(1, sizeof(*f));
    f->ring = ring;
    f->mode = cfg->forwarder_mode;
    f->batch = cfg->forwarder_batch_size ? cfg->forwarder_batch_size : 512;
    f->instance = ds_xstrdup(ctx && ctx->instance ? ctx->instance : "dnsstream");
    f->hostname = ds_xstrdup(ctx && ctx->hostname ? ctx->hostname : "-");
    f->procid = ds_getpid();
    f->gcursor = -1;
    ds_mutex_init(&f->wait_lock);
    ds_cond_init(&f->wait_cond);
    ds_mutex_init(&f->glock);
    ds_cond_init(&f->gcond);
    f->targets = ds_xcalloc(cfg->n_forwarders, sizeof(*f->targets));
    int rc = DS_OK;
    for (size_t i = 0; i < cfg->n_forwarders; i++) {
        const struct ds_forwarder_cfg *fc = &cfg->forwarders[i];
        struct fwd_target *ft = &f->targets[i];
        ft->f = f;
        ft->index = (int)i;
        ft->cursor = -1;
        ds_cond_init(&ft->cond);
        ds_mutex_init(&ft->addr_lock);
        f->n = i + 1;
        char err[512];
        rc = ds_target_init(&ft->t, fc, cfg->backoff_min_ms, cfg->backoff_max_ms, err, sizeof err);
        if (rc != DS_OK) {
            ds_log_error("forwarder", "%s:%u (line %d): %s", fc->host, fc->port, fc->line, err);
            goto fail;
        }
        ft->format = fc->format;
        ft->syslog = fc->format == DS_FMT_PDNS ? DS_SYSLOG_NONE : fc->syslog;
        ft->framing = fc->framing;
        if (ft->framing == DS_FRAMING_DEFAULT ||
            (fc->format == DS_FMT_PDNS && ft->framing != DS_FRAMING_32BIT))
            ft->framing = ds_framing_default(fc->format, ft->syslog);
        ft->recovery = fc->recovery < 0 ? cfg->forwarder_recovery : (enum ds_recovery)fc->recovery;
        ft->sid = (struct ds_syslog_id){f->hostname, "dnsstream", f->procid, f->instance};
        ds_syslog_hdr_init(&ft->hdr, ft->syslog, &ft->sid);
        ft->recs = ds_xmalloc(sizeof(struct ds_rec) * f->batch);
        if (f->mode == DS_FWD_BROADCAST) {
            char name[320];
            snprintf(name, sizeof name, "forwarder:%.300s", ft->t.name);
            ft->cursor = open_cursor(f, name, i);
            if (ft->cursor < 0) {
                rc = ft->cursor;
                ds_log_error("forwarder", "%s: cannot open a ring cursor: %s", ft->t.name,
                             ds_strerror(rc));
                goto fail;
            }
            ds_ring_cursor_set_connected(ring, ft->cursor, false);
        }
    }
    if (f->mode != DS_FWD_BROADCAST) {
        char name[64];
        snprintf(name, sizeof name, "forwarder-group:%s", mode_name(f->mode));
        f->gcursor = ds_ring_cursor_open(ring, name);
        if (f->gcursor < 0) {
            rc = f->gcursor;
            ds_log_error("forwarder", "cannot open the ring cursor %s: %s", name, ds_strerror(rc));
            goto fail;
        }
        ds_ring_cursor_set_connected(ring, f->gcursor, false);
    }
    for (size_t i = 0; i < f->n; i++) {
        struct fwd_target *ft = &f->targets[i];
        char tname[32];
        snprintf(tname, sizeof tname, "ds-fwd-%u", (unsigned)(i % 1000));
        rc = ds_thread_create(&ft->thread, f->mode == DS_FWD_BROADCAST ? bcast_thread
                                                                      : group_target_thread,
                              ft, tname);
        if (rc != DS_OK)
            goto fail_threads;
        ft->thread_started = true;
        ds_log_info("forwarder", "%s: %s, %s%s%s, framing %s, recovery %s%s", ft->t.name,
                    ft->t.tls ? "TLS" : "TCP",
                    ft->format == DS_FMT_PDNS ? "pdns" : ft->format == DS_FMT_BIND ? "bind" : "json",
                    ft->syslog == DS_SYSLOG_RFC5424   ? " in RFC 5424"
                    : ft->syslog == DS_SYSLOG_RFC3164 ? " in RFC 3164"
                                                      : "",
                    "", ds_framing_name(ft->framing),
                    ft->recovery == DS_RECOVERY_DROP          ? "drop"
                    : ft->recovery == DS_RECOVERY_BEST_EFFORT ? "best-effort"
                                                              : "durable",
                    f->mode == DS_FWD_BROADCAST ? "" : ", group member");
    }
    if (f->mode != DS_FWD_BROADCAST) {
        rc = ds_thread_create(&f->dispatcher, dispatcher_thread, f, "ds-fwd-disp");
        if (rc != DS_OK)
            goto fail_threads;
        f->dispatcher_started = true;
    }
    ds_log_info("forwarder", "%zu target(s), mode %s, batch %u", f->n, mode_name(f->mode),
                f->batch);
    *out = f;
    return DS_OK;

fail_threads:
    ds_fwd_stop(&f);
    return rc;
fail:
    fwd_free(f);
    return rc;
}

void ds_fwd_stop(struct ds_fwd **pf)
{
    struct ds_fwd *f = *pf;
    if (!f)
        return;
    ds_mutex_lock(&f->wait_lock);
    f->stop_deadline = ds_time_mono_ms() + STOP_BUDGET_MS;
    atomic_store(&f->stop, true);
    ds_cond_broadcast(&f->wait_cond);
    ds_mutex_unlock(&f->wait_lock);
    ds_mutex_lock(&f->glock);
    ds_cond_broadcast(&f->gcond);
    for (size_t i = 0; i < f->n; i++)
        ds_cond_broadcast(&f->targets[i].cond);
    ds_mutex_unlock(&f->glock);
    if (f->dispatcher_started)
        ds_thread_join(&f->dispatcher);
    for (size_t i = 0; i < f->n; i++)
        if (f->targets[i].thread_started)
            ds_thread_join(&f->targets[i].thread);
    uint64_t fwd = 0, failures = 0;
    for (size_t i = 0; i < f->n; i++) {
        fwd += atomic_load(&f->targets[i].forwarded);
        failures += atomic_load(&f->targets[i].failures);
    }
    ds_log_info("forwarder", "stopped: %llu event(s) forwarded, %llu connection failure(s)",
                (unsigned long long)fwd, (unsigned long long)failures);
    fwd_free(f);
    *pf = NULL;
}

void ds_fwd_stats_json(struct ds_fwd *f, struct ds_buf *out)
{
    if (!f) {
        ds_buf_puts(out, "{\"mode\":\"none\",\"targets\":[]}");
        return;
    }
    ds_buf_printf(out, "{\"mode\":\"%s\",\"targets\":[", mode_name(f->mode));
    for (size_t i = 0; i < f->n; i++) {
        struct fwd_target *ft = &f->targets[i];
        struct ds_cursor_stats cs = {0};
        int cursor = f->mode == DS_FWD_BROADCAST ? ft->cursor : f->gcursor;
        if (cursor >= 0)
            ds_ring_cursor_stats(f->ring, cursor, &cs);
        char addr[64];
        ds_mutex_lock(&ft->addr_lock);
        snprintf(addr, sizeof addr, "%s", ft->addr);
        ds_mutex_unlock(&ft->addr_lock);
        int st = atomic_load(&ft->state);
        ds_buf_puts(out, i ? ",{\"target\":" : "{\"target\":");
        ds_enc_json_string(out, ft->t.name);
        ds_buf_printf(out,
                      ",\"state\":\"%s\",\"address\":", tstate_names[st >= 0 && st < 4 ? st : 0]);
        if (addr[0])
            ds_enc_json_string(out, addr);
        else
            ds_buf_puts(out, "null");
        ds_buf_printf(out,
                      ",\"forwarded\":%llu,\"connects\":%llu,\"failures\":%llu,\"resent\":%llu,"
                      "\"dropped\":%llu,\"unencodable\":%llu,\"skipped\":%llu,\"lag\":%llu}",
                      (unsigned long long)atomic_load(&ft->forwarded),
                      (unsigned long long)atomic_load(&ft->connects),
                      (unsigned long long)atomic_load(&ft->failures),
                      (unsigned long long)atomic_load(&ft->resent),
                      (unsigned long long)atomic_load(&ft->dropped),
                      (unsigned long long)atomic_load(&ft->unencodable),
                      (unsigned long long)cs.skipped, (unsigned long long)cs.lag);
    }
    ds_buf_puts(out, "]}");
}
