/*
 * ds_ring_int.h - internals shared by ds_ring.c (the ring, its cursors and overflow)
 * and ds_ring_file.c (the queue file: open and salvage, queue-sync, close, inspect).
 * Nothing else includes it; the API is ds_ring.h.
 *
 * Ownership and threads: struct ds_ring and everything in it is guarded by r->mu
 * (the sync thread's own fields by r->sync_mu); every ds__ring_* function below is
 * called with r->mu held, or before other threads can see the ring (open, close).
 * One exception: ds_ring_read may walk the record headers between its cursor's read
 * position and a snapshot of the tail without the lock when nothing can reclaim them
 * (see ds_ring.c), then publishes the new read position under the lock.
 */
#ifndef DS_RING_INT_H
#define DS_RING_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ds_plat.h"
#include "ds_qfile.h"
#include "ds_ring.h"

#define DS_RING_COMP "queue"
#define DS_RING_MAX_CURSORS DS_QF_MAX_SLOTS
#define DS_RING_BATCHES 4 /* read batches a cursor remembers (durable holds two) */

/* A batch ds_ring_read handed out: where its records start and end, so that a release
 * up to its last seq sets the release position without walking the headers. */
struct ds_ring_batch {
    uint64_t first_seq, last_seq;
    uint64_t start_pos, start_ord; /* its first record */
    uint64_t end_pos, end_ord;     /* just after its last record */
};

struct ds_ring_cursor {
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
    /* Batches read and not wholly released, oldest first (end_ord > rel_ord, <=
     * read_ord); a hint only: a release that matches none walks the headers. */
    struct ds_ring_batch bat[DS_RING_BATCHES];
    int nbat;
};

/* A cursor slot found in the queue file at open. */
struct ds_ring_pslot {
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

    struct ds_ring_cursor cur[DS_RING_MAX_CURSORS];
    int ncur;

    /* queue file */
    char *path;
    struct ds_mmap map;
    struct ds_qf_super sb;
    struct ds_ring_pslot pslots[DS_RING_MAX_CURSORS];

    /* queue-sync */
    unsigned sync_ms;
    bool sync_started, sync_stop;
    struct ds_thread sync_thr;
    struct ds_mutex sync_mu;
    struct ds_cond sync_cv;
};

/* ---- record access (every position below the tail is a record or a marker) ---- */

static inline struct ds_qf_rec *ds__ring_hdr_at(const struct ds_ring *r, uint64_t pos)
{
    return (struct ds_qf_rec *)(void *)(r->data + pos % r->cap);
}

/* Skip markers in front of pos (never past the tail). */
static inline uint64_t ds__ring_norm(const struct ds_ring *r, uint64_t pos)
{
    while (pos < r->tail_pos) {
        const struct ds_qf_rec *h = ds__ring_hdr_at(r, pos);
        if (h->len != DS_QF_SKIP)
            break;
        pos += h->crc;
    }
    return pos;
}

static inline bool ds__ring_is_file(const struct ds_ring *r)
{
    return r->path != NULL;
}

static inline uint64_t ds__ring_seq_at(const struct ds_ring *r, uint64_t pos)
{
    pos = ds__ring_norm(r, pos);
    return pos < r->tail_pos ? ds__ring_hdr_at(r, pos)->seq : r->next_seq;
}

static inline void ds__ring_write_marker(struct ds_ring *r, uint64_t pos, uint64_t len)
{
    _Static_assert(offsetof(struct ds_qf_rec, crc) == 0 && offsetof(struct ds_qf_rec, len) == 4,
                   "marker layout: bytes to skip, then DS_QF_SKIP");
    uint32_t w[2] = {(uint32_t)len, DS_QF_SKIP};
    memcpy(r->data + pos % r->cap, w, sizeof(w));
}

/* ---- ds_ring.c ---- */
/* Store the ring's state into the file's superblock / cursor c's slot (no-op in memory). */
void ds__ring_store_super(struct ds_ring *r, uint32_t flags);
void ds__ring_store_slot(struct ds_ring *r, struct ds_ring_cursor *c);
/* Move the head to the slowest cursor's release position. */
void ds__ring_update_head(struct ds_ring *r);
/* Append up to n records (with a queue file, each gets its checksum); returns how many
 * were accepted (the overflow rules apply). */
size_t ds__ring_append_locked(struct ds_ring *r, const struct ds_rec_in *in, size_t n);
/* Turn the slots loaded from the file (pslots state 1) into dormant cursors. */
void ds__ring_make_dormant_cursors(struct ds_ring *r);
/* Forget a dormant cursor: slot cleared, it holds nothing. */
void ds__ring_dormant_drop(struct ds_ring *r, struct ds_ring_cursor *d);

/* ---- ds_ring_file.c ---- */
/* Open (create, or salvage) r->path, make the dormant cursors, start queue-sync. */
int ds__ring_file_open(struct ds_ring *r, const struct ds_ring_options *o, char *err,
                       size_t errlen);
/* Stop queue-sync, persist (or reset a spent file), unmap. */
void ds__ring_file_close(struct ds_ring *r);

#endif
