/*
 * ds_ring.c - the bounded event ring and its queue file.  See ds_ring.h for the API
 * and docs/queue.md for the design, the file format and the guarantees.
 *
 * One byte ring of `capacity` bytes holds records in the ds_qfile.h layout.  Virtual
 * positions only grow; head_pos is the oldest record some cursor still needs, tail_pos
 * where the next one goes.  Every cursor has a read position (next record to hand
 * out) and a release position (first record it has not released); the records in
 * between are "held": the consumer may still look at them, so nothing reclaims them.
 * Ordinals (count of records appended before a position) give exact record counts
 * even when sequence numbers have gaps after a salvage.
 *
 * One mutex guards everything; producers take it once per chunk of up to
 * APPEND_CHUNK records, consumers once per read batch and once per release.
 */
#include "ds_ring.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_err.h"
#include "ds_log.h"
#include "ds_plat.h"
#include "ds_qfile.h"

#define COMP "queue"
#define APPEND_CHUNK 256
#define MAX_CURSORS DS_QF_MAX_SLOTS

struct cursor {
    char *name;
    char *stored_name;           /* a dormant cursor's name as stored (freed at close) */
    uint64_t read_pos, read_ord; /* next record to hand out */
    uint64_t rel_pos, rel_ord;   /* first record not yet released */
    uint64_t last_read;          /* seq last handed out */
    uint64_t released;           /* seq last released */
    uint64_t skipped;            /* records released for this cursor by overflow */
    bool connected;
    bool dormant;                /* found in the queue file, not (yet) opened again */
    int slot;                    /* queue-file slot, -1 when none */
    struct ds_qf_slot fslot;     /* image of that slot (gen, key) */
};

/* A cursor slot found in the queue file at open. */
struct pslot {
    int state; /* 0 free, 1 loaded (becomes a dormant cursor), 2 used by a cursor */
    struct ds_qf_slot s;
};

struct ds_ring {
    struct ds_mutex mu;
    struct ds_cond readers;
    int nwaiting;
    bool shutdown;

    uint8_t *data;
    uint64_t cap;
    enum ds_overflow overflow;
    uint64_t head_pos, head_ord;
    uint64_t tail_pos, tail_ord;
    uint64_t tail_phys; /* tail_pos % cap, kept incrementally (no division per record) */
    uint64_t next_seq;

    uint64_t received, dropped, salvaged, set_aside;
    char *set_aside_file;

    struct cursor cur[MAX_CURSORS];
    int ncur;

    /* queue file */
    char *path;
    struct ds_mmap map;
    struct ds_qf_super sb;
    struct pslot pslots[MAX_CURSORS];

    /* queue-sync */
    unsigned sync_ms;
    bool sync_started, sync_stop;
    struct ds_thread sync_thr;
    struct ds_mutex sync_mu;
    struct ds_cond sync_cv;
};

/* ---- record access ------------------------------------------------------------- */

static inline struct ds_qf_rec *hdr_at(const struct ds_ring *r, uint64_t pos)
{
    return (struct ds_qf_rec *)(void *)(r->data + pos % r->cap);
}

/* Skip markers in front of pos (never past the tail). */
static inline uint64_t norm(const struct ds_ring *r, uint64_t pos)
{
    while (pos < r->tail_pos) {
        const struct ds_qf_rec *h = hdr_at(r, pos);
        if (h->len != DS_QF_SKIP)
            break;
        pos += h->crc;
    }
    return pos;
}

static inline bool is_file(const struct ds_ring *r)
{
    return r->path != NULL;
}

static uint64_t seq_at(const struct ds_ring *r, uint64_t pos)
{
    pos = norm(r, pos);
    return pos < r->tail_pos ? hdr_at(r, pos)->seq : r->next_seq;
}

static void write_marker(struct ds_ring *r, uint64_t pos, uint64_t len)
{
    uint32_t w[2] = {DS_QF_SKIP, (uint32_t)len};
    memcpy(r->data + pos % r->cap, w, sizeof(w));
}

/* ---- persistence ----------------------------------------------------------------- */

static void store_super(struct ds_ring *r, uint32_t flags)
{
    if (!is_file(r))
        return;
    r->sb.capacity = r->cap;
    r->sb.head_pos = r->head_pos;
    r->sb.head_seq = seq_at(r, r->head_pos);
    r->sb.tail_pos = r->tail_pos;
    r->sb.next_seq = r->next_seq;
    r->sb.flags = flags;
    ds_qf_super_store(r->map.base, &r->sb);
}

static void store_slot(struct ds_ring *r, struct cursor *c)
{
    if (!is_file(r) || c->slot < 0)
        return;
    c->fslot.released = c->released;
    ds_qf_slot_store(r->map.base, c->slot, &c->fslot);
}

