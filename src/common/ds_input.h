/*
 * ds_input.h - capture inputs: listeners that turn incoming frames into ring records.
 *
 * The PowerDNS protobuf input (`input pdns ADDRESS PORT ...`) runs one thread per
 * listener: a poll loop over the listening socket and up to max-connections sender
 * connections (pdns-recursor opens one per thread).  Frames are validated with the
 * protobuf scanner and appended to the ring in one batch per read.  A garbled frame
 * or an over-long length closes that one connection with a logged reason and a
 * counter; other connections are not affected.
 *
 * Ownership: struct ds_inputs owns its sockets, buffers and threads.  Threads: start,
 * stop and stats are called from the main thread only.
 */
#ifndef DS_INPUT_H
#define DS_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "ds_buf.h"
#include "ds_config.h"
#include "ds_ring.h"

struct ds_inputs;

/* Bind every configured input (all or nothing), then start their threads. */
int ds_inputs_start(const struct ds_config *cfg, struct ds_ring *ring, struct ds_inputs **out,
                    char *err, size_t errlen);

struct ds_input_totals {
    uint64_t frames;         /* frames accepted into the ring (or offered to it) */
    uint64_t bytes;          /* payload bytes of those frames */
    uint64_t lost;           /* eventsLost: events lost before the ring */
    uint64_t bad_frames;     /* garbled frames (each closed a connection) */
    uint64_t conns_accepted; /* connections accepted */
    uint64_t conns_refused;  /* refused: max-connections reached */
    uint64_t conns_open;     /* connections open now */
};
void ds_inputs_totals(struct ds_inputs *in, struct ds_input_totals *out);
/* Stop accepting, read what the senders already delivered to our sockets, append
 * it, close everything and join the threads.  The final totals go to *last (may be
 * NULL).  *in becomes NULL. */
void ds_inputs_stop(struct ds_inputs **in, struct ds_input_totals *last);
/* The bound address of input i as "addr:port" (resolves port 0). */
const char *ds_inputs_bound(struct ds_inputs *in, size_t i);

#endif
