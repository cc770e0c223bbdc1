/*
 * ds_enc.h - encoders: turn a canonical record into the bytes a destination wants.
 *
 * JSON (one object per event, every PowerDNS field in readable form, schema in
 * docs/json-schema.md), BIND 9 query-log lines, and the original PowerDNS protobuf
 * with its length prefix.  Encoders append to a caller-owned ds_buf and never
 * allocate per event beyond growing that buffer; they hold no state, so any thread
 * may call them with its own buffer.
 */
#ifndef DS_ENC_H
#define DS_ENC_H

#include "ds_buf.h"
#include "ds_rec.h"

struct ds_enc_ctx {
    const char *instance; /* instance-name, carried in every JSON event */
    const char *hostname;
};

/* One JSON object, no trailing newline.  Metrics records become
 * {"type":"metrics",...}.  DS_EPROTO if the protobuf is malformed (nothing is
 * appended in that case). */
int ds_enc_json(struct ds_buf *out, const struct ds_rec *rec, const struct ds_enc_ctx *ctx);

/* One BIND 9.18 query-log line, no trailing newline (see docs/formats.md).
 * DS_ENOTSUP (nothing appended) for records that have no query-log form:
 * responses and metrics. */
int ds_enc_bind(struct ds_buf *out, const struct ds_rec *rec, const struct ds_enc_ctx *ctx);

/* The protobuf bytes with a 2-byte (bits=16) or 4-byte (bits=32) big-endian length
 * prefix.  DS_ENOTSUP for metrics records, DS_ERANGE if the message does not fit. */
int ds_enc_pdns(struct ds_buf *out, const struct ds_rec *rec, int bits);

/* Append s as a quoted JSON string (escaped; invalid UTF-8 becomes U+FFFD), as the
 * JSON encoder writes every string.  Used by the log and the metrics event too. */
void ds_enc_json_string(struct ds_buf *out, const char *s);

#endif