/* ---- head and overflow ----------------------------------------------------------- */

/* The head follows the slowest cursor's release position (with no cursor open, it
 * stays: records wait for a destination).  Dormant cursors (destinations of the last
 * run not opened again yet) hold records like disconnected ones. */
static void update_head(struct ds_ring *r)
{
    if (r->ncur == 0)
        return;
    uint64_t pos = UINT64_MAX, ord = 0;
    for (int i = 0; i < r->ncur; i++) {
        if (r->cur[i].rel_pos < pos) {
            pos = r->cur[i].rel_pos;
            ord = r->cur[i].rel_ord;
        }
    }
    if (pos != r->head_pos) {
        r->head_pos = pos;
        r->head_ord = ord;
        store_super(r, 0);
    }
}

/* Release the head record h (at hpos) for cursor c by overflow. */
static void skip_for(struct cursor *c, uint64_t next, const struct ds_qf_rec *h)
{
    c->rel_pos = c->read_pos = next;
    c->rel_ord++;
    c->read_ord = c->rel_ord;
    c->released = h->seq;
    if (c->last_read < h->seq)
        c->last_read = h->seq;
    c->skipped++;
}

/* Make need bytes free at the tail, by the overflow rules.  False: the new record
 * must be refused. */
static bool make_room(struct ds_ring *r, uint64_t need)
{
    bool moved = false, ok = true;
    while (r->cap - (r->tail_pos - r->head_pos) < need) {
        if (need > r->cap) {
            ok = false;
            break;
        }
        uint64_t hpos = norm(r, r->head_pos);
        if (hpos >= r->tail_pos) {
            /* Only markers are left: every cursor is at the tail. */
            for (int i = 0; i < r->ncur; i++)
                r->cur[i].rel_pos = r->cur[i].read_pos = r->tail_pos;
            r->head_pos = r->tail_pos;
            moved = true;
            continue;
        }
        const struct ds_qf_rec *h = hdr_at(r, hpos);
        uint64_t next = hpos + ds_qf_rec_size(h->len);
        bool any = false, hold = false, conn = false;
        for (int i = 0; i < r->ncur; i++) {
            struct cursor *c = &r->cur[i];
            if (norm(r, c->rel_pos) != hpos)
                continue;
            any = true;
            hold |= c->read_ord > c->rel_ord;
            conn |= c->connected;
        }
        if (any && hold) {
            ok = false; /* a consumer still looks at it: never reclaim */
            break;
        }
        if (!any) {
            r->dropped++; /* no destination at all: the oldest event goes */
        } else if (conn) {
            if (r->overflow != DS_OVERFLOW_DROP_OLDEST) {
                ok = false;
                break;
            }
            r->dropped++;
        }
        for (int i = 0; i < r->ncur; i++) {
            struct cursor *c = &r->cur[i];
            if (norm(r, c->rel_pos) == hpos)
                skip_for(c, next, h);
        }
        r->head_pos = next;
        r->head_ord++;
        moved = true;
    }
    if (moved)
        store_super(r, 0);
    return ok;
}

/* ---- append ------------------------------------------------------------------------ */

static void jump_to_next_lap(struct ds_ring *r, uint64_t pad)
{
    write_marker(r, r->tail_pos, pad);
    r->tail_pos += pad;
    r->tail_phys = 0;
    for (int i = 0; i < r->ncur; i++)
        r->cur[i].rel_pos = r->cur[i].read_pos = r->tail_pos;
    r->head_pos = r->tail_pos;
    store_super(r, 0);
}

