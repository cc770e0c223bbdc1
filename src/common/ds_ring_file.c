/*
 * ds_ring_file.c - the ring's queue file (queue-recovery on): create or salvage it at
 * open, the queue-sync thread, persist or reset it at close, and the read-only
 * inspection behind `dnsstream --queue-info`.  The layout and the scan are in
 * ds_qfile.c; the guarantees and the salvage rules in docs/queue.md.
 *
 * Ownership: the ring owns the mapping and the sync thread; a side file for damaged
 * bytes is created, written and closed during open.  Threads: everything here runs
 * in ds_ring_open/ds_ring_close (one thread) except sync_thread, which takes r->mu
 * only to store the superblock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_err.h"
#include "ds_log.h"
#include "ds_plat.h"
#include "ds_qfile.h"
#include "ds_ring.h"
#include "ds_ring_int.h"

#define COMP DS_RING_COMP

/* ---- queue-sync ------------------------------------------------------------------------- */

static void sync_thread(void *arg)
{
    struct ds_ring *r = arg;
    ds_mutex_lock(&r->sync_mu);
    while (!r->sync_stop) {
        ds_cond_timedwait_ms(&r->sync_cv, &r->sync_mu, r->sync_ms);
        if (r->sync_stop)
            break;
        ds_mutex_unlock(&r->sync_mu);
        /* Record the tail in the superblock, then write every dirty page back. */
        ds_mutex_lock(&r->mu);
        ds__ring_store_super(r, 0);
        ds_mutex_unlock(&r->mu);
        int rc = ds_mmap_sync(&r->map, 0, r->map.len, false);
        if (rc != DS_OK)
            ds_log_warn(COMP, "%s: sync failed: %s", r->path, ds_strerror(rc));
        ds_mutex_lock(&r->sync_mu);
    }
    ds_mutex_unlock(&r->sync_mu);
}

/* ---- open: salvage ------------------------------------------------------------------ */

struct side_file {
    const char *queue_path;
    const uint8_t *data; /* data area the damage positions refer to */
    uint64_t cap, avail;
    uint64_t base_off;   /* file offset of the data area */
    FILE *fp;
    char name[1100];
    uint64_t bytes;
    int failed;
};

static void side_open(struct side_file *sf)
{
    if (sf->fp || sf->failed)
        return;
    uint64_t now = ds_time_now_us() / 1000000u;
    for (int i = 0; i < 100 && !sf->fp; i++) {
        if (i == 0)
            snprintf(sf->name, sizeof(sf->name), "%s.damaged-%" PRIu64, sf->queue_path, now);
        else
            snprintf(sf->name, sizeof(sf->name), "%s.damaged-%" PRIu64 "-%d", sf->queue_path,
                     now, i);
        uint64_t sz;
        if (ds_file_size(sf->name, &sz) == DS_OK)
            continue;
        sf->fp = fopen(sf->name, "wb");
    }
    if (!sf->fp) {
        sf->failed = 1;
        sf->name[0] = 0;
        ds_log_error(COMP, "%s: cannot create a file for the damaged bytes; they are discarded",
                     sf->queue_path);
    }
}

/* Append "DSDAMAGE <file offset> <length>\n" and that many raw bytes. */
static void side_put(struct side_file *sf, uint64_t file_off, const uint8_t *p, uint64_t len)
{
    if (len == 0)
        return;
    side_open(sf);
    sf->bytes += len;
    if (!sf->fp)
        return;
    fprintf(sf->fp, "DSDAMAGE %" PRIu64 " %" PRIu64 "\n", file_off, len);
    if (fwrite(p, 1, (size_t)len, sf->fp) != len)
        sf->failed = 1;
}

/* A damaged region of the data area (virtual positions); bytes a truncated file no
 * longer has are not written (the log reports the truncation). */
static void side_region(struct side_file *sf, uint64_t pos, uint64_t len)
{
    while (len > 0) {
        uint64_t phys = pos % sf->cap;
        uint64_t n = sf->cap - phys < len ? sf->cap - phys : len;
        uint64_t have = phys < sf->avail ? (sf->avail - phys < n ? sf->avail - phys : n) : 0;
        side_put(sf, sf->base_off + phys, sf->data + phys, have);
        pos += n;
        len -= n;
    }
}

