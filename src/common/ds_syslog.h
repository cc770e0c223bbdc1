/*
 * ds_syslog.h - syslog envelopes and stream framing for the forwarder.
 *
 * Purpose: the RFC 5424 header (with an SD element carrying the instance name and
 * the record's sequence number, so a collector can deduplicate after a resend and
 * see gaps), the legacy RFC 3164 header, and the framings a TCP/TLS collector
 * reads: octet counting (RFC 6587 3.4.1 / RFC 5425), newline (non-transparent, LF
 * trailer), and 16- or 32-bit big-endian length prefixes (PowerDNS style).
 *
 * Ownership: functions append to a caller-owned ds_buf and keep no state.
 * Threads: any thread, each with its own buffers.
 */
#ifndef DS_SYSLOG_H
#define DS_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "ds_buf.h"
#include "ds_config.h"

/* The private SD-ID (32473 is the documentation enterprise number of RFC 5612). */
#define DS_SYSLOG_SD_ID "dnsstream@32473"
/* PRI of every message: facility local0 (16), severity informational (6). */
#define DS_SYSLOG_PRI 134

/* Who is speaking: the fixed parts of every header of one forwarder. */
struct ds_syslog_id {
    const char *hostname; /* HOSTNAME; NULL or "" gives the NILVALUE */
    const char *app_name; /* APP-NAME / TAG, e.g. "dnsstream" */
    int procid;           /* PROCID; < 0 gives the NILVALUE */
    const char *instance; /* instance-name, carried in the SD element */
};

/* Append "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] " (RFC 5424, with the
 * trailing space before MSG).  time_us is the event time (UTC, microseconds). */
void ds_syslog_5424_header(struct ds_buf *b, const struct ds_syslog_id *id, const char *msgid,
                           uint64_t time_us, uint64_t seq);

/* Append "<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PROCID]: " (RFC 3164, local time). */
void ds_syslog_3164_header(struct ds_buf *b, const struct ds_syslog_id *id, uint64_t time_us);

/* Append one message with the framing around it.  Newline framing replaces any LF
 * inside the message by a space (the LF is the trailer).  DS_ERANGE (nothing appended)
 * when a 16-bit prefix cannot carry len; DS_EINVAL for DS_FRAMING_DEFAULT. */
int ds_frame_append(struct ds_buf *out, enum ds_framing framing, const void *msg, size_t len);

/* The framing used when a forwarder line does not name one: pdns: 16bit; syslog
 * over TCP/TLS: octet counting; plain JSON or BIND: newline. */
enum ds_framing ds_framing_default(enum ds_format format, enum ds_syslog syslog);

/* "octet-counting", "newline", "16bit", "32bit", "default". */
const char *ds_framing_name(enum ds_framing framing);

#endif
