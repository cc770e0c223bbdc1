/*
 * ds_output.h - local outputs: `output file PATH format=...` and `output stdout`.
 *
 * Each output is a ring destination with its own cursor and thread: it reads batches,
 * encodes them (JSON lines, BIND query-log lines, or length-prefixed PowerDNS
 * protobuf), writes each batch with one buffered write and a flush, and then
 * releases the batch.  A reload (SIGHUP) reopens files, for log rotation.
 *
 * Ownership: struct ds_outputs owns its files, buffers and threads.  Threads: the
 * functions below are for the main thread.
 */
#ifndef DS_OUTPUT_H
#define DS_OUTPUT_H

#include "ds_buf.h"
#include "ds_config.h"
#include "ds_enc.h"
#include "ds_ring.h"

struct ds_outputs;

/* Open every output's file and cursor and start its thread. */
int ds_outputs_start(const struct ds_config *cfg, struct ds_ring *ring,
                     const struct ds_enc_ctx *ctx, struct ds_outputs **out, char *err,
                     size_t errlen);
/* Ask every output to reopen its file at its next batch. */
void ds_outputs_reopen(struct ds_outputs *o);
/* Called after ds_ring_shutdown: each output writes what is left, flushes, closes. */
void ds_outputs_stop(struct ds_outputs **o);
/* Append `[{"name":..,"written":..,"skipped":..,"failed":..}, ...]` for metrics. */
void ds_outputs_stats_json(struct ds_outputs *o, struct ds_buf *out);

#endif