static void side_close(struct side_file *sf)
{
    if (sf->fp) {
        if (fclose(sf->fp) != 0)
            sf->failed = 1;
        sf->fp = NULL;
    }
}

/* Cover damage with skip markers (after its bytes went to the side file), split at
 * the end of the data area. */
static void cover_damage(struct ds_ring *r, uint64_t pos, uint64_t len)
{
    while (len > 0) {
        uint64_t phys = pos % r->cap;
        uint64_t n = r->cap - phys < len ? r->cap - phys : len;
        ds__ring_write_marker(r, pos, n);
        pos += n;
        len -= n;
    }
}

struct region {
    uint64_t pos, len;
};

struct inplace_scan {
    struct ds_ring *r;
    struct side_file *sf;
    struct region *regions;
    size_t nregions, cap_regions;
};

static void scan_damage_collect(void *arg, uint64_t pos, uint64_t len)
{
    struct inplace_scan *x = arg;
    side_region(x->sf, pos, len);
    if (x->nregions == x->cap_regions) {
        x->cap_regions = x->cap_regions ? x->cap_regions * 2 : 16;
        x->regions = ds_xrealloc(x->regions, x->cap_regions * sizeof(*x->regions));
    }
    x->regions[x->nregions++] = (struct region){pos, len};
}

/* What a queue file's header says. */
struct header_view {
    int nsb;                 /* valid superblock copies */
    struct ds_qf_super sb;   /* the current one */
    uint64_t minrel, maxrel; /* over the valid cursor slots (UINT64_MAX and 0: none) */
    uint64_t damaged;        /* damaged slots, and the superblocks when neither is valid */
    bool zero;               /* the header is all zeros (never written) */
};

/* Read the header of a file of fsize bytes mapped at base.  Valid slots go to pslots
 * (state 1) when given; damaged header bytes are set aside into sf when given. */
static void read_header(const char *path, const uint8_t *base, uint64_t fsize,
                        struct ds_ring_pslot *pslots, struct side_file *sf,
                        struct header_view *v)
{
    memset(v, 0, sizeof(*v));
    v->nsb = ds_qf_super_load(base, fsize, &v->sb);
    uint64_t hz = fsize < DS_QF_DATA_OFF ? fsize : DS_QF_DATA_OFF;
    v->zero = true;
    for (uint64_t i = 0; i < hz && v->zero; i++)
        v->zero = base[i] == 0;
    v->minrel = UINT64_MAX;
    int bad = 0;
    for (int i = 0; i < DS_RING_MAX_CURSORS; i++) {
        struct ds_qf_slot sl;
        int st = ds_qf_slot_load(base, fsize, i, &sl);
        if (st == 1) {
            if (pslots) {
                pslots[i].state = 1;
                pslots[i].s = sl;
            }
            if (sl.released < v->minrel)
                v->minrel = sl.released;
            if (sl.released > v->maxrel)
                v->maxrel = sl.released;
        } else if (st < 0) {
            uint64_t off = DS_QF_SLOT_OFF + (uint64_t)i * 2 * DS_QF_SLOT_SIZE;
            if (sf)
                side_put(sf, off, base + off, 2 * DS_QF_SLOT_SIZE);
            v->damaged += 2 * DS_QF_SLOT_SIZE;
            bad++;
        }
    }
    if (bad && sf && v->nsb)
        ds_log_warn(COMP, "%s: %d cursor slot(s) damaged; those destinations start again from "
                    "the oldest buffered event", path, bad);
    if (v->nsb == 0 && !v->zero) {
        uint64_t n = fsize < 2 * DS_QF_SUPER_STRIDE ? fsize : 2 * DS_QF_SUPER_STRIDE;
        if (sf)
            side_put(sf, 0, base, n);
        v->damaged += n;
    }
}

