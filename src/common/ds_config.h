/*
 * ds_config.h - dnsstream.conf: the parsed configuration and its loader.
 *
 * The file is read with Debian's inih through a line reader of our own: it counts
 * lines, turns a DnsStream directive line "name args..." into "name = args..." so
 * that ':' and '=' inside arguments are never separators, and refuses lines longer
 * than inih's limit instead of letting inih split them.  Every error names file,
 * line and reason.
 *
 * Ownership: struct ds_config owns all its strings and arrays; ds_config_free
 * releases them.  Threads: load on the main thread; the result is read-only after.
 */
#ifndef DS_CONFIG_H
#define DS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_ring.h"

enum ds_format { DS_FMT_JSON = 0, DS_FMT_BIND = 1, DS_FMT_PDNS = 2 };
enum ds_framing {
    DS_FRAMING_DEFAULT = 0, /* chosen from format and syslog, see docs/configuration.md */
    DS_FRAMING_16BIT,
    DS_FRAMING_32BIT,
    DS_FRAMING_NEWLINE,
    DS_FRAMING_OCTET,
};
enum ds_syslog { DS_SYSLOG_NONE = 0, DS_SYSLOG_RFC5424, DS_SYSLOG_RFC3164 };
enum ds_recovery { DS_RECOVERY_DROP = 0, DS_RECOVERY_BEST_EFFORT, DS_RECOVERY_DURABLE };
enum ds_fwd_mode { DS_FWD_BROADCAST = 0, DS_FWD_FAILOVER, DS_FWD_ROUNDROBIN, DS_FWD_SHARDED };
enum ds_input_kind { DS_INPUT_PDNS = 0, DS_INPUT_DNSTAP = 1 };
enum ds_output_kind { DS_OUTPUT_FILE = 0, DS_OUTPUT_STDOUT = 1 };

struct ds_input_cfg {
    enum ds_input_kind kind;
    char *address;           /* numeric IPv4 or IPv6 literal */
    unsigned port;
    enum ds_framing framing; /* DS_FRAMING_16BIT (default) or DS_FRAMING_32BIT */
    unsigned max_connections;/* default 64 */
    uint32_t max_frame;      /* default 65535 for 16bit, 1048576 for 32bit */
    int line;
};

struct ds_output_cfg {
    enum ds_output_kind kind;
    char *path; /* DS_OUTPUT_FILE only; relative paths are under state-directory */
    enum ds_format format;
    int line;
};

/* The most encode-threads= one forwarder may have. */
#define DS_MAX_ENCODE_THREADS 16

struct ds_forwarder_cfg {
    int family; /* 4 or 6 */
    char *host; /* IPv4/IPv6 literal or DNS name */
    unsigned port;
    enum ds_format format;     /* default json */
    enum ds_syslog syslog;     /* default rfc5424 for json/bind, none for pdns */
    enum ds_framing framing;   /* resolved default: pdns 16bit, syslog octet, plain newline */
    int recovery;              /* enum ds_recovery, or -1: the global forwarder-recovery */
    bool tls;
    char *tls_ca_file;         /* NULL: system default CA store */
    char *tls_client_cert;     /* NULL: none; "auto": see docs/configuration.md */
    char *tls_client_key;
    char *tls_server_name;     /* NULL: host */
    bool tls_verify;           /* default true */
    unsigned connect_timeout_ms; /* default 5000 */
    unsigned write_timeout_ms;   /* default 5000 */
    unsigned encode_threads;     /* threads that encode this target's batches, default 1 */
    uint64_t durable_hold;       /* durable: acknowledged bytes still kept for a resend, 0 */
    int line;
};

struct ds_config {
    char *source;           /* file name, or "<embedded>" */
    char *instance_name;    /* default: the host name */
    char *state_dir;        /* default: ds_default_state_dir() */

    struct ds_input_cfg *inputs;
    size_t n_inputs;
    struct ds_output_cfg *outputs;
    size_t n_outputs;
    struct ds_forwarder_cfg *forwarders;
    size_t n_forwarders;

    uint64_t queue_size;        /* default 104857600 */
    bool queue_recovery;        /* default off */
    char *queue_filename;       /* default "dnsstream.queue", relative to state_dir */
    unsigned queue_sync_ms;     /* default 1000; 0 = leave it to the OS */
    enum ds_overflow queue_overflow; /* default drop-newest */

    enum ds_recovery forwarder_recovery; /* default durable */
    enum ds_fwd_mode forwarder_mode;     /* default broadcast */
    unsigned forwarder_batch_size;       /* events per batch, default 512 */
    unsigned backoff_min_ms;             /* default 200 */
    unsigned backoff_max_ms;             /* default 30000 */

    unsigned metrics_interval_ms; /* default 60000; 0 disables the metrics event */
    int log_level;                /* enum ds_log_level, default info */
    int log_format;               /* enum ds_log_format, default text */
};

/* Load a file.  On error returns a negative code and writes
 * "FILE:LINE: reason" (or "FILE: reason") into err; *cfg is left empty. */
int ds_config_load_file(const char *path, struct ds_config *cfg, char *err, size_t errlen);
/* Load from text (the embedded default, tests); name is used in messages. */
int ds_config_load_string(const char *name, const char *text, struct ds_config *cfg, char *err,
                          size_t errlen);
void ds_config_free(struct ds_config *cfg);

/* The default configuration compiled into the binary (conf/dnsstream.conf). */
extern const char ds_default_config[];

#endif
