/*
 * ds_ring.c - the bounded event ring: records, cursors, overflow, stats.  See
 * ds_ring.h for the API, ds_ring_file.c for the queue file and docs/queue.md for the
 * design and the guarantees.
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
 * APPEND_CHUNK records, consumers twice per read batch (to find the records, then to
 * publish the new read position: the headers are walked between, without the lock,
 * when nothing can reclaim them) and once per release.  A release up to the end of a
 * batch read earlier sets the release position from what the read remembered.
 */
#include "ds_ring.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_err.h"
#include "ds_log.h"
#include "ds_plat.h"
#include "ds_qfile.h"
#include "ds_ring_int.h"

#define COMP DS_RING_COMP
#define APPEND_CHUNK 256

/* ---- persistence ----------------------------------------------------------------- */

void ds__ring_store_super(struct ds_ring *r, uint32_t flags)
{
    if (!ds__ring_is_file(r))
        return;
    r->sb.capacity = r->cap;
    r->sb.head_pos = r->head_pos;
    r->sb.head_seq = ds__ring_seq_at(r, r->head_pos);
    r->sb.tail_pos = r->tail_pos;
    r->sb.next_seq = r->next_seq;
    r->sb.flags = flags;
    ds_qf_super_store(r->map.base, &r->sb);
}

void ds__ring_store_slot(struct ds_ring *r, struct ds_ring_cursor *c)
{
    if (!ds__ring_is_file(r) || c->slot < 0)
        return;
    c->fslot.released = c->released;
    ds_qf_slot_store(r->map.base, c->slot, &c->fslot);
}

/* ---- head and overflow ----------------------------------------------------------- */

/* The head follows the slowest cursor's release position (with no cursor open, it
 * stays: records wait for a destination).  Dormant cursors (destinations of the last
 * run not opened again yet) hold records like disconnected ones. */
void ds__ring_update_head(struct ds_ring *r)
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
        ds__ring_store_super(r, 0);
    }
}

/* Release the head record h (at hpos) for cursor c by overflow. */
static void skip_for(struct ds_ring_cursor *c, uint64_t next, const struct ds_qf_rec *h)
{
    c->nbat = 0;
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
        uint64_t hpos = ds__ring_norm(r, r->head_pos);
        if (hpos >= r->tail_pos) {
            /* Only markers are left: every cursor is at the tail. */
            for (int i = 0; i < r->ncur; i++) {
                r->cur[i].rel_pos = r->cur[i].read_pos = r->tail_pos;
                r->cur[i].nbat = 0;
            }
            r->head_pos = r->tail_pos;
            moved = true;
            continue;
        }
        const struct ds_qf_rec *h = ds__ring_hdr_at(r, hpos);
        uint64_t next = hpos + ds_qf_rec_size(h->len);
        bool any = false, hold = false, conn = false;
        for (int i = 0; i < r->ncur; i++) {
            struct ds_ring_cursor *c = &r->cur[i];
            if (ds__ring_norm(r, c->rel_pos) != hpos)
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
            if (r->ncur == 0)
                r->dropped++; /* no destination at all: the oldest event goes */
        } else if (conn) {
            if (r->overflow != DS_OVERFLOW_DROP_OLDEST) {
                ok = false;
                break;
            }
            r->dropped++;
        }
        for (int i = 0; i < r->ncur; i++) {
            struct ds_ring_cursor *c = &r->cur[i];
            if (ds__ring_norm(r, c->rel_pos) == hpos)
                skip_for(c, next, h);
        }
        r->head_pos = next;
        r->head_ord++;
        moved = true;
    }
    if (moved)
        ds__ring_store_super(r, 0);
    return ok;
}

/* ---- append ------------------------------------------------------------------------ */

static void jump_to_next_lap(struct ds_ring *r, uint64_t pad)
{
    ds__ring_write_marker(r, r->tail_pos, pad);
    r->tail_pos += pad;
    r->tail_phys = 0;
    for (int i = 0; i < r->ncur; i++) {
        r->cur[i].rel_pos = r->cur[i].read_pos = r->tail_pos;
        r->cur[i].nbat = 0;
    }
    r->head_pos = r->tail_pos;
    ds__ring_store_super(r, 0);
}