/* The scan's starting point: the superblock's head, or without one the lowest seq
 * some known destination has not released. */
static struct ds_qf_scan_in scan_input(const struct header_view *v, const uint8_t *data,
                                       uint64_t cap, uint64_t avail)
{
    struct ds_qf_scan_in in = {
        .data = data,
        .capacity = cap,
        .avail = avail,
        .start_pos = v->nsb ? v->sb.head_pos : 0,
        .min_seq = v->nsb ? v->sb.head_seq : (v->minrel == UINT64_MAX ? 1 : v->minrel + 1),
        .start_known = v->nsb > 0,
        .tail_hint = v->nsb ? v->sb.tail_pos : 0,
    };
    return in;
}

/* The next seq: above the chain, the superblock's count and every released seq, so
 * that no seq is given twice even when the newest records were lost. */
static uint64_t next_seq_of(const struct header_view *v, const struct ds_qf_scan_out *so,
                            uint64_t min_seq)
{
    uint64_t next = so->records ? so->last_seq + 1 : min_seq;
    if (v->nsb && v->sb.next_seq > next)
        next = v->sb.next_seq;
    if (v->maxrel + 1 > next)
        next = v->maxrel + 1;
    return next ? next : 1;
}

/* The ring's positions after an in-place salvage (ordinals start at 0). */
static void set_ring_from_scan(struct ds_ring *r, const struct ds_qf_scan_out *so)
{
    r->head_pos = so->head_pos;
    r->tail_pos = so->tail_pos;
    r->tail_phys = so->tail_pos % r->cap;
    r->head_ord = 0;
    r->tail_ord = so->records;
}

/* The file on disk cannot be used in place (other capacity, not a queue file): move it
 * aside, create a fresh one and append whatever records it holds. */
static void salvage_foreign(struct ds_ring *r, const char *old_path, uint64_t old_size,
                            struct side_file *sf);

static void report_salvage(struct ds_ring *r, uint64_t records, uint64_t damaged,
                           uint64_t regions, struct side_file *sf, bool clean)
{
    r->salvaged = records;
    r->set_aside = damaged;
    if (sf->name[0] && !r->set_aside_file)
        r->set_aside_file = ds_xstrdup(sf->name);
    if (damaged) {
        uint64_t kept = sf->bytes < damaged ? sf->bytes : damaged;
        char where[1200];
        if (sf->name[0] && kept == damaged)
            snprintf(where, sizeof(where), "copied to %s", sf->name);
        else if (sf->name[0])
            snprintf(where, sizeof(where), "%" PRIu64 " of them copied to %s, the rest missing "
                     "from the truncated file", kept, sf->name);
        else
            snprintf(where, sizeof(where), "missing from the truncated file, nothing to keep");
        ds_log_warn(COMP,
                    "%s: %" PRIu64 " damaged byte(s) in %" PRIu64 " region(s) set aside (%s); "
                    "%" PRIu64 " event(s) salvaged",
                    r->path, damaged, regions, where, records);
    } else if (records) {
        ds_log_info(COMP, "%s: %" PRIu64 " buffered event(s) recovered%s", r->path, records,
                    clean ? "" : " after an unclean stop");
    }
}

static void init_empty_file(struct ds_ring *r, uint64_t next_seq)
{
    memset(r->map.base, 0, DS_QF_DATA_OFF);
    memset(&r->sb, 0, sizeof(r->sb));
    r->sb.created_us = ds_time_now_us();
    r->next_seq = next_seq;
    r->head_pos = r->tail_pos = r->tail_phys = 0;
    r->head_ord = r->tail_ord = 0;
    ds__ring_store_super(r, 0);
}