static size_t append_locked(struct ds_ring *r, const struct ds_rec_in *in, size_t n,
                            const uint32_t *crcs)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t len = in[i].len;
        uint64_t size = ds_qf_rec_size(len);
        if (len > DS_REC_MAX_PAYLOAD || size > r->cap ||
            (in[i].kind != DS_REC_PDNS && in[i].kind != DS_REC_METRICS))
            break;
        uint64_t phys = r->tail_phys;
        uint64_t pad = r->cap - phys < size ? r->cap - phys : 0;
        bool room = r->cap - (r->tail_pos - r->head_pos) >= pad + size ||
                    make_room(r, pad + size);
        if (pad && r->tail_ord == r->head_ord) {
            /* Nothing is retained: start the next lap right away (a record larger
             * than the rest of this lap plus the free start would not fit otherwise). */
            jump_to_next_lap(r, pad);
            pad = 0;
            room = make_room(r, size);
        }
        if (!room)
            break;
        if (pad) {
            write_marker(r, r->tail_pos, pad);
            r->tail_pos += pad;
            r->tail_phys = 0;
        }
        uint8_t *p = r->data + r->tail_phys;
        if (size > DS_QF_REC_HDR) {
            uint64_t zero = 0; /* the alignment padding after the payload */
            memcpy(p + size - 8, &zero, 8);
            memcpy(p + DS_QF_REC_HDR, in[i].data, len);
        }
        struct ds_qf_rec h = {
            .len = len,
            .crc = 0,
            .seq = r->next_seq,
            .time_us = in[i].time_us,
            .route_mask = in[i].route_mask,
            .input_id = in[i].input_id,
            .kind = in[i].kind,
            .flags = 0,
        };
        if (crcs)
            h.crc = ds_qf_rec_crc(&h, crcs[i]);
        memcpy(p, &h, sizeof(h));
        r->next_seq++;
        r->tail_pos += size;
        r->tail_phys += size;
        if (r->tail_phys == r->cap)
            r->tail_phys = 0;
        r->tail_ord++;
        r->received++;
    }
    if (i > 0 && r->nwaiting > 0)
        ds_cond_broadcast(&r->readers);
    return i;
}

size_t ds_ring_append(struct ds_ring *r, const struct ds_rec_in *in, size_t n)
{
    uint32_t crcs[APPEND_CHUNK];
    size_t done = 0;
    while (done < n) {
        size_t m = n - done < APPEND_CHUNK ? n - done : APPEND_CHUNK;
        if (is_file(r)) {
            /* The payload checksum is the expensive part: compute it unlocked. */
            for (size_t i = 0; i < m; i++) {
                const struct ds_rec_in *e = &in[done + i];
                crcs[i] = e->len <= DS_REC_MAX_PAYLOAD ? ds_qf_payload_crc(e->data, e->len) : 0;
            }
        }
        ds_mutex_lock(&r->mu);
        size_t k = append_locked(r, in + done, m, is_file(r) ? crcs : NULL);
        if (k < m)
            r->dropped += n - done - k;
        ds_mutex_unlock(&r->mu);
        done += k;
        if (k < m)
            break;
    }
    return done;
}

/* ---- cursors ------------------------------------------------------------------------- */

static bool valid_id(const struct ds_ring *r, int id)
{
    return id >= 0 && id < r->ncur;
}

/* Position of the first record with seq > released, walking from the head. */
static void resume_point(const struct ds_ring *r, uint64_t released, uint64_t *pos,
                         uint64_t *ord)
{
    uint64_t p = r->head_pos, o = r->head_ord;
    for (;;) {
        p = norm(r, p);
        if (p >= r->tail_pos || hdr_at(r, p)->seq > released)
            break;
        p += ds_qf_rec_size(hdr_at(r, p)->len);
        o++;
    }
    *pos = p;
    *ord = o;
}

static void cursor_init(struct ds_ring *r, struct cursor *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->name = ds_xstrdup(name);
    c->connected = true;
    c->slot = -1;
    c->read_pos = c->rel_pos = r->head_pos;
    c->read_ord = c->rel_ord = r->head_ord;
    c->released = c->last_read = seq_at(r, r->head_pos) - 1;
}

/* Give c a free queue-file slot (or the slot of a dormant cursor, which then goes). */
static void cursor_take_slot(struct ds_ring *r, struct cursor *c, const char *key,
                             uint16_t klen)
{
    int slot = -1;
    for (int i = 0; i < MAX_CURSORS && slot < 0; i++)
        if (r->pslots[i].state == 0)
            slot = i;
    if (slot < 0) {
        ds_log_warn(COMP, "%s: no free slot in the queue file; this destination will not "
                    "resume its position after a restart", c->name);
        return;
    }
    c->slot = slot;
    r->pslots[slot].state = 2;
    memset(&c->fslot, 0, sizeof(c->fslot));
    memcpy(c->fslot.name, key, klen);
    c->fslot.name_len = klen;
    store_slot(r, c);
}

/* Forget dormant cursor d: its slot is freed, it no longer holds records. */
static void dormant_drop(struct ds_ring *r, struct cursor *d)
{
    if (d->slot >= 0) {
        ds_qf_slot_clear(r->map.base, d->slot);
        r->pslots[d->slot].state = 0;
        d->slot = -1;
    }
    d->rel_pos = d->read_pos = r->tail_pos;
    d->rel_ord = d->read_ord = r->tail_ord;
}

