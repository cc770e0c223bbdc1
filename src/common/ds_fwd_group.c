/*
 * ds_fwd_group.c - the forwarder's group modes: failover, roundrobin and sharded.
 *
 * One dispatcher thread reads the ring through one cursor and hands "items" (a
 * batch, or the part of a batch for one shard) to the target threads.  The recovery
 * rules decide which items of a failed target go back to the dispatcher (delivered by
 * another target before newer records) and which are dropped; the cursor is released
 * up to the oldest item still alive.  See ds_fwd_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "ds_crc32.h"
#include "ds_err.h"
#include "ds_fwd_int.h"
#include "ds_log.h"
#include "ds_pb.h"

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

struct item *ds__fwd_list_pop(struct item_list *l)
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

void ds__fwd_item_free(struct item *it)
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
    uint32_t h = from.len ? ds_crc32(0, r->data + from.off, from.len) : 0;
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
    ds__fwd_item_free(it);
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
    for (struct item *it; (it = ds__fwd_list_pop(&f->retry));) {
        for (int i = 0; i < it->n; i++)
            seqs[k++] = it->recs[i].seq;
        ds__fwd_item_free(it);
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
                ds__fwd_mode_name(f->mode), k);
}

void ds__fwd_dispatcher_thread(void *arg)
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
        if (ds__fwd_past_deadline(f) || (ring_eof && !group_pending(f))) {
            f->group_done = true;
            break;
        }
        if (first_up_from(f, 0) < 0) {
            group_all_down(f);
            if (connected) {
                ds_ring_cursor_set_connected(f->ring, f->gcursor, false);
                connected = false;
            }
            if (ds__fwd_stopping(f) && ring_eof)
                break;
            if (ds__fwd_stopping(f) && !group_any_alive(f)) {
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
            group_assign(f, ds__fwd_list_pop(&f->retry));
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
            ds__fwd_item_free(it);
            continue;
        }
        if (first_up_from(f, 0) < 0) {
            list_insert_sorted(&f->retry, it);
        } else {
            /* items that came back while the read waited go first */
            while (f->retry.count > 0)
                group_assign(f, ds__fwd_list_pop(&f->retry));
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
        for (struct item *it; (it = ds__fwd_list_pop(&ft->kept));)
            ds__fwd_item_free(it);
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
        ds__fwd_item_free(ds__fwd_list_pop(&ft->kept));
}

/* A target failed with `inflight` (may be NULL) unwritten.  Under glock. */
static void group_fail(struct fwd_target *ft, struct item *inflight)
{
    struct ds_fwd *f = ft->f;
    uint64_t resend = 0;
    ft->up = false;
    if (ft->recovery == DS_RECOVERY_DURABLE) {
        for (struct item *it; (it = ds__fwd_list_pop(&ft->kept));) {
            resend += (uint64_t)it->n;
            list_insert_sorted(&f->retry, it);
        }
    } else {
        for (struct item *it; (it = ds__fwd_list_pop(&ft->kept));)
            ds__fwd_item_free(it);
    }
    if (inflight) {
        if (ft->recovery == DS_RECOVERY_DROP) {
            atomic_fetch_add(&ft->dropped, (uint64_t)inflight->n);
            ds__fwd_item_free(inflight);
        } else {
            resend += (uint64_t)inflight->n;
            list_insert_sorted(&f->retry, inflight);
        }
    }
    /* queued items were never sent: another target takes them */
    for (struct item *it; (it = ds__fwd_list_pop(&ft->inbox));)
        list_insert_sorted(&f->retry, it);
    atomic_fetch_add(&ft->resent, resend);
    ds_cond_signal(&f->gcond);
}

void ds__fwd_group_target_thread(void *arg)
{
    struct fwd_target *ft = arg;
    struct ds_fwd *f = ft->f;
    for (;;) {
        if (!ds_target_connected(&ft->t)) {
            ds_mutex_lock(&f->glock);
            bool done = f->group_done;
            ds_mutex_unlock(&f->glock);
            if (ds__fwd_stopping(f) || done)
                break;
            if (!ds__fwd_connect_target(ft))
                continue;
            ds_mutex_lock(&f->glock);
            ft->up = true;
            ds_cond_signal(&f->gcond);
            ds_mutex_unlock(&f->glock);
        }
        ds_mutex_lock(&f->glock);
        if (ft->inbox.count == 0 && !f->group_done)
            ds_cond_timedwait_ms(&ft->cond, &f->glock, READ_WAIT_MS);
        struct item *it = ds__fwd_list_pop(&ft->inbox);
        bool done = !it && f->group_done;
        if (!it && !done && ft->recovery == DS_RECOVERY_DURABLE)
            group_release_kept(ft);
        ft->cur = it;
        ds_mutex_unlock(&f->glock);

        if (done || ds__fwd_past_deadline(f)) {
            unsigned left = ds__fwd_stop_remaining_ms(f);
            bool graceful = !ds__fwd_past_deadline(f);
            int rc = ds_target_close(&ft->t, graceful, left > 100 ? left : 100);
            ds_mutex_lock(&f->glock);
            if (it)
                list_push(&ft->inbox, it);
            ft->cur = NULL;
            if (graceful && rc == DS_OK)
                for (struct item *k; (k = ds__fwd_list_pop(&ft->kept));)
                    ds__fwd_item_free(k);
            ft->up = false;
            ds_cond_signal(&f->gcond);
            ds_mutex_unlock(&f->glock);
            break;
        }
        int rc = ds_target_check(&ft->t);
        if (rc != DS_OK) {
            ds__fwd_log_failure(ft, "peer check", rc);
            ds__fwd_settle_acks(ft, rc);
            ds_mutex_lock(&f->glock);
            ft->cur = NULL;
            if (it)
                list_insert_sorted(&f->retry, it); /* not sent: not in flight */
            group_release_kept(ft);
            group_fail(ft, NULL);
            ds_mutex_unlock(&f->glock);
            atomic_fetch_add(&ft->failures, 1);
            ds__fwd_close_failed(ft, rc);
            ds__fwd_backoff_after_failure(ft);
            continue;
        }
        if (!it)
            continue;
        ds__fwd_encode_batch(ft, it->recs, it->n);
        rc = ds__fwd_write_out(ft);
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
        ds__fwd_settle_acks(ft, rc);
        ds_mutex_lock(&f->glock);
        ft->cur = NULL;
        group_release_kept(ft);
        group_fail(ft, it);
        ds_mutex_unlock(&f->glock);
        ds__fwd_log_failure(ft, "write", rc);
        atomic_fetch_add(&ft->failures, 1);
        ds__fwd_close_failed(ft, rc);
        ds__fwd_backoff_after_failure(ft);
    }
    ds__fwd_set_state(ft, TS_STOPPED);
}