static int map_file(struct ds_ring *r, char *err, size_t errlen)
{
    size_t len = (size_t)(DS_QF_DATA_OFF + r->cap);
    bool existed;
    uint64_t old_len;
    int rc = ds_mmap_open(r->path, len, &r->map, &existed, &old_len);
    if (rc != DS_OK) {
        snprintf(err, errlen, "%s: cannot map the queue file: %s", r->path, ds_strerror(rc));
        return rc;
    }
    rc = ds_mmap_lock(&r->map);
    if (rc != DS_OK) {
        ds_mmap_close(&r->map);
        snprintf(err, errlen, "%s: the queue file is in use by another process", r->path);
        return rc == DS_EAGAIN ? DS_EPERM : rc;
    }
    rc = ds_mmap_allocate(&r->map);
    if (rc != DS_OK) {
        ds_mmap_close(&r->map);
        snprintf(err, errlen, "%s: cannot reserve %" PRIu64 " bytes for the queue file: %s",
                 r->path, (uint64_t)len, ds_strerror(rc));
        return rc;
    }
    r->data = (uint8_t *)r->map.base + DS_QF_DATA_OFF;
    return DS_OK;
}

static int open_file_ring(struct ds_ring *r, const struct ds_ring_options *o, char *err,
                          size_t errlen)
{
    uint64_t fsize = 0;
    bool exists = ds_file_size(o->file, &fsize) == DS_OK && fsize > 0;
    struct side_file sf;
    memset(&sf, 0, sizeof(sf));
    sf.queue_path = r->path;

    struct ds_qf_super sb;
    memset(&sb, 0, sizeof(sb));
    int nsb = 0;
    uint32_t other_version = 0; /* a queue file of another format version */
    bool in_place = true;
    struct ds_mmap peek;
    memset(&peek, 0, sizeof(peek));
    if (exists) {
        /* Look at the header without changing the file's size; the lock proves that no
         * other process uses the file. */
        int rc = ds_mmap_open(o->file, (size_t)fsize, &peek, NULL, NULL);
        if (rc != DS_OK) {
            snprintf(err, errlen, "%s: cannot map the queue file: %s", o->file, ds_strerror(rc));
            return rc;
        }
        rc = ds_mmap_lock(&peek);
        if (rc != DS_OK) {
            ds_mmap_close(&peek);
            snprintf(err, errlen, "%s: the queue file is in use by another process", o->file);
            return rc == DS_EAGAIN ? DS_EPERM : rc;
        }
        nsb = ds_qf_super_load(peek.base, fsize, &sb);
        other_version = nsb == 0 ? ds_qf_super_other_version(peek.base, fsize) : 0;
        if (nsb > 0)
            in_place = sb.capacity == r->cap;
        else
            in_place = fsize == DS_QF_DATA_OFF + r->cap && other_version == 0;
        if (in_place)
            ds_mmap_close(&peek); /* map_file takes the lock again */
    }

    if (exists && !in_place) {
        /* The old file stays locked (peek) while it is moved aside and emptied. */
        char old[1100];
        snprintf(old, sizeof(old), "%s.old", o->file);
        int rc = ds_file_rename(o->file, old);
        if (rc != DS_OK) {
            ds_mmap_close(&peek);
            snprintf(err, errlen, "%s: cannot move the old queue file aside: %s", o->file,
                     ds_strerror(rc));
            return rc;
        }
        if (nsb > 0)
            ds_log_info(COMP, "%s: the file holds a queue of %" PRIu64 " bytes, queue-size is "
                        "%" PRIu64 ": moving its events into a new file", o->file, sb.capacity,
                        r->cap);
        else if (other_version)
            ds_log_warn(COMP, "%s: a queue file of format version %u (this dnsstream reads "
                        "version %u): its bytes are set aside, its events are not delivered",
                        o->file, (unsigned)other_version, (unsigned)DS_QF_VERSION);
        else
            ds_log_warn(COMP, "%s: not a queue file of %" PRIu64 " bytes (no valid header, "
                        "%" PRIu64 " bytes): salvaging what it holds", o->file, r->cap, fsize);
        rc = map_file(r, err, errlen);
        if (rc != DS_OK) {
            ds_file_rename(old, o->file);
            ds_mmap_close(&peek);
            return rc;
        }
        init_empty_file(r, 1);
        salvage_foreign(r, old, fsize, &sf);
        ds_mmap_close(&peek);
        return DS_OK;
    }

    int rc = map_file(r, err, errlen);
    if (rc != DS_OK)
        return rc;
    if (!exists) {
        init_empty_file(r, 1);
        return DS_OK;
    }

    /* In place: the file has this capacity (or no header but the right size). */
    uint8_t *base = r->map.base;
    sf.data = r->data;
    sf.cap = r->cap;
    sf.avail = fsize > DS_QF_DATA_OFF ? fsize - DS_QF_DATA_OFF : 0;
    if (sf.avail > r->cap)
        sf.avail = r->cap;
    sf.base_off = DS_QF_DATA_OFF;
    struct header_view v;
    read_header(r->path, base, fsize, r->pslots, &sf, &v);
    if (v.nsb == 0 && !v.zero)
        ds_log_warn(COMP, "%s: both superblock copies are damaged; rebuilding from the records",
                    r->path);
    else if (v.nsb == 1 && fsize >= DS_QF_SLOT_OFF)
        ds_log_info(COMP, "%s: one superblock copy was damaged (the other is used)", r->path);
    bool reset = v.nsb && (v.sb.flags & DS_QF_CLEAN) && v.sb.head_pos == v.sb.tail_pos;
    if (fsize < DS_QF_DATA_OFF + r->cap && !(reset && fsize == DS_QF_DATA_OFF))
        ds_log_warn(COMP, "%s: the file was truncated to %" PRIu64 " bytes (expected %" PRIu64
                    ")", r->path, fsize, DS_QF_DATA_OFF + r->cap);

    /* The mapping is full size now: bytes a cut file lacks read as zeros. */
    struct ds_qf_scan_in in = scan_input(&v, r->data, r->cap, r->cap);
    struct inplace_scan xs = {.r = r, .sf = &sf};
    struct ds_qf_scan_cb cb = {&xs, NULL, scan_damage_collect};
    struct ds_qf_scan_out so;
    ds_qf_scan(&in, &cb, &so);
    side_close(&sf);
    /* Cover the damage inside the retained range with markers so readers skip it. */
    for (size_t i = 0; i < xs.nregions; i++) {
        struct region *g = &xs.regions[i];
        if (g->pos >= so.head_pos && g->pos + g->len <= so.tail_pos)
            cover_damage(r, g->pos, g->len);
    }
    free(xs.regions);

    r->sb = v.sb;
    if (v.nsb == 0) {
        memset(&r->sb, 0, sizeof(r->sb));
        r->sb.created_us = ds_time_now_us();
    }
    set_ring_from_scan(r, &so);
    r->next_seq = next_seq_of(&v, &so, in.min_seq);
    ds__ring_store_super(r, 0);
    report_salvage(r, so.records, so.damaged_bytes + v.damaged,
                   so.damaged_regions + (v.damaged ? 1 : 0), &sf,
                   v.nsb && (v.sb.flags & DS_QF_CLEAN));
    if (sf.failed)
        ds_log_error(COMP, "%s: writing %s failed; some damaged bytes were not kept", r->path,
                     sf.name);
    return DS_OK;
}

