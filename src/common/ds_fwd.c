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
 * That code is in ds_fwd_group.c; the shared state is in ds_fwd_int.h.
 */
#include "ds_fwd.h"
#include "ds_fwd_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_err.h"
#include "ds_log.h"
#include "ds_pb.h"
#include "ds_plat.h"
#include "ds_syslog.h"
#include "ds_target.h"

static const char *const tstate_names[] = {"connecting", "connected", "backoff", "stopped"};

const char *ds__fwd_mode_name(enum ds_fwd_mode m)
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
bool ds__fwd_stopping(struct ds_fwd *f) { return atomic_load(&f->stop); }

bool ds__fwd_past_deadline(struct ds_fwd *f)
{
    return ds__fwd_stopping(f) && ds_time_mono_ms() >= f->stop_deadline;
}

unsigned ds__fwd_stop_remaining_ms(struct ds_fwd *f)
{
    uint64_t now = ds_time_mono_ms();
    return now >= f->stop_deadline ? 0 : (unsigned)(f->stop_deadline - now);
}

/* Sleep up to ms, returning early when the manager stops. */
static void pause_ms(struct ds_fwd *f, unsigned ms)
{
    uint64_t end = ds_time_mono_ms() + ms;
    ds_mutex_lock(&f->wait_lock);
    while (!ds__fwd_stopping(f)) {
        uint64_t now = ds_time_mono_ms();
        if (now >= end)
            break;
        ds_cond_timedwait_ms(&f->wait_cond, &f->wait_lock, (unsigned)(end - now));
    }
    ds_mutex_unlock(&f->wait_lock);
}

void ds__fwd_set_state(struct fwd_target *ft, enum tstate s)
{
    atomic_store(&ft->state, (int)s);
    ds_mutex_lock(&ft->addr_lock);
    if (s == TS_CONNECTED)
        snprintf(ft->addr, sizeof ft->addr, "%s", ft->t.addr);
    else
        ft->addr[0] = 0;
    ds_mutex_unlock(&ft->addr_lock);
}

void ds__fwd_log_failure(struct fwd_target *ft, const char *what, int rc)
{
    ds_log_warn("forwarder", "%s: connection to %s failed (%s: %s)", ft->t.name, ft->t.addr, what,
                ds_strerror(rc));
}

/* Close after a failure: a peer that closed its side gets a short graceful close (it
 * may still be reading); anything else is reset. */
void ds__fwd_close_failed(struct fwd_target *ft, int rc)
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
void ds__fwd_settle_acks(struct fwd_target *ft, int rc)
{
    if (rc != DS_ECLOSED)
        return;
    unsigned max = PEER_CLOSED_MAX_WAIT_MS;
    if (ds__fwd_stopping(ft->f) && ds__fwd_stop_remaining_ms(ft->f) < max)
        max = ds__fwd_stop_remaining_ms(ft->f);
    ds_target_half_close(&ft->t, ft->t.write_timeout_ms, max);
}

static void bcast_fail(struct fwd_target *ft, const struct ds_rec *inflight, int n, int rc)
{
    struct ds_fwd *f = ft->f;
    uint64_t resend = 0;
    ds__fwd_settle_acks(ft, rc);
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
    ds__fwd_close_failed(ft, rc);
    ds_ring_cursor_set_connected(f->ring, ft->cursor, false);
    if (resend)
        ds_log_info("forwarder", "%s: %llu event(s) will be resent (%s)", ft->t.name,
                    (unsigned long long)resend,
                    ft->recovery == DS_RECOVERY_DURABLE ? "durable" : "best-effort");
}

bool ds__fwd_connect_target(struct fwd_target *ft)
{
    struct ds_fwd *f = ft->f;
    ds__fwd_set_state(ft, TS_CONNECTING);
    int rc = ds_target_connect(&ft->t, &f->stop);
    if (rc == DS_OK) {
        atomic_fetch_add(&ft->connects, 1);
        ds__fwd_set_state(ft, TS_CONNECTED);
        return true;
    }
    atomic_fetch_add(&ft->failures, 1);
    ds__fwd_set_state(ft, TS_BACKOFF);
    if (!ds__fwd_stopping(f)) {
        unsigned ms = ds_target_backoff(&ft->t);
        ds_log_debug("forwarder", "%s: next attempt in %u ms", ft->t.name, ms);
        pause_ms(f, ms);
    }
    return false;
}

