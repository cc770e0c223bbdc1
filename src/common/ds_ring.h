/*
 * ds_ring.h - the bounded event ring: one byte ring, one cursor per destination,
 * optionally backed by a memory-mapped, checksummed queue file.
 *
 * Ownership: the ring owns every record's bytes.  A struct ds_rec returned by
 * ds_ring_read stays valid until its cursor releases it (ds_ring_release) or the
 * ring is closed.
 *
 * Threads: ds_ring_append may be called from any number of producer threads (one
 * lock per batch).  Each cursor is driven by exactly one consumer thread
 * (ds_ring_read/release/rewind/set_connected for that id).  ds_ring_stats and
 * ds_ring_shutdown may be called from any thread.  ds_ring_open/cursor_open/close
 * are for the main thread (cursors are opened before consumers start).
 *
 * Sequence numbers: the ring numbers records 1, 2, 3... at append; the numbering
 * survives a restart when a queue file is used.
 */
#ifndef DS_RING_H
#define DS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_rec.h"

enum ds_overflow { DS_OVERFLOW_DROP_NEWEST = 0, DS_OVERFLOW_DROP_OLDEST = 1 };

struct ds_ring_options {
    uint64_t size;             /* capacity in bytes (queue-size) */
    enum ds_overflow overflow; /* queue-overflow */
    const char *file;          /* NULL: memory only; else the queue file (queue-recovery on) */
    unsigned sync_interval_ms; /* queue-sync: 0 leaves write-back to the OS */
};

struct ds_ring;

/* Open (and with a file, salvage) the ring.  err receives a reason on failure. */
int ds_ring_open(const struct ds_ring_options *o, struct ds_ring **out, char *err, size_t errlen);
/* After ds_ring_shutdown, readers drain what is left and then get DS_ECLOSED. */
void ds_ring_shutdown(struct ds_ring *r);
/* Close: with a file, persist the state so that undelivered records come back at
 * the next open; a file with nothing left to deliver is reset.  *r becomes NULL. */
void ds_ring_close(struct ds_ring **r);

/* A cursor per destination, named stably ("file:/var/log/x.jsonl",
 * "forwarder:siem:514") so a restart resumes each destination where it stopped.
 * Returns the cursor id (>= 0) or a negative error (DS_EINVAL: the name is open
 * already; DS_ENOSPC: 64 cursors).  With a queue file, the destinations of the last run
 * are "dormant" cursors from ds_ring_open on: opening one resumes it; until then it
 * keeps its records like a disconnected destination (given up first on overflow), and
 * at close a destination that was not opened is forgotten.  A new name starts at the
 * oldest record held. */
int ds_ring_cursor_open(struct ds_ring *r, const char *name);
/* Disconnected cursors are the first whose records are released on overflow. */
void ds_ring_cursor_set_connected(struct ds_ring *r, int id, bool connected);

/* Append n records as one batch.  Returns how many were accepted (in order, from the
 * front); the rest are dropped and counted in eventsDropped. */
size_t ds_ring_append(struct ds_ring *r, const struct ds_rec_in *in, size_t n);

/* Read up to max records (and about max_bytes of payload; at least one record)
 * after the cursor's read position, waiting up to timeout_ms (-1: forever) for the
 * first.  Advances the read position.  Returns the count, 0 on timeout, DS_ECLOSED
 * once the ring is shut down and this cursor has read everything. */
int ds_ring_read(struct ds_ring *r, int id, struct ds_rec *out, int max, size_t max_bytes,
                 int timeout_ms);
/* This cursor is done with every record up to and including seq. */
void ds_ring_release(struct ds_ring *r, int id, uint64_t upto_seq);
/* Move the read position back to the oldest unreleased record with seq >= from_seq
 * (a recovery rewind).  Records already released cannot come back. */
void ds_ring_rewind(struct ds_ring *r, int id, uint64_t from_seq);

struct ds_ring_stats {
    uint64_t capacity;          /* bytes */
    uint64_t bytes_used;        /* bytes held for some cursor */
    uint64_t records;           /* records held */
    uint64_t received;          /* eventsReceived: records accepted by append */
    uint64_t dropped;           /* eventsDropped: refused or discarded on overflow */
    uint64_t next_seq;          /* the seq the next record will get */
    uint64_t salvaged;          /* records recovered from the queue file at open */
    uint64_t set_aside_bytes;   /* damaged bytes found in the queue file at open */
    const char *set_aside_file; /* where they were copied (NULL: nowhere); valid until close */
};
struct ds_cursor_stats {
    const char *name;
    uint64_t read_seq;    /* last seq handed to the consumer */
    uint64_t released;    /* last seq released */
    uint64_t skipped;     /* records released for this cursor by overflow */
    uint64_t lag;         /* records not yet read */
    bool connected;
};
void ds_ring_stats(struct ds_ring *r, struct ds_ring_stats *out);
/* Ids 0..count-1 are valid for ds_ring_cursor_stats; dormant cursors count too (they
 * show as disconnected). */
int ds_ring_cursor_count(struct ds_ring *r);
void ds_ring_cursor_stats(struct ds_ring *r, int id, struct ds_cursor_stats *out);

/* Run the salvage scan of ds_ring_open on a queue file without changing it, and report
 * what an open would find: capacity, records and their bytes, next_seq, salvaged
 * (= records) and set_aside_bytes (damage).  received/dropped are 0.  DS_ENOTFOUND
 * when the file does not exist; err names a problem (e.g. no valid superblock) even
 * when DS_OK is returned.  Any thread; do not inspect a file a running ring writes
 * unless a momentary view is enough. */
int ds_ring_inspect(const char *path, struct ds_ring_stats *out, char *err, size_t errlen);

#endif