struct foreign_ctx {
    struct ds_ring *r;
    struct side_file *sf;
};

static void foreign_record(void *arg, uint64_t pos, const struct ds_qf_rec *h,
                           const uint8_t *payload)
{
    struct foreign_ctx *x = arg;
    struct ds_ring *r = x->r;
    (void)pos;
    struct ds_rec_in e = {payload, h->len, h->kind, h->input_id, h->route_mask, h->time_us};
    /* Keep the record's own seq; the new ring continues the numbering. */
    if (h->seq > r->next_seq)
        r->next_seq = h->seq;
    uint64_t before = r->received;
    if (ds__ring_append_locked(r, &e, 1) != 1)
        r->dropped++;
    r->received = before;
}

static void foreign_damage(void *arg, uint64_t pos, uint64_t len)
{
    struct foreign_ctx *x = arg;
    side_region(x->sf, pos, len);
}

static void salvage_foreign(struct ds_ring *r, const char *old_path, uint64_t old_size,
                            struct side_file *sf)
{
    struct ds_mmap m;
    uint64_t records = 0, damaged = 0, regions = 0;
    int rc = ds_mmap_open(old_path, (size_t)old_size, &m, NULL, NULL);
    if (rc != DS_OK) {
        ds_log_error(COMP, "%s: cannot read %s (%s); it is kept as it is", r->path, old_path,
                     ds_strerror(rc));
        return;
    }
    const uint8_t *base = m.base;
    uint64_t avail = old_size > DS_QF_DATA_OFF ? old_size - DS_QF_DATA_OFF : 0;
    sf->data = base + DS_QF_DATA_OFF;
    sf->avail = avail;
    sf->base_off = DS_QF_DATA_OFF;
    struct header_view v;
    read_header(r->path, base, old_size, r->pslots, sf, &v);
    uint64_t cap = v.nsb ? v.sb.capacity : avail;
    cap -= cap % 8;
    sf->cap = cap ? cap : 1;
    struct foreign_ctx x = {r, sf};
    uint64_t dropped_before = r->dropped;
    struct ds_qf_scan_out so;
    memset(&so, 0, sizeof(so));
    struct ds_qf_scan_in in = scan_input(&v, base + DS_QF_DATA_OFF, cap, avail);
    if (cap >= DS_QF_MIN_CAPACITY) {
        struct ds_qf_scan_cb cb = {&x, foreign_record, foreign_damage};
        r->next_seq = in.min_seq;
        ds_qf_scan(&in, &cb, &so);
    }
    uint64_t lost = r->dropped - dropped_before;
    records = so.records - lost;
    damaged = so.damaged_bytes + v.damaged;
    regions = so.damaged_regions + (v.damaged ? 1 : 0);
    uint64_t next = next_seq_of(&v, &so, in.min_seq);
    if (next > r->next_seq)
        r->next_seq = next;
    int nsb = v.nsb;
    bool keep_whole = nsb == 0 && so.records == 0;
    ds_mmap_close(&m);
    if (keep_whole) {
        /* Nothing recognisable: keep the whole file under the damaged name. */
        side_close(sf);
        if (sf->name[0])
            ds_file_remove(sf->name);
        side_open(sf);
        side_close(sf);
        if (sf->name[0] && ds_file_rename(old_path, sf->name) == DS_OK) {
            damaged = sf->bytes = old_size;
            regions = 1;
        } else {
            ds_log_error(COMP, "%s: could not set %s aside", r->path, old_path);
        }
    } else {
        side_close(sf);
        ds_file_remove(old_path);
    }
    if (lost)
        ds_log_warn(COMP, "%s: %" PRIu64 " salvaged event(s) did not fit into queue-size %" PRIu64
                    " and were dropped", r->path, lost, r->cap);
    ds__ring_store_super(r, 0);
    report_salvage(r, records, damaged, regions, sf, nsb && (v.sb.flags & DS_QF_CLEAN));
}