int ds_ring_cursor_open(struct ds_ring *r, const char *name)
{
    if (!name || !*name)
        return DS_EINVAL;
    char key[DS_QF_NAME_MAX];
    uint16_t klen;
    ds_qf_name_key(name, key, &klen);
    ds_mutex_lock(&r->mu);
    int id = -1;
    for (int i = 0; i < r->ncur; i++) {
        struct cursor *c = &r->cur[i];
        if (!c->dormant && strcmp(c->name, name) == 0) {
            ds_mutex_unlock(&r->mu);
            return DS_EINVAL;
        }
        if (c->dormant && id < 0 && c->fslot.name_len == klen &&
            memcmp(c->fslot.name, key, klen) == 0)
            id = i;
    }
    if (id >= 0) {
        /* This destination was here before: it resumes where it stopped. */
        struct cursor *c = &r->cur[id];
        if (strcmp(c->name, name) != 0) {
            /* A stats caller may still hold the stored (hashed) name: keep it alive. */
            free(c->stored_name);
            c->stored_name = c->name;
            c->name = ds_xstrdup(name);
        }
        c->dormant = false;
        c->connected = true;
        ds_mutex_unlock(&r->mu);
        return id;
    }
    if (r->ncur < MAX_CURSORS) {
        id = r->ncur++;
    } else {
        /* Full: a dormant cursor (a destination that is gone) makes room. */
        for (int i = 0; i < r->ncur && id < 0; i++)
            if (r->cur[i].dormant)
                id = i;
        if (id < 0) {
            ds_mutex_unlock(&r->mu);
            return DS_ENOSPC;
        }
        dormant_drop(r, &r->cur[id]);
        free(r->cur[id].name);
        update_head(r);
    }
    struct cursor *c = &r->cur[id];
    cursor_init(r, c, name);
    if (is_file(r)) {
        if (r->ncur == MAX_CURSORS) {
            /* Every slot may be taken by dormant cursors: free one first. */
            bool any_free = false;
            for (int i = 0; i < MAX_CURSORS; i++)
                any_free |= r->pslots[i].state == 0;
            for (int i = 0; i < r->ncur && !any_free; i++) {
                if (r->cur[i].dormant) {
                    dormant_drop(r, &r->cur[i]);
                    any_free = true;
                }
            }
        }
        cursor_take_slot(r, c, key, klen);
    }
    ds_mutex_unlock(&r->mu);
    return id;
}

/* After a salvage: every destination found in the file becomes a dormant cursor at
 * its resume point, so that records it still needs are kept until it is opened
 * again (or, like a disconnected destination's, given up first on overflow). */
static void make_dormant_cursors(struct ds_ring *r)
{
    for (int i = 0; i < MAX_CURSORS && r->ncur < MAX_CURSORS; i++) {
        struct pslot *ps = &r->pslots[i];
        if (ps->state != 1)
            continue;
        struct cursor *c = &r->cur[r->ncur++];
        char name[DS_QF_NAME_MAX + 1];
        memcpy(name, ps->s.name, ps->s.name_len);
        name[ps->s.name_len] = 0;
        cursor_init(r, c, name);
        c->dormant = true;
        c->connected = false;
        c->slot = i;
        c->fslot = ps->s;
        ps->state = 2;
        resume_point(r, ps->s.released, &c->rel_pos, &c->rel_ord);
        c->read_pos = c->rel_pos;
        c->read_ord = c->rel_ord;
        if (ps->s.released > c->released)
            c->released = c->last_read = ps->s.released;
        store_slot(r, c);
    }
    update_head(r);
}

void ds_ring_cursor_set_connected(struct ds_ring *r, int id, bool connected)
{
    ds_mutex_lock(&r->mu);
    if (valid_id(r, id))
        r->cur[id].connected = connected;
    ds_mutex_unlock(&r->mu);
}

