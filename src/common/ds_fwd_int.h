/*
 * ds_fwd_int.h - internal to the forwarder manager: the state shared by the broadcast
 * path and start/stop (ds_fwd.c) and the group modes, failover / roundrobin /
 * sharded (ds_fwd_group.c).  See ds_fwd.c for the design and docs/delivery.md for
 * the guarantees.
 *
 * Ownership: struct ds_fwd owns its targets, items and threads.  Threads: a
 * fwd_target is driven by its own thread; the group-mode fields marked "under
 * f->glock" are shared by the dispatcher and the target threads under that lock.
 */
#ifndef DS_FWD_INT_H
#define DS_FWD_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ds_buf.h"
#include "ds_config.h"
#include "ds_plat.h"
#include "ds_rec.h"
#include "ds_ring.h"
#include "ds_syslog.h"
#include "ds_target.h"

#define READ_WAIT_MS 200
#define BATCH_MAX_BYTES (4u << 20)
#define STOP_BUDGET_MS 5000
#define INBOX_MAX 2
#define PEER_CLOSED_DRAIN_MS 1000
#define PEER_CLOSED_MAX_WAIT_MS 30000

enum tstate { TS_CONNECTING = 0, TS_CONNECTED, TS_BACKOFF, TS_STOPPED };

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

/* The encoding threads of one target (encode-threads=N: N - 1 helpers; see ds_fwd_enc.c).
 * gen and quit are under mu; recs and n are written by the target thread while no job is
 * running and read by a helper only after it claimed a chunk; ref[c] belongs to whoever
 * claimed chunk c until it is counted in done. */
struct enc_helper {
    struct fwd_target *ft;
    unsigned who;       /* 1 + its index */
    struct ds_buf out;  /* the chunks it encoded in the current job */
    struct ds_thread thread;
    bool started;
    struct ds_syslog_hdr hdr;
};

/* Where a chunk's bytes are: in the buffer of thread `who` (0: the target thread's out,
 * h + 1: helpers[h].out), len bytes at off. */
struct chunk_ref {
    unsigned who;
    size_t off, len;
};

struct enc_pool {
    struct ds_mutex mu;
    struct ds_cond job_cond;  /* a new job (gen changed), or quit */
    struct ds_cond done_cond; /* a helper finished a job's last chunk */
    uint32_t gen;
    bool quit;
    const struct ds_rec *recs;
    int n;
    _Atomic uint64_t claim;   /* gen << 32 | nchunks << 16 | next chunk */
    atomic_uint done;         /* chunks of the current job encoded */
    struct chunk_ref *ref;    /* maxchunks: where each chunk of the job was encoded */
    unsigned maxchunks;
    struct enc_helper *helpers;
    unsigned nhelpers;
};

struct fwd_target {
    struct ds_fwd *f;
    int index;
    struct ds_target t;
    enum ds_format format;
    enum ds_syslog syslog;
    enum ds_framing framing;
    enum ds_recovery recovery;
    uint64_t durable_hold; /* durable: acknowledged bytes kept besides the previous batch */
    struct ds_syslog_id sid;
    int cursor; /* broadcast */
    struct ds_thread thread;
    bool thread_started;

    struct ds_buf out;
    struct ds_syslog_hdr hdr;
    struct enc_pool *pool; /* NULL: this thread encodes alone, into out */
    unsigned nchunks;      /* the last batch went into pool->ref[0..nchunks) chunks, 0: out */
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

const char *ds__fwd_mode_name(enum ds_fwd_mode m);
bool ds__fwd_stopping(struct ds_fwd *f);
bool ds__fwd_past_deadline(struct ds_fwd *f);
unsigned ds__fwd_stop_remaining_ms(struct ds_fwd *f);
void ds__fwd_set_state(struct fwd_target *ft, enum tstate s);
/* ds_fwd_enc.c: encoding with threads - 1 helpers (none for pdns or threads <= 1) for
 * batches of at most `batch` records; a failed start leaves what was started for
 * ds__fwd_enc_stop. */
int ds__fwd_enc_start(struct fwd_target *ft, unsigned threads, unsigned batch);
void ds__fwd_enc_stop(struct fwd_target *ft);
void ds__fwd_encode_batch(struct fwd_target *ft, const struct ds_rec *recs, int n);
int ds__fwd_write_out(struct fwd_target *ft);
void ds__fwd_log_failure(struct fwd_target *ft, const char *what, int rc);
void ds__fwd_close_failed(struct fwd_target *ft, int rc);
void ds__fwd_settle_acks(struct fwd_target *ft, int rc);
bool ds__fwd_connect_target(struct fwd_target *ft);
void ds__fwd_backoff_after_failure(struct fwd_target *ft);
struct item *ds__fwd_list_pop(struct item_list *l);
void ds__fwd_item_free(struct item *it);
void ds__fwd_dispatcher_thread(void *arg);
void ds__fwd_group_target_thread(void *arg);

/* Durable: how many of the oldest written batches may go, given the wire offsets at
 * which each ended (end_off(i), i < n): all but the one before the first batch the peer
 * has not fully acknowledged, and of those only the ones that ended durable_hold bytes or
 * more before what the peer has acknowledged; without acknowledgement information, all
 * but the last. */
#define DURABLE_RELEASABLE(ft, n, end_off_of_i, out)                           \
    do {                                                                      \
        uint64_t acked_;                                                      \
        size_t j_ = 0, h_ = 0;                                                \
        if (ds_target_acked(&(ft)->t, &acked_) != DS_OK) {                    \
            j_ = (n);                                                         \
            h_ = (n);                                                         \
        } else {                                                              \
            for (size_t i = 0; i < (n) && (end_off_of_i) <= acked_; i++) {    \
                j_ = i + 1;                                                   \
                if ((end_off_of_i) + (ft)->durable_hold <= acked_)            \
                    h_ = i + 1;                                               \
            }                                                                 \
        }                                                                     \
        (out) = j_ > 0 ? (j_ - 1 < h_ ? j_ - 1 : h_) : 0;                     \
    } while (0)

#endif