/* ---- open / close ------------------------------------------------------------------ */

int ds__ring_file_open(struct ds_ring *r, const struct ds_ring_options *o, char *err,
                       size_t errlen)
{
    int rc = open_file_ring(r, o, err, errlen);
    if (rc != DS_OK)
        return rc;
    ds__ring_make_dormant_cursors(r);
    r->sync_ms = o->sync_interval_ms;
    if (r->sync_ms > 0) {
        ds_mutex_init(&r->sync_mu);
        ds_cond_init(&r->sync_cv);
        if (ds_thread_create(&r->sync_thr, sync_thread, r, "ds-qsync") == DS_OK)
            r->sync_started = true;
        else
            ds_log_error(COMP, "%s: cannot start the queue-sync thread", r->path);
    }
    return DS_OK;
}

void ds__ring_file_close(struct ds_ring *r)
{
    if (r->sync_started) {
        ds_mutex_lock(&r->sync_mu);
        r->sync_stop = true;
        ds_cond_signal(&r->sync_cv);
        ds_mutex_unlock(&r->sync_mu);
        ds_thread_join(&r->sync_thr);
    }
    if (r->sync_ms > 0) {
        ds_cond_destroy(&r->sync_cv);
        ds_mutex_destroy(&r->sync_mu);
    }
    ds_mutex_lock(&r->mu);
    /* Destinations of the last run that were not opened in this one are gone: their
     * slots are forgotten and they hold nothing any more. */
    for (int i = 0; i < r->ncur; i++)
        if (r->cur[i].dormant)
            ds__ring_dormant_drop(r, &r->cur[i]);
    ds__ring_update_head(r);
    bool spent = ds__ring_norm(r, r->head_pos) >= r->tail_pos;
    if (spent) {
        /* Nothing left to deliver: reset to an empty queue (the numbering goes on). */
        r->head_pos = r->tail_pos = r->tail_phys = 0;
        r->head_ord = r->tail_ord = 0;
        for (int i = 0; i < r->ncur; i++) {
            struct ds_ring_cursor *c = &r->cur[i];
            if (c->dormant)
                continue;
            c->released = r->next_seq - 1;
            ds__ring_store_slot(r, c);
        }
    }
    ds__ring_store_super(r, DS_QF_CLEAN);
    int rc = ds_mmap_sync(&r->map, 0, r->map.len, false);
    if (rc != DS_OK)
        ds_log_error(COMP, "%s: final sync failed: %s", r->path, ds_strerror(rc));
    uint64_t left = r->tail_ord - r->head_ord;
    ds_mutex_unlock(&r->mu);
    ds_mmap_close(&r->map);
    if (spent) {
        rc = ds_file_truncate(r->path, DS_QF_DATA_OFF);
        if (rc != DS_OK)
            ds_log_warn(COMP, "%s: cannot shrink the spent queue file: %s", r->path,
                        ds_strerror(rc));
    } else {
        ds_log_info(COMP, "%s: %" PRIu64 " undelivered event(s) kept for the next start",
                    r->path, left);
    }
}