int ds_ring_read(struct ds_ring *r, int id, struct ds_rec *out, int max, size_t max_bytes,
                 int timeout_ms)
{
    if (max <= 0 || !out)
        return DS_EINVAL;
    ds_mutex_lock(&r->mu);
    if (!valid_id(r, id)) {
        ds_mutex_unlock(&r->mu);
        return DS_EINVAL;
    }
    struct cursor *c = &r->cur[id];
    uint64_t deadline = 0;
    uint64_t pos;
    for (;;) {
        pos = norm(r, c->read_pos);
        if (pos < r->tail_pos)
            break;
        if (r->shutdown) {
            ds_mutex_unlock(&r->mu);
            return DS_ECLOSED;
        }
        if (timeout_ms == 0) {
            ds_mutex_unlock(&r->mu);
            return 0;
        }
        r->nwaiting++;
        if (timeout_ms < 0) {
            ds_cond_wait(&r->readers, &r->mu);
        } else {
            uint64_t now = ds_time_mono_ms();
            if (deadline == 0)
                deadline = now + (uint64_t)timeout_ms;
            if (now >= deadline) {
                r->nwaiting--;
                ds_mutex_unlock(&r->mu);
                return 0;
            }
            ds_cond_timedwait_ms(&r->readers, &r->mu, (unsigned)(deadline - now));
        }
        r->nwaiting--;
    }
    int n = 0;
    size_t bytes = 0;
    uint64_t phys = pos % r->cap;
    while (n < max && pos < r->tail_pos) {
        const struct ds_qf_rec *h = (const struct ds_qf_rec *)(const void *)(r->data + phys);
        if (h->len == DS_QF_SKIP) {
            pos += h->crc;
            phys += h->crc;
            if (phys == r->cap)
                phys = 0;
            continue;
        }
        if (n > 0 && bytes + h->len > max_bytes)
            break;
        struct ds_rec *o = &out[n++];
        o->seq = h->seq;
        o->time_us = h->time_us;
        o->route_mask = h->route_mask;
        o->input_id = h->input_id;
        o->kind = h->kind;
        o->len = h->len;
        o->data = (const uint8_t *)h + DS_QF_REC_HDR;
        bytes += h->len;
        uint64_t size = ds_qf_rec_size(h->len);
        pos += size;
        phys += size;
        if (phys == r->cap)
            phys = 0;
    }
    c->read_pos = pos;
    c->read_ord += (uint64_t)n;
    c->last_read = out[n - 1].seq;
    ds_mutex_unlock(&r->mu);
    return n;
}

void ds_ring_release(struct ds_ring *r, int id, uint64_t upto_seq)
{
    ds_mutex_lock(&r->mu);
    if (!valid_id(r, id)) {
        ds_mutex_unlock(&r->mu);
        return;
    }
    struct cursor *c = &r->cur[id];
    uint64_t pos = c->rel_pos;
    uint64_t phys = pos % r->cap;
    bool moved = false;
    while (c->rel_ord < c->read_ord) {
        const struct ds_qf_rec *h = (const struct ds_qf_rec *)(const void *)(r->data + phys);
        uint64_t step = h->len == DS_QF_SKIP ? h->crc : ds_qf_rec_size(h->len);
        if (h->len != DS_QF_SKIP) {
            if (h->seq > upto_seq)
                break;
            c->rel_ord++;
            c->released = h->seq;
            moved = true;
        }
        pos += step;
        phys += step;
        if (phys == r->cap)
            phys = 0;
    }
    if (moved) {
        c->rel_pos = pos;
        store_slot(r, c);
        update_head(r);
    }
    ds_mutex_unlock(&r->mu);
}

void ds_ring_rewind(struct ds_ring *r, int id, uint64_t from_seq)
{
    ds_mutex_lock(&r->mu);
    if (!valid_id(r, id)) {
        ds_mutex_unlock(&r->mu);
        return;
    }
    struct cursor *c = &r->cur[id];
    uint64_t pos = c->rel_pos, ord = c->rel_ord;
    while (ord < c->read_ord) {
        pos = norm(r, pos);
        const struct ds_qf_rec *h = hdr_at(r, pos);
        if (h->seq >= from_seq)
            break;
        pos += ds_qf_rec_size(h->len);
        ord++;
    }
    if (ord < c->read_ord) {
        c->read_pos = pos;
        c->read_ord = ord;
        c->last_read = seq_at(r, pos) - 1;
    }
    ds_mutex_unlock(&r->mu);
}

/* ---- stats ------------------------------------------------------------------------------ */

void ds_ring_stats(struct ds_ring *r, struct ds_ring_stats *out)
{
    ds_mutex_lock(&r->mu);
    memset(out, 0, sizeof(*out));
    out->capacity = r->cap;
    out->bytes_used = r->tail_pos - r->head_pos;
    out->records = r->tail_ord - r->head_ord;
    out->received = r->received;
    out->dropped = r->dropped;
    out->next_seq = r->next_seq;
    out->salvaged = r->salvaged;
    out->set_aside_bytes = r->set_aside;
    out->set_aside_file = r->set_aside_file;
    ds_mutex_unlock(&r->mu);
}

int ds_ring_cursor_count(struct ds_ring *r)
{
    ds_mutex_lock(&r->mu);
    int n = r->ncur;
    ds_mutex_unlock(&r->mu);
    return n;
}

void ds_ring_cursor_stats(struct ds_ring *r, int id, struct ds_cursor_stats *out)
{
    memset(out, 0, sizeof(*out));
    ds_mutex_lock(&r->mu);
    if (valid_id(r, id)) {
        const struct cursor *c = &r->cur[id];
        out->name = c->name;
        out->read_seq = c->last_read;
        out->released = c->released;
        out->skipped = c->skipped;
        out->lag = r->tail_ord - c->read_ord;
        out->connected = c->connected;
    }
    ds_mutex_unlock(&r->mu);
}

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
        store_super(r, 0);
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
        write_marker(r, pos, n);
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