void ds__fwd_backoff_after_failure(struct fwd_target *ft)
{
    ds__fwd_set_state(ft, TS_BACKOFF);
    if (!ds__fwd_stopping(ft->f))
        pause_ms(ft->f, ds_target_backoff(&ft->t));
}

/* A clean end: the ring is shut down and everything this target could read was
 * written.  Close gracefully; what the peer confirmed by closing its side is released. */
static void bcast_finish(struct fwd_target *ft)
{
    struct ds_fwd *f = ft->f;
    unsigned left = ds__fwd_stop_remaining_ms(f);
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
            if (ds__fwd_stopping(f))
                break;
            if (!ds__fwd_connect_target(ft))
                continue;
            ds_ring_cursor_set_connected(f->ring, ft->cursor, true);
        }
        if (ds__fwd_past_deadline(f)) {
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
            ds__fwd_log_failure(ft, "peer check", rc);
            bcast_fail(ft, NULL, 0, rc);
            ds__fwd_backoff_after_failure(ft);
            continue;
        }
        if (n == 0) {
            if (ft->recovery == DS_RECOVERY_DURABLE)
                bcast_release(ft);
            continue;
        }
        ds__fwd_encode_batch(ft, ft->recs, n);
        rc = ds__fwd_write_out(ft);
        if (rc != DS_OK) {
            ds__fwd_log_failure(ft, "write", rc);
            bcast_fail(ft, ft->recs, n, rc);
            ds__fwd_backoff_after_failure(ft);
            continue;
        }
        atomic_fetch_add(&ft->forwarded, (uint64_t)n);
        ds_target_backoff_reset(&ft->t);
        push_mark(ft, ft->recs, n, ds_target_wire_out(&ft->t));
        bcast_release(ft);
    }
    ds_ring_cursor_set_connected(f->ring, ft->cursor, false);
    ds__fwd_set_state(ft, TS_STOPPED);
}

/* ---- start / stop / stats ------------------------------------------------- */
static void target_free(struct fwd_target *ft)
{
    ds_target_deinit(&ft->t);
    ds__fwd_enc_stop(ft);
    ds_buf_free(&ft->out);
    ds_syslog_hdr_free(&ft->hdr);
    free(ft->recs);
    free(ft->marks);
    for (struct item *it; (it = ds__fwd_list_pop(&ft->inbox));)
        ds__fwd_item_free(it);
    for (struct item *it; (it = ds__fwd_list_pop(&ft->kept));)
        ds__fwd_item_free(it);
    ds__fwd_item_free(ft->cur);
    ds_cond_destroy(&ft->cond);
    ds_mutex_destroy(&ft->addr_lock);
}

static void fwd_free(struct ds_fwd *f)
{
    for (size_t i = 0; i < f->n; i++)
        target_free(&f->targets[i]);
    for (struct item *it; (it = ds__fwd_list_pop(&f->retry));)
        ds__fwd_item_free(it);
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
        ft->durable_hold = fc->durable_hold;
        ft->sid = (struct ds_syslog_id){f->hostname, "dnsstream", f->procid, f->instance};
        ds_syslog_hdr_init(&ft->hdr, ft->syslog, &ft->sid);
        ft->recs = ds_xmalloc(sizeof(struct ds_rec) * f->batch);
        if ((rc = ds__fwd_enc_start(ft, fc->encode_threads, f->batch)) != DS_OK)
            goto fail;
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
        snprintf(name, sizeof name, "forwarder-group:%s", ds__fwd_mode_name(f->mode));
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
                                                                      : ds__fwd_group_target_thread,
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
        rc = ds_thread_create(&f->dispatcher, ds__fwd_dispatcher_thread, f, "ds-fwd-disp");
        if (rc != DS_OK)
            goto fail_threads;
        f->dispatcher_started = true;
    }
    ds_log_info("forwarder", "%zu target(s), mode %s, batch %u", f->n, ds__fwd_mode_name(f->mode),
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
    ds_buf_printf(out, "{\"mode\":\"%s\",\"targets\":[", ds__fwd_mode_name(f->mode));
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
