/*
 * ds_syslog.h - syslog envelopes and stream framing for the forwarder.
 *
 * Purpose: the RFC 5424 header (with an SD element carrying the instance name and
 * the record's sequence number, so a collector can deduplicate after a resend and
 * see gaps), the legacy RFC 3164 header, and the framings a TCP/TLS collector
 * reads: octet counting (RFC 6587 3.4.1 / RFC 5425), newline (non-transparent, LF
 * trailer), and 16- or 32-bit big-endian length prefixes (PowerDNS style).
 *
 * The hot path (the forwarder) builds the constant parts of its header once
 * (ds_syslog_hdr_init: escaping, PROCID, SD element) and per message appends only the
 * time, the MSGID and the sequence number (ds_syslog_hdr_put); it frames in place:
 * ds_frame_begin reserves the prefix, the message is written straight into the output
 * buffer, and ds_frame_end fills the prefix in (or adds the LF trailer).
 *
 * Ownership: functions append to a caller-owned ds_buf.  A struct ds_syslog_hdr owns its
 * copies of the constant parts (ds_syslog_hdr_free) and a small time cache.
 * Threads: any thread, each with its own buffers; a ds_syslog_hdr is used by one thread
 * at a time (the cache is written while appending).
 */
#ifndef DS_SYSLOG_H
#define DS_SYSLOG_H

#include <stdbool.h>
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

/* The header of one sender, prepared once.  kind DS_SYSLOG_NONE appends nothing. */
struct ds_syslog_hdr {
    enum ds_syslog kind;
    struct ds_buf mid; /* 5424: " HOSTNAME APP-NAME PROCID "; 3164: " HOSTNAME TAG[PROCID]: " */
    struct ds_buf sd;  /* 5424: " [dnsstream@32473 instance=\"...\" seq=\"" */
    bool has_lf;       /* a constant part holds an LF (only an instance name can) */
    int64_t ts_sec;    /* 3164: the second ts holds, -1: none yet */
    size_t ts_len;
    char ts[32];       /* 3164: "<PRI>Mmm dd hh:mm:ss " of ts_sec (local time) */
};

void ds_syslog_hdr_init(struct ds_syslog_hdr *h, enum ds_syslog kind,
                        const struct ds_syslog_id *id);
void ds_syslog_hdr_free(struct ds_syslog_hdr *h);

/* Append the header of one message: exactly what ds_syslog_5424_header (msgid, time_us,
 * seq) or ds_syslog_3164_header (time_us) append for the same id. */
void ds_syslog_hdr_put(struct ds_syslog_hdr *h, struct ds_buf *b, const char *msgid,
                       uint64_t time_us, uint64_t seq);

/* Append one message with the framing around it.  Newline framing replaces any LF
 * inside the message by a space (the LF is the trailer).  DS_ERANGE (nothing appended)
 * when a 16-bit prefix cannot carry len; DS_EINVAL for DS_FRAMING_DEFAULT. */
int ds_frame_append(struct ds_buf *out, enum ds_framing framing, const void *msg, size_t len);

/* Framing in place, for a message written straight into out:
 *   size_t mark = ds_frame_begin(out, framing);   reserves room for a prefix
 *   ... append the message to out ...
 *   rc = ds_frame_end(out, framing, mark);
 * gives the same bytes as ds_frame_append of that message, except that newline framing
 * does not look for LFs in it (call ds_frame_lf_to_space on the parts that may hold one).
 * On error (DS_ERANGE, DS_EINVAL as ds_frame_append) out is back at mark. */
size_t ds_frame_begin(struct ds_buf *out, enum ds_framing framing);
int ds_frame_end(struct ds_buf *out, enum ds_framing framing, size_t mark);

/* Replace every LF in p[0..n) by a space (what newline framing does to a message). */
void ds_frame_lf_to_space(uint8_t *p, size_t n);

/* The framing used when a forwarder line does not name one: pdns: 16bit; syslog
 * over TCP/TLS: octet counting; plain JSON or BIND: newline. */
enum ds_framing ds_framing_default(enum ds_format format, enum ds_syslog syslog);

/* "octet-counting", "newline", "16bit", "32bit", "default". */
const char *ds_framing_name(enum ds_framing framing);

#endif