static void scan_record_count(void *arg, uint64_t pos, const struct ds_qf_rec *h,
                              const uint8_t *payload)
{
    (void)arg, (void)pos, (void)h, (void)payload;
}

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

/* Slots: load every valid one.  Damaged ones are set aside (when sf is not NULL);
 * returns their bytes. */
static uint64_t load_slots(struct ds_ring *r, const uint8_t *base, uint64_t avail,
                           struct side_file *sf, uint64_t *min_released,
                           uint64_t *max_released)
{
    uint64_t damaged = 0;
    *min_released = UINT64_MAX;
    *max_released = 0;
    for (int i = 0; i < MAX_CURSORS; i++) {
        struct ds_qf_slot s;
        int st = ds_qf_slot_load(base, avail, i, &s);
        if (st == 1) {
            r->pslots[i].state = 1;
            r->pslots[i].s = s;
            if (s.released < *min_released)
                *min_released = s.released;
            if (s.released > *max_released)
                *max_released = s.released;
        } else if (st < 0 && sf) {
            uint64_t off = DS_QF_SLOT_OFF + (uint64_t)i * 2 * DS_QF_SLOT_SIZE;
            side_put(sf, off, base + off, 2 * DS_QF_SLOT_SIZE);
            damaged += 2 * DS_QF_SLOT_SIZE;
            ds_log_warn(COMP, "%s: cursor slot %d is damaged; that destination starts again "
                        "from the oldest buffered event", r->path, i);
        }
    }
    return damaged;
}

/* Walk forward from the head to count the records (ordinals) of the salvaged ring. */
static void set_ring_from_scan(struct ds_ring *r, const struct ds_qf_scan_out *so)
{
    r->head_pos = so->head_pos;
    r->tail_pos = so->tail_pos;
    r->tail_phys = so->tail_pos % r->cap;
    r->head_ord = 0;
    r->tail_ord = so->records;
}