size_t ds__ring_append_locked(struct ds_ring *r, const struct ds_rec_in *in, size_t n)
{
    bool file = ds__ring_is_file(r);
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
            ds__ring_write_marker(r, r->tail_pos, pad);
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
        memcpy(p, &h, sizeof(h));
        if (file) {
            /* One crc32 over the header (after its crc field) and the payload, as they
             * lie in the ring now (hot in this core's cache). */
            uint32_t crc = ds_qf_rec_crc(p);
            memcpy(p + offsetof(struct ds_qf_rec, crc), &crc, sizeof(crc));
        }
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
    size_t done = 0;
    while (done < n) {
        size_t m = n - done < APPEND_CHUNK ? n - done : APPEND_CHUNK;
        ds_mutex_lock(&r->mu);
        size_t k = ds__ring_append_locked(r, in + done, m);
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
        p = ds__ring_norm(r, p);
        if (p >= r->tail_pos || ds__ring_hdr_at(r, p)->seq > released)
            break;
        p += ds_qf_rec_size(ds__ring_hdr_at(r, p)->len);
        o++;
    }
    *pos = p;
    *ord = o;
}

static void cursor_init(struct ds_ring *r, struct ds_ring_cursor *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->name = ds_xstrdup(name);
    c->connected = true;
    c->slot = -1;
    c->read_pos = c->rel_pos = r->head_pos;
    c->read_ord = c->rel_ord = r->head_ord;
    c->released = c->last_read = ds__ring_seq_at(r, r->head_pos) - 1;
}

/* Give c a free queue-file slot. */
static void cursor_take_slot(struct ds_ring *r, struct ds_ring_cursor *c, const char *key,
                             uint16_t klen)
{
    int slot = -1;
    for (int i = 0; i < DS_RING_MAX_CURSORS && slot < 0; i++)
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
    ds__ring_store_slot(r, c);
}

/* Forget dormant cursor d: its slot is freed, it no longer holds records. */
void ds__ring_dormant_drop(struct ds_ring *r, struct ds_ring_cursor *d)
{
    if (d->slot >= 0) {
        ds_qf_slot_clear(r->map.base, d->slot);
        r->pslots[d->slot].state = 0;
        d->slot = -1;
    }
    d->rel_pos = d->read_pos = r->tail_pos;
    d->rel_ord = d->read_ord = r->tail_ord;
    d->nbat = 0;
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
        struct ds_ring_cursor *c = &r->cur[i];
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
        struct ds_ring_cursor *c = &r->cur[id];
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
    if (r->ncur < DS_RING_MAX_CURSORS) {
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
        ds__ring_dormant_drop(r, &r->cur[id]);
        free(r->cur[id].name);
        ds__ring_update_head(r);
    }
    struct ds_ring_cursor *c = &r->cur[id];
    cursor_init(r, c, name);
    /* There are as many slots as cursors, so one is free (an evicted cursor's at least). */
    if (ds__ring_is_file(r))
        cursor_take_slot(r, c, key, klen);
    ds_mutex_unlock(&r->mu);
    return id;
}

/* After a salvage: every destination found in the file becomes a dormant cursor at
 * its resume point, so that records it still needs are kept until it is opened
 * again (or, like a disconnected destination's, given up first on overflow). */
void ds__ring_make_dormant_cursors(struct ds_ring *r)
{
    for (int i = 0; i < DS_RING_MAX_CURSORS && r->ncur < DS_RING_MAX_CURSORS; i++) {
        struct ds_ring_pslot *ps = &r->pslots[i];
        if (ps->state != 1)
            continue;
        struct ds_ring_cursor *c = &r->cur[r->ncur++];
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
        ds__ring_store_slot(r, c);
    }
    ds__ring_update_head(r);
}

void ds_ring_cursor_set_connected(struct ds_ring *r, int id, bool connected)
{
    ds_mutex_lock(&r->mu);
    if (valid_id(r, id))
        r->cur[id].connected = connected;
    ds_mutex_unlock(&r->mu);
}

#define READ_PREFETCH 2048
static inline void prefetch_line(const uint8_t *p)
{
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 0, 3);
#else
    (void)p;
#endif
}