/* ---- inspect ------------------------------------------------------------------------------ */

int ds_ring_inspect(const char *path, struct ds_ring_stats *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (errlen)
        err[0] = 0;
    uint64_t fsize;
    int rc = ds_file_size(path, &fsize);
    if (rc != DS_OK) {
        snprintf(err, errlen, "%s: %s", path, ds_strerror(rc));
        return rc;
    }
    if (fsize == 0) {
        snprintf(err, errlen, "%s: empty file (an empty queue)", path);
        out->next_seq = 1;
        return DS_OK;
    }
    struct ds_mmap m;
    rc = ds_mmap_open(path, (size_t)fsize, &m, NULL, NULL);
    if (rc != DS_OK) {
        snprintf(err, errlen, "%s: cannot map: %s", path, ds_strerror(rc));
        return rc;
    }
    const uint8_t *base = m.base;
    struct header_view v;
    read_header(path, base, fsize, NULL, NULL, &v);
    uint64_t avail = fsize > DS_QF_DATA_OFF ? fsize - DS_QF_DATA_OFF : 0;
    uint64_t cap = v.nsb ? v.sb.capacity : avail - avail % 8;
    struct ds_qf_scan_out so;
    memset(&so, 0, sizeof(so));
    struct ds_qf_scan_in in = scan_input(&v, base + DS_QF_DATA_OFF, cap, avail);
    if (cap >= DS_QF_MIN_CAPACITY)
        ds_qf_scan(&in, NULL, &so);
    out->capacity = cap;
    out->bytes_used = so.record_bytes;
    out->records = so.records;
    out->next_seq = next_seq_of(&v, &so, in.min_seq);
    out->salvaged = so.records;
    /* As an open would count it; a file with nothing recognisable is set aside whole. */
    out->set_aside_bytes = v.nsb == 0 && so.records == 0 && !v.zero ? fsize
                                                                     : so.damaged_bytes + v.damaged;
    if (v.nsb == 0)
        snprintf(err, errlen, "%s: no valid superblock", path);
    ds_mmap_close(&m);
    return DS_OK;
}