static int open_file_ring(struct ds_ring *r, const struct ds_ring_options *o, char *err,
                          size_t errlen);

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
    store_super(r, 0);
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
    bool in_place = true;
    bool header_zero = true;
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
        uint64_t hz = fsize < DS_QF_DATA_OFF ? fsize : DS_QF_DATA_OFF;
        for (uint64_t i = 0; i < hz && header_zero; i++)
            header_zero = ((const uint8_t *)peek.base)[i] == 0;
        if (nsb > 0)
            in_place = sb.capacity == r->cap;
        else
            in_place = fsize == DS_QF_DATA_OFF + r->cap;
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
    uint64_t minrel, maxrel;
    uint64_t header_damage = load_slots(r, base, fsize, &sf, &minrel, &maxrel);
    if (nsb == 0 && !header_zero) {
        header_damage += 2 * DS_QF_SUPER_STRIDE;
        side_put(&sf, 0, base, 2 * DS_QF_SUPER_STRIDE);
        ds_log_warn(COMP, "%s: both superblock copies are damaged; rebuilding from the records",
                    r->path);
    } else if (nsb == 1 && fsize >= DS_QF_SLOT_OFF) {
        ds_log_info(COMP, "%s: one superblock copy was damaged (the other is used)", r->path);
    }
    bool reset = nsb && (sb.flags & DS_QF_CLEAN) && sb.head_pos == sb.tail_pos;
    if (fsize < DS_QF_DATA_OFF + r->cap && !(reset && fsize == DS_QF_DATA_OFF))
        ds_log_warn(COMP, "%s: the file was truncated to %" PRIu64 " bytes (expected %" PRIu64
                    ")", r->path, fsize, DS_QF_DATA_OFF + r->cap);

    struct ds_qf_scan_in in = {
        .data = r->data,
        .capacity = r->cap,
        .avail = r->cap, /* the mapping is full size now; missing bytes read as zero */
        .start_pos = nsb ? sb.head_pos : 0,
        .min_seq = nsb ? sb.head_seq : (minrel == UINT64_MAX ? 1 : minrel + 1),
        .start_known = nsb > 0,
        .tail_hint = nsb ? sb.tail_pos : 0,
    };
    struct inplace_scan xs = {.r = r, .sf = &sf};
    struct ds_qf_scan_cb cb = {&xs, scan_record_count, scan_damage_collect};
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

    r->sb = sb;
    if (nsb == 0) {
        memset(&r->sb, 0, sizeof(r->sb));
        r->sb.created_us = ds_time_now_us();
    }
    set_ring_from_scan(r, &so);
    uint64_t next = so.records ? so.last_seq + 1 : in.min_seq;
    if (nsb && sb.next_seq > next)
        next = sb.next_seq;
    if (maxrel + 1 > next)
        next = maxrel + 1;
    r->next_seq = next;
    store_super(r, 0);
    report_salvage(r, so.records, so.damaged_bytes + header_damage,
                   so.damaged_regions + (header_damage ? 1 : 0), &sf,
                   nsb && (sb.flags & DS_QF_CLEAN));
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
    uint32_t pc = ds_qf_payload_crc(payload, h->len);
    /* Keep the record's own seq; the new ring continues the numbering. */
    if (h->seq > r->next_seq)
        r->next_seq = h->seq;
    uint64_t before = r->received;
    if (append_locked(r, &e, 1, &pc) != 1)
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
    struct ds_qf_super sb;
    int nsb = ds_qf_super_load(base, old_size, &sb);
    uint64_t cap = nsb ? sb.capacity : (old_size > DS_QF_DATA_OFF ? old_size - DS_QF_DATA_OFF : 0);
    cap -= cap % 8;
    uint64_t avail = old_size > DS_QF_DATA_OFF ? old_size - DS_QF_DATA_OFF : 0;
    uint64_t minrel, maxrel;
    sf->data = base + DS_QF_DATA_OFF;
    sf->cap = cap ? cap : 1;
    sf->avail = avail;
    sf->base_off = DS_QF_DATA_OFF;
    /* Without a superblock the slots are only trusted when they check out; the header
     * as a whole is set aside below if anything is salvaged. */
    uint64_t slot_damage = load_slots(r, base, old_size, nsb ? sf : NULL, &minrel, &maxrel);
    struct foreign_ctx x = {r, sf};
    uint64_t dropped_before = r->dropped;
    struct ds_qf_scan_out so;
    memset(&so, 0, sizeof(so));
    if (cap >= DS_QF_MIN_CAPACITY) {
        struct ds_qf_scan_in in = {
            .data = base + DS_QF_DATA_OFF,
            .capacity = cap,
            .avail = avail,
            .start_pos = nsb ? sb.head_pos : 0,
            .min_seq = nsb ? sb.head_seq : (minrel == UINT64_MAX ? 1 : minrel + 1),
            .start_known = nsb > 0,
            .tail_hint = nsb ? sb.tail_pos : 0,
        };
        struct ds_qf_scan_cb cb = {&x, foreign_record, foreign_damage};
        r->next_seq = in.min_seq;
        ds_qf_scan(&in, &cb, &so);
    }
    uint64_t lost = r->dropped - dropped_before;
    records = so.records - lost;
    damaged = so.damaged_bytes + slot_damage;
    regions = so.damaged_regions;
    if (nsb == 0 && so.records > 0) {
        uint64_t hz = old_size < DS_QF_DATA_OFF ? old_size : DS_QF_DATA_OFF;
        side_put(sf, 0, base, hz);
        damaged += hz;
        regions++;
    }
    if (nsb && sb.next_seq > r->next_seq)
        r->next_seq = sb.next_seq;
    if (maxrel + 1 > r->next_seq)
        r->next_seq = maxrel + 1;
    if (r->next_seq == 0)
        r->next_seq = 1;
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
    store_super(r, 0);
    report_salvage(r, records, damaged, regions, sf, nsb && (sb.flags & DS_QF_CLEAN));
}

/* ---- open / close ------------------------------------------------------------------------ */

int ds_ring_open(const struct ds_ring_options *o, struct ds_ring **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen)
        err[0] = 0;
    uint64_t cap = o->size - o->size % 8;
    if (cap < DS_QF_MIN_CAPACITY) {
        snprintf(err, errlen, "queue-size %" PRIu64 " is below the minimum of %u bytes", o->size,
                 DS_QF_MIN_CAPACITY);
        return DS_EINVAL;
    }
    if ((uint64_t)(size_t)(cap + DS_QF_DATA_OFF) != cap + DS_QF_DATA_OFF) {
        snprintf(err, errlen, "queue-size %" PRIu64 " is too large for this system", o->size);
        return DS_ERANGE;
    }
    struct ds_ring *r = ds_xcalloc(1, sizeof(*r));
    r->cap = cap;
    r->overflow = o->overflow;
    r->next_seq = 1;
    ds_mutex_init(&r->mu);
    ds_cond_init(&r->readers);
    if (o->file && *o->file) {
        r->path = ds_xstrdup(o->file);
        int rc = open_file_ring(r, o, err, errlen);
        if (rc != DS_OK) {
            ds_cond_destroy(&r->readers);
            ds_mutex_destroy(&r->mu);
            free(r->path);
            free(r);
            return rc;
        }
        make_dormant_cursors(r);
        r->sync_ms = o->sync_interval_ms;
        if (r->sync_ms > 0) {
            ds_mutex_init(&r->sync_mu);
            ds_cond_init(&r->sync_cv);
            if (ds_thread_create(&r->sync_thr, sync_thread, r, "ds-qsync") == DS_OK)
                r->sync_started = true;
            else
                ds_log_error(COMP, "%s: cannot start the queue-sync thread", r->path);
        }
    } else {
        r->data = ds_xmalloc((size_t)cap);
    }
    *out = r;
    return DS_OK;
}