/* Where the read-ahead from phys stops: at the tail (left bytes on) or the buffer's end. */
static inline uint64_t prefetch_end(const struct ds_ring *r, uint64_t phys, uint64_t left)
{
    return phys + (left < r->cap - phys ? left : r->cap - phys);
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
    struct ds_ring_cursor *c = &r->cur[id];
    uint64_t deadline = 0;
    uint64_t pos;
    for (;;) {
        pos = ds__ring_norm(r, c->read_pos);
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
    /* The records from pos up to this tail cannot be reclaimed while the lock is not
     * held if this cursor holds records already (the head never passes a held record),
     * or if it would refuse rather than skip them on overflow (connected, drop-newest):
     * then only this thread changes this cursor, and the headers are walked unlocked.
     * Otherwise (a disconnected cursor, or drop-oldest, with nothing held) an append
     * could give these records up for it, so the walk stays under the lock. */
    uint64_t tail = r->tail_pos;
    bool unlocked = c->read_ord > c->rel_ord ||
                    (c->connected && r->overflow == DS_OVERFLOW_DROP_NEWEST);
    if (unlocked)
        ds_mutex_unlock(&r->mu);
    int n = 0;
    size_t bytes = 0;
    uint64_t start_pos = pos, end_pos = pos;
    uint64_t phys = pos % r->cap;
    /* The records were written by an input thread, usually on another core, and each
     * header's position comes from the one before: unhelped, the walk waits for every
     * record's first cache line in turn.  The lines READ_PREFETCH bytes ahead (not past
     * the tail, nor the end of the buffer) are asked for as it goes, so the walk, and the
     * encoder after it, find them close. */
    uint64_t pf = phys, pf_end = prefetch_end(r, phys, tail - pos);
    while (n < max && pos < tail) {
        for (; pf < phys + READ_PREFETCH && pf < pf_end; pf += 64)
            prefetch_line(r->data + pf);
        const struct ds_qf_rec *h = (const struct ds_qf_rec *)(const void *)(r->data + phys);
        if (h->len == DS_QF_SKIP) {
            pos += h->crc;
            phys += h->crc;
            if (phys == r->cap) {
                phys = pf = 0;
                pf_end = prefetch_end(r, 0, tail - pos);
            }
            continue;
        }
        if (n > 0 && bytes + h->len > max_bytes)
            break;
        if (n == 0)
            start_pos = pos;
        struct ds_rec *o = &out[n++];
        o->seq = h->seq;
        o->time_us = h->time_us;
        o->route_mask = h->route_mask;
        o->input_id = h->input_id;
        o->kind = h->kind;
        o->len = h->len;
        o->data = (const uint8_t *)h + DS_QF_REC_HDR;
        /* Readable after the payload: up to the end of the buffer for now; cut below to
         * the end of the batch (what follows it is not held by this cursor and may be
         * written, by an append or a reclaim on overflow, while the consumer looks). */
        uint64_t room = r->cap - (phys + DS_QF_REC_HDR + h->len);
        o->after = room < 64 ? (uint32_t)room : 64;
        bytes += h->len;
        uint64_t size = ds_qf_rec_size(h->len);
        pos += size;
        phys += size;
        if (phys == r->cap) {
            phys = pf = 0;
            pf_end = prefetch_end(r, 0, tail - pos);
        }
        end_pos = pos;
    }
    /* The batch's last record keeps its padding; each one before it what lies between
     * it and the next (padding, a marker) plus the next one and what that one keeps, as
     * far as the two are contiguous (a wrap between them leaves the cut to the buffer's
     * end, which is a held marker). */
    for (int i = n - 1; i >= 0; i--) {
        uint64_t held = ds_qf_rec_size(out[i].len) - DS_QF_REC_HDR - out[i].len;
        if (i < n - 1) {
            const uint8_t *end = out[i].data + out[i].len;
            const uint8_t *next = out[i + 1].data - DS_QF_REC_HDR;
            held = next >= end ? (uint64_t)(next - end) + DS_QF_REC_HDR + out[i + 1].len +
                                     out[i + 1].after
                               : out[i].after;
        }
        if (out[i].after > held)
            out[i].after = (uint32_t)held;
    }
    if (unlocked)
        ds_mutex_lock(&r->mu);
    if (c->nbat == DS_RING_BATCHES) {
        memmove(&c->bat[0], &c->bat[1], (DS_RING_BATCHES - 1) * sizeof(c->bat[0]));
        c->nbat--;
    }
    c->bat[c->nbat++] = (struct ds_ring_batch){
        .first_seq = out[0].seq,
        .last_seq = out[n - 1].seq,
        .start_pos = start_pos,
        .start_ord = c->read_ord,
        .end_pos = end_pos,
        .end_ord = c->read_ord + (uint64_t)n,
    };
    c->read_pos = pos;
    c->read_ord += (uint64_t)n;
    c->last_read = out[n - 1].seq;
    ds_mutex_unlock(&r->mu);
    return n;
}

/* Forget the remembered batches that end at or before ord (released) or after the read
 * position (rewound). */
static void prune_batches(struct ds_ring_cursor *c)
{
    int k = 0;
    for (int i = 0; i < c->nbat; i++)
        if (c->bat[i].end_ord > c->rel_ord && c->bat[i].end_ord <= c->read_ord)
            c->bat[k++] = c->bat[i];
    c->nbat = k;
}

void ds_ring_release(struct ds_ring *r, int id, uint64_t upto_seq)
{
    ds_mutex_lock(&r->mu);
    if (!valid_id(r, id)) {
        ds_mutex_unlock(&r->mu);
        return;
    }
    struct ds_ring_cursor *c = &r->cur[id];
    uint64_t pos = c->rel_pos, ord = c->rel_ord, released = c->released;
    bool moved = false, walk = true;
    /* Seqs grow along the ring, so every record up to the end of the last remembered
     * batch whose last seq is <= upto_seq goes: jump there.  The walk below then
     * stops at once when nothing more was read, or the next batch starts above
     * upto_seq; else it goes on from there. */
    int k = -1;
    for (int i = 0; i < c->nbat && c->bat[i].last_seq <= upto_seq; i++)
        if (c->bat[i].end_ord > ord)
            k = i;
    if (k >= 0) {
        const struct ds_ring_batch *b = &c->bat[k];
        pos = b->end_pos;
        ord = b->end_ord;
        released = b->last_seq;
        moved = true;
        if (ord == c->read_ord) {
            walk = false;
        } else if (k + 1 < c->nbat && c->bat[k + 1].start_ord == ord &&
                   c->bat[k + 1].first_seq > upto_seq) {
            pos = c->bat[k + 1].start_pos; /* past any marker before it, as the walk */
            walk = false;
        }
    }
    uint64_t phys = pos % r->cap;
    while (walk && ord < c->read_ord) {
        const struct ds_qf_rec *h = (const struct ds_qf_rec *)(const void *)(r->data + phys);
        uint64_t step = h->len == DS_QF_SKIP ? h->crc : ds_qf_rec_size(h->len);
        if (h->len != DS_QF_SKIP) {
            if (h->seq > upto_seq)
                break;
            ord++;
            released = h->seq;
            moved = true;
        }
        pos += step;
        phys += step;
        if (phys == r->cap)
            phys = 0;
    }
    if (moved) {
        c->rel_pos = pos;
        c->rel_ord = ord;
        c->released = released;
        prune_batches(c);
        ds__ring_store_slot(r, c);
        ds__ring_update_head(r);
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
    struct ds_ring_cursor *c = &r->cur[id];
    uint64_t pos = c->rel_pos, ord = c->rel_ord;
    while (ord < c->read_ord) {
        pos = ds__ring_norm(r, pos);
        const struct ds_qf_rec *h = ds__ring_hdr_at(r, pos);
        if (h->seq >= from_seq)
            break;
        pos += ds_qf_rec_size(h->len);
        ord++;
    }
    if (ord < c->read_ord) {
        c->read_pos = pos;
        c->read_ord = ord;
        c->last_read = ds__ring_seq_at(r, pos) - 1;
        prune_batches(c);
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
        const struct ds_ring_cursor *c = &r->cur[id];
        out->name = c->name;
        out->read_seq = c->last_read;
        out->released = c->released;
        out->skipped = c->skipped;
        out->lag = r->tail_ord - c->read_ord;
        out->connected = c->connected;
    }
    ds_mutex_unlock(&r->mu);
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
        int rc = ds__ring_file_open(r, o, err, errlen);
        if (rc != DS_OK) {
            ds_cond_destroy(&r->readers);
            ds_mutex_destroy(&r->mu);
            free(r->path);
            free(r);
            return rc;
        }
    } else {
        r->data = ds_xcalloc(1, (size_t)cap); /* zeros: readers may look past a record */
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
    if (ds__ring_is_file(r))
        ds__ring_file_close(r);
    else
        free(r->data);
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

