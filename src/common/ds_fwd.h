/*
 * ds_fwd.h - the forwarder manager: delivers ring records to the `forwarder` targets
 * (TCP or TLS) with the configured mode (forwarder-mode) and recovery rule
 * (forwarder-recovery).
 *
 * Purpose: one delivery thread per forwarder line.  In broadcast mode (the default)
 * each target reads the ring through its own cursor ("forwarder:HOST:PORT"), so a
 * dead target never delays the others and catches up from its cursor when it comes
 * back.  In failover, roundrobin and sharded modes one dispatcher thread reads the
 * ring through a single cursor ("forwarder-group:MODE") and hands batches to the
 * healthy targets; the batches of a failed target go back to the dispatcher and are
 * delivered by another one.  Guarantees of each mode are in docs/delivery.md.
 *
 * Ownership: ds_fwd_start copies what it needs from cfg and ctx (they may be freed
 * after ds_fwd_stop); the ring must outlive the manager.  *out is owned by the
 * caller and released by ds_fwd_stop.
 *
 * Threads: ds_fwd_start and ds_fwd_stop are for the main thread; ds_fwd_stats_json
 * may be called from any thread while the manager runs.
 */
#ifndef DS_FWD_H
#define DS_FWD_H

#include "ds_buf.h"
#include "ds_config.h"
#include "ds_enc.h"
#include "ds_ring.h"

struct ds_fwd;

/* Start one delivery thread per forwarder line (cfg->forwarders), each with its own ring
 * cursor named "forwarder:HOST:PORT"; returns DS_OK with nothing started (*out NULL) when
 * there are no forwarders.  Fails (nothing started) when a TLS context cannot be built
 * (unreadable CA, certificate or key). */
int ds_fwd_start(const struct ds_config *cfg, struct ds_ring *ring, const struct ds_enc_ctx *ctx,
                 struct ds_fwd **out);

/* Stop: called after inputs stopped and ds_ring_shutdown(); connected targets drain what
 * they can within a bounded time (5 s in total), close TLS with close_notify, then the
 * threads exit.  *f becomes NULL; NULL is accepted. */
void ds_fwd_stop(struct ds_fwd **f);

/* Append one JSON object with the mode and per-target counters (forwarded, connects,
 * failures, resent, skipped, state, current address) for the metrics event.  Appends
 * {"mode":"none","targets":[]} for a NULL manager. */
void ds_fwd_stats_json(struct ds_fwd *f, struct ds_buf *out);

#endif