void ds_ring_shutdown(struct ds_ring *r)
{
    ds_mutex_lock(&r->mu);
    r->shutdown = true;
    ds_cond_broadcast(&r->readers);
    ds_mutex_unlock(&r->mu);
}

void ds_ring_close(struct ds_ring **rp)
{
    struct ds_ring *r = *rp;
    if (!r)
        return;
    *rp = NULL;
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
    if (is_file(r)) {
        ds_mutex_lock(&r->mu);
        /* Destinations of the last run that were not opened in this one are gone: their
         * slots are forgotten and they hold nothing any more. */
        for (int i = 0; i < r->ncur; i++)
            if (r->cur[i].dormant)
                dormant_drop(r, &r->cur[i]);
        update_head(r);
        bool spent = norm(r, r->head_pos) >= r->tail_pos;
        if (spent) {
            /* Nothing left to deliver: reset to an empty queue (the numbering goes on). */
            r->head_pos = r->tail_pos = r->tail_phys = 0;
            r->head_ord = r->tail_ord = 0;
            for (int i = 0; i < r->ncur; i++) {
                struct cursor *c = &r->cur[i];
                if (c->dormant)
                    continue;
                c->released = r->next_seq - 1;
                store_slot(r, c);
            }
        }
        store_super(r, DS_QF_CLEAN);
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
    } else {
        free(r->data);
    }
    for (int i = 0; i < r->ncur; i++) {
        free(r->cur[i].name);
        free(r->cur[i].stored_name);
    }
    ds_cond_destroy(&r->readers);
    ds_mutex_destroy(&r->mu);
    free(r->path);
    free(r->set_aside_file);
    free(r);
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
    struct ds_qf_super sb;
    int nsb = ds_qf_super_load(base, fsize, &sb);
    uint64_t avail = fsize > DS_QF_DATA_OFF ? fsize - DS_QF_DATA_OFF : 0;
    uint64_t cap = nsb ? sb.capacity : avail - avail % 8;
    uint64_t minrel = UINT64_MAX, maxrel = 0;
    for (int i = 0; i < MAX_CURSORS; i++) {
        struct ds_qf_slot s;
        if (ds_qf_slot_load(base, fsize, i, &s) == 1) {
            if (s.released < minrel)
                minrel = s.released;
            if (s.released > maxrel)
                maxrel = s.released;
        }
    }
    struct ds_qf_scan_out so;
    memset(&so, 0, sizeof(so));
    struct ds_qf_scan_in in = {
        .data = base + DS_QF_DATA_OFF,
        .capacity = cap,
        .avail = avail,
        .start_pos = nsb ? sb.head_pos : 0,
        .min_seq = nsb ? sb.head_seq : (minrel == UINT64_MAX ? 1 : minrel + 1),
        .start_known = nsb > 0,
        .tail_hint = nsb ? sb.tail_pos : 0,
    };
    if (cap >= DS_QF_MIN_CAPACITY)
        ds_qf_scan(&in, NULL, &so);
    uint64_t next = so.records ? so.last_seq + 1 : in.min_seq;
    if (nsb && sb.next_seq > next)
        next = sb.next_seq;
    if (maxrel + 1 > next)
        next = maxrel + 1;
    out->capacity = cap;
    out->bytes_used = so.record_bytes;
    out->records = so.records;
    out->next_seq = next;
    out->salvaged = so.records;
    out->set_aside_bytes = so.damaged_bytes;
    if (nsb == 0) {
        bool zero = true;
        uint64_t hz = fsize < DS_QF_DATA_OFF ? fsize : DS_QF_DATA_OFF;
        for (uint64_t i = 0; i < hz && zero; i++)
            zero = base[i] == 0;
        if (!zero)
            out->set_aside_bytes += so.records ? 2 * DS_QF_SUPER_STRIDE : fsize;
        snprintf(err, errlen, "%s: no valid superblock", path);
    }
    ds_mmap_close(&m);
    return DS_OK;
}
