/*
 * ds_config.c - the dnsstream.conf loader.  See ds_config.h for the contract and
 * docs/configuration.md for every directive; ds_config_lex.c has the line reader
 * that sits between the text and inih.
 *
 * inih drives the parse: the reader hands it one "name=args" line per physical line
 * and inih calls handler() for it.  handler() looks the directive up in the table
 * below, splits the arguments into words (positional arguments first, then key=value
 * options) and fills struct ds_config.  The first error stops the parse; the caller
 * gets "FILE:LINE: directive: reason 'value'" and an empty configuration.
 */
#include "ds_config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_config_int.h"
#include "ds_config_lex.h"
#include "ds_err.h"
#include "ds_log.h"
#include "ds_plat.h"

#define QUEUE_SIZE_MIN 65536ull
#define QUEUE_SIZE_MAX (1ull << 40) /* 1 TiB */
#define CONFIG_FILE_MAX (1024 * 1024)
#define MAX_FRAME_16 65535u
#define MAX_FRAME_32 (64u * 1024 * 1024)
#define NAME_MAX_LEN 255

/* ---- input ---------------------------------------------------------------- */

static int d_input(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    static const char *const names[] = {"TYPE", "ADDRESS", "PORT"};
    static const char *const keys[] = {"framing", "max-connections", "max-frame", NULL};
    if (t->n == 0)
        return ds_cfg_err(c, "%s: missing TYPE (usage: %s)", d->name, d->usage);
    const char *kind = t->tok[0].text;
    if (strcmp(kind, "dnstap") == 0)
        return ds_cfg_err(c, "%s: type 'dnstap' is not yet supported", d->name);
    if (strcmp(kind, "pdns") != 0)
        return ds_cfg_err(c, "%s: unknown type '%s' (use pdns)", d->name, kind);
    int rc = ds_cfg_check_args(c, d, t, 1, 2, 2, names + 1, true, NULL);
    if (rc)
        return rc;

    struct ds_input_cfg in = {0};
    in.kind = DS_INPUT_PDNS;
    in.framing = DS_FRAMING_16BIT;
    in.max_connections = 64;
    in.line = c->rd.line;
    const char *addr = t->tok[1].text;
    uint64_t v, max_frame = 0;
    if (!ds_cfg_is_numeric_address(addr))
        return ds_cfg_err(c, "%s: bad ADDRESS '%s' (use a numeric IPv4 or IPv6 address)", d->name,
                    addr);
    if ((rc = ds_cfg_range(c, d, "PORT", t->tok[2].text, 0, 65535, &v)))
        return rc;
    in.port = (unsigned)v;

    struct optwalk w = {3, 0};
    int idx, more;
    const char *val, *frame_text = NULL;
    while ((more = ds_cfg_next_option(c, d, t, &w, keys, &idx, &val)) > 0) {
        int e;
        if (idx == 0) {
            if ((rc = ds_cfg_kw(c, d, "framing", val, ds_cfg_kw_in_framing, &e)))
                return rc;
            in.framing = (enum ds_framing)e;
        } else if (idx == 1) {
            if ((rc = ds_cfg_range(c, d, "max-connections", val, 1, 65535, &v)))
                return rc;
            in.max_connections = (unsigned)v;
        } else {
            if (ds_cfg_parse_size(val, &max_frame) != DS_OK || max_frame == 0)
                return ds_cfg_err(c, "%s: bad max-frame '%s' (use bytes, or a number with k or M)",
                            d->name, val);
            frame_text = val;
        }
    }
    if (more < 0)
        return more;
    uint64_t limit = in.framing == DS_FRAMING_16BIT ? MAX_FRAME_16 : MAX_FRAME_32;
    if (frame_text && max_frame > limit)
        return ds_cfg_err(c, "%s: max-frame '%s' is above %llu, the most framing=%s allows", d->name,
                    frame_text, (unsigned long long)limit, ds_cfg_kw_name(ds_cfg_kw_in_framing, in.framing));
    if (frame_text)
        in.max_frame = (uint32_t)max_frame;
    else
        in.max_frame = in.framing == DS_FRAMING_16BIT ? MAX_FRAME_16 : 1048576u;

    char *a = ds_cfg_strip_brackets(addr);
    struct ds_config *cfg = c->cfg;
    for (size_t i = 0; i < cfg->n_inputs; i++) {
        const struct ds_input_cfg *o = &cfg->inputs[i];
        if (in.port != 0 && o->port == in.port && strcmp(o->address, a) == 0) {
            free(a);
            return ds_cfg_err(c, "%s: %s port %u is already an input on line %d", d->name, addr,
                        in.port, o->line);
        }
    }
    in.address = a;
    cfg->inputs = ds_xrealloc(cfg->inputs, (cfg->n_inputs + 1) * sizeof(*cfg->inputs));
    cfg->inputs[cfg->n_inputs++] = in;
    return DS_OK;
}

/* ---- output --------------------------------------------------------------- */

static int d_output(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    static const char *const names[] = {"PATH"};
    static const char *const keys[] = {"format", NULL};
    if (t->n == 0)
        return ds_cfg_err(c, "%s: missing TYPE (usage: %s)", d->name, d->usage);
    const char *kind = t->tok[0].text;
    struct ds_output_cfg out = {0};
    out.format = DS_FMT_JSON;
    out.line = c->rd.line;
    int rc;
    if (strcmp(kind, "file") == 0) {
        out.kind = DS_OUTPUT_FILE;
        rc = ds_cfg_check_args(c, d, t, 1, 1, 1, names, true, NULL);
    } else if (strcmp(kind, "stdout") == 0) {
        out.kind = DS_OUTPUT_STDOUT;
        rc = ds_cfg_check_args(c, d, t, 1, 0, 0, names, true, NULL);
    } else {
        return ds_cfg_err(c, "%s: unknown type '%s' (use file or stdout)", d->name, kind);
    }
    if (rc)
        return rc;
    const char *path = out.kind == DS_OUTPUT_FILE ? t->tok[1].text : NULL;
    if (path && !path[0])
        return ds_cfg_err(c, "%s: empty PATH", d->name);

    struct optwalk w = {out.kind == DS_OUTPUT_FILE ? 2 : 1, 0};
    int idx, more, e;
    const char *val;
    while ((more = ds_cfg_next_option(c, d, t, &w, keys, &idx, &val)) > 0) {
        if ((rc = ds_cfg_kw(c, d, "format", val, ds_cfg_kw_format, &e)))
            return rc;
        out.format = (enum ds_format)e;
    }
    if (more < 0)
        return more;

    struct ds_config *cfg = c->cfg;
    for (size_t i = 0; i < cfg->n_outputs; i++) {
        const struct ds_output_cfg *o = &cfg->outputs[i];
        if (o->kind != out.kind)
            continue;
        if (!path)
            return ds_cfg_err(c, "%s: stdout is already an output on line %d", d->name, o->line);
        if (strcmp(o->path, path) == 0)
            return ds_cfg_err(c, "%s: file '%s' is already an output on line %d", d->name, path,
                        o->line);
    }
    out.path = path ? ds_xstrdup(path) : NULL;
    cfg->outputs = ds_xrealloc(cfg->outputs, (cfg->n_outputs + 1) * sizeof(*cfg->outputs));
    cfg->outputs[cfg->n_outputs++] = out;
    return DS_OK;
}

/* ---- forwarder -------------------------------------------------------------- */

static void forwarder_free(struct ds_forwarder_cfg *f)
{
    free(f->host);
    free(f->tls_ca_file);
    free(f->tls_client_cert);
    free(f->tls_client_key);
    free(f->tls_server_name);
    memset(f, 0, sizeof(*f));
}

#define DURABLE_HOLD_MAX (UINT64_C(1) << 30)
enum {
    FK_FORMAT, FK_SYSLOG, FK_FRAMING, FK_RECOVERY, FK_TLS, FK_TLS_CA, FK_TLS_CERT, FK_TLS_KEY,
    FK_TLS_NAME, FK_TLS_VERIFY, FK_CONNECT_TIMEOUT, FK_WRITE_TIMEOUT, FK_ENCODE_THREADS,
    FK_DURABLE_HOLD,
};
static const char *const fwd_keys[] = {
    "format",          "syslog",         "framing",        "recovery",
    "tls",             "tls-ca-file",    "tls-client-certificate",
    "tls-client-key",  "tls-server-name", "tls-verify",    "connect-timeout",
    "write-timeout",   "encode-threads", "durable-hold",  NULL};

static int forwarder_options(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t,
                             struct ds_forwarder_cfg *f)
{
    struct optwalk w = {3, 0};
    int idx, more, e, rc = DS_OK;
    const char *val;
    bool syslog_set = false;
    while ((more = ds_cfg_next_option(c, d, t, &w, fwd_keys, &idx, &val)) > 0) {
        switch (idx) {
        case FK_FORMAT:
            rc = ds_cfg_kw(c, d, "format", val, ds_cfg_kw_format, &e);
            f->format = (enum ds_format)e;
            break;
        case FK_SYSLOG:
            rc = ds_cfg_kw(c, d, "syslog", val, ds_cfg_kw_syslog, &e);
            f->syslog = (enum ds_syslog)e;
            syslog_set = true;
            break;
        case FK_FRAMING:
            rc = ds_cfg_kw(c, d, "framing", val, ds_cfg_kw_fwd_framing, &e);
            f->framing = (enum ds_framing)e;
            break;
        case FK_RECOVERY:
            rc = ds_cfg_kw(c, d, "recovery", val, ds_cfg_kw_recovery, &e);
            f->recovery = e;
            break;
        case FK_TLS:
            rc = ds_cfg_bool(c, d, "tls", val, &f->tls);
            break;
        case FK_TLS_CA:
            rc = ds_cfg_text(c, d, "tls-ca-file", val, &f->tls_ca_file);
            break;
        case FK_TLS_CERT:
            rc = ds_cfg_text(c, d, "tls-client-certificate", val, &f->tls_client_cert);
            break;
        case FK_TLS_KEY:
            rc = ds_cfg_text(c, d, "tls-client-key", val, &f->tls_client_key);
            break;
        case FK_TLS_NAME:
            rc = ds_cfg_text(c, d, "tls-server-name", val, &f->tls_server_name);
            if (!rc && !ds_cfg_valid_hostname(val) && !ds_cfg_is_numeric_address(val))
                rc = ds_cfg_err(c, "%s: bad tls-server-name '%s' (use a DNS name or an IP address)",
                          d->name, val);
            break;
        case FK_TLS_VERIFY:
            rc = ds_cfg_bool(c, d, "tls-verify", val, &f->tls_verify);
            break;
        case FK_CONNECT_TIMEOUT:
            rc = ds_cfg_duration(c, d, "connect-timeout", val, 1, &f->connect_timeout_ms);
            break;
        case FK_WRITE_TIMEOUT:
            rc = ds_cfg_duration(c, d, "write-timeout", val, 1, &f->write_timeout_ms);
            break;
        case FK_ENCODE_THREADS: {
            uint64_t v;
            rc = ds_cfg_range(c, d, "encode-threads", val, 1, DS_MAX_ENCODE_THREADS, &v);
            f->encode_threads = (unsigned)v;
            break;
        }
        case FK_DURABLE_HOLD: {
            int r = ds_cfg_parse_size(val, &f->durable_hold);
            if (r == DS_EINVAL)
                rc = ds_cfg_err(c, "%s: bad durable-hold '%s' (use bytes, or a number with k, M "
                                   "or G)", d->name, val);
            else if (r != DS_OK || f->durable_hold > DURABLE_HOLD_MAX)
                rc = ds_cfg_err(c, "%s: durable-hold '%s' is above the maximum 1G", d->name, val);
            break;
        }
        }
        if (rc)
            return rc;
    }
    if (more < 0)
        return more;

    /* TLS settings only mean something with tls=on. */
    for (int k = FK_TLS_CA; k <= FK_TLS_VERIFY; k++)
        if ((w.seen & (1u << k)) && !f->tls)
            return ds_cfg_err(c, "%s: %s needs tls=on", d->name, fwd_keys[k]);
    if (f->tls_client_key && !f->tls_client_cert)
        return ds_cfg_err(c, "%s: tls-client-key '%s' needs tls-client-certificate", d->name,
                    f->tls_client_key);
    if (f->tls_client_key && strcmp(f->tls_client_cert, "auto") == 0)
        return ds_cfg_err(c, "%s: tls-client-key '%s' cannot be used with tls-client-certificate=auto",
                    d->name, f->tls_client_key);

    /* Format, syslog envelope and framing must fit together. */
    if (f->format == DS_FMT_PDNS) {
        if (f->encode_threads > 1)
            return ds_cfg_err(c, "%s: encode-threads=%u needs format=json or format=bind "
                                 "(format=pdns copies the events unchanged)",
                              d->name, f->encode_threads);
        if (syslog_set && f->syslog != DS_SYSLOG_NONE)
            return ds_cfg_err(c, "%s: syslog=%s cannot carry format=pdns (binary; use syslog=none)",
                        d->name, ds_cfg_kw_name(ds_cfg_kw_syslog, f->syslog));
        f->syslog = DS_SYSLOG_NONE;
        if (f->framing == DS_FRAMING_DEFAULT)
            f->framing = DS_FRAMING_16BIT;
        if (f->framing != DS_FRAMING_16BIT && f->framing != DS_FRAMING_32BIT)
            return ds_cfg_err(c, "%s: framing=%s does not fit format=pdns (use 16bit or 32bit)",
                        d->name, ds_cfg_kw_name(ds_cfg_kw_fwd_framing, f->framing));
    } else {
        if (!syslog_set)
            f->syslog = DS_SYSLOG_RFC5424;
        if (f->framing == DS_FRAMING_DEFAULT)
            f->framing = f->syslog != DS_SYSLOG_NONE ? DS_FRAMING_OCTET : DS_FRAMING_NEWLINE;
        if (f->framing == DS_FRAMING_16BIT || f->framing == DS_FRAMING_32BIT)
            return ds_cfg_err(c, "%s: framing=%s does not fit format=%s (use newline or octet-counting)",
                        d->name, ds_cfg_kw_name(ds_cfg_kw_fwd_framing, f->framing),
                        ds_cfg_kw_name(ds_cfg_kw_format, f->format));
        if (f->framing == DS_FRAMING_OCTET && f->syslog == DS_SYSLOG_NONE)
            return ds_cfg_err(c, "%s: framing=octet-counting needs syslog=rfc5424 or syslog=rfc3164",
                        d->name);
    }
    return DS_OK;
}

static int d_forwarder(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    static const char *const names[] = {"ipv4|ipv6", "HOST", "PORT"};
    int rc = ds_cfg_check_args(c, d, t, 0, 3, 3, names, true, NULL);
    if (rc)
        return rc;
    struct ds_forwarder_cfg f = {0};
    const char *fam = t->tok[0].text, *host = t->tok[1].text;
    if (strcmp(fam, "ipv4") == 0)
        f.family = 4;
    else if (strcmp(fam, "ipv6") == 0)
        f.family = 6;
    else
        return ds_cfg_err(c, "%s: bad address family '%s' (use ipv4 or ipv6)", d->name, fam);

    if (strchr(host, ':')) {
        if (!ds_cfg_is_numeric_address(host))
            return ds_cfg_err(c, "%s: bad IPv6 address '%s'", d->name, host);
        if (f.family != 6)
            return ds_cfg_err(c, "%s: '%s' is an IPv6 address (use forwarder ipv6)", d->name, host);
    } else if (ds_cfg_all_digits_dots(host)) {
        if (!ds_cfg_is_numeric_address(host))
            return ds_cfg_err(c, "%s: bad IPv4 address '%s'", d->name, host);
        if (f.family != 4)
            return ds_cfg_err(c, "%s: '%s' is an IPv4 address (use forwarder ipv4)", d->name, host);
    } else if (!ds_cfg_valid_hostname(host)) {
        return ds_cfg_err(c, "%s: bad HOST '%s' (use a DNS name or an IP address)", d->name, host);
    }
    uint64_t port;
    if ((rc = ds_cfg_range(c, d, "PORT", t->tok[2].text, 1, 65535, &port)))
        return rc;
    f.port = (unsigned)port;
    f.format = DS_FMT_JSON;
    f.framing = DS_FRAMING_DEFAULT;
    f.recovery = -1;
    f.tls_verify = true;
    f.connect_timeout_ms = 5000;
    f.write_timeout_ms = 5000;
    f.encode_threads = 1;
    f.line = c->rd.line;
    f.host = ds_cfg_strip_brackets(host);

    struct ds_config *cfg = c->cfg;
    for (size_t i = 0; i < cfg->n_forwarders; i++) {
        const struct ds_forwarder_cfg *o = &cfg->forwarders[i];
        if (o->port == f.port && strcmp(o->host, f.host) == 0) {
            forwarder_free(&f);
            return ds_cfg_err(c, "%s: '%s' port %u is already a forwarder on line %d", d->name, host,
                        (unsigned)port, o->line);
        }
    }
    if ((rc = forwarder_options(c, d, t, &f))) {
        forwarder_free(&f);
        return rc;
    }
    cfg->forwarders =
        ds_xrealloc(cfg->forwarders, (cfg->n_forwarders + 1) * sizeof(*cfg->forwarders));
    cfg->forwarders[cfg->n_forwarders++] = f;
    return DS_OK;
}

/* ---- single-valued settings -------------------------------------------------- */

static int one_arg(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t,
                   const char *name)
{
    const char *names[] = {name};
    return ds_cfg_check_args(c, d, t, 0, 1, 1, names, false, NULL);
}

static int set_kw(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t,
                  const char *what, const struct kw *k, int *out)
{
    int rc = one_arg(c, d, t, what);
    return rc ? rc : ds_cfg_kw(c, d, what, t->tok[0].text, k, out);
}

static int d_forwarder_recovery(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int e, rc = set_kw(c, d, t, "mode", ds_cfg_kw_recovery, &e);
    if (!rc)
        c->cfg->forwarder_recovery = (enum ds_recovery)e;
    return rc;
}

static int d_forwarder_mode(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int e, rc = set_kw(c, d, t, "mode", ds_cfg_kw_mode, &e);
    if (!rc)
        c->cfg->forwarder_mode = (enum ds_fwd_mode)e;
    return rc;
}

static int d_forwarder_batch_size(struct ctx *c, const struct directive *d,
                                  struct ds_cfg_tokens *t)
{
    uint64_t v;
    int rc = one_arg(c, d, t, "N");
    if (!rc)
        rc = ds_cfg_range(c, d, "N", t->tok[0].text, 1, 65536, &v);
    if (!rc)
        c->cfg->forwarder_batch_size = (unsigned)v;
    return rc;
}

static int d_forwarder_backoff(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    static const char *const names[] = {"MIN", "MAX"};
    unsigned lo, hi;
    int rc = ds_cfg_check_args(c, d, t, 0, 2, 2, names, false, NULL);
    if (!rc)
        rc = ds_cfg_duration(c, d, "MIN", t->tok[0].text, 1, &lo);
    if (!rc)
        rc = ds_cfg_duration(c, d, "MAX", t->tok[1].text, 1, &hi);
    if (!rc && hi < lo)
        rc = ds_cfg_err(c, "%s: MAX '%s' is shorter than MIN '%s'", d->name, t->tok[1].text,
                  t->tok[0].text);
    if (!rc) {
        c->cfg->backoff_min_ms = lo;
        c->cfg->backoff_max_ms = hi;
    }
    return rc;
}

static int d_queue_size(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    uint64_t v = 0;
    int rc = one_arg(c, d, t, "BYTES");
    if (rc)
        return rc;
    const char *s = t->tok[0].text;
    rc = ds_cfg_parse_size(s, &v);
    if (rc == DS_EINVAL)
        return ds_cfg_err(c, "%s: bad size '%s' (use bytes, or a number with k, M or G)", d->name, s);
    if (rc == DS_ERANGE || v > QUEUE_SIZE_MAX)
        return ds_cfg_err(c, "%s: size '%s' is above the maximum %llu (1024G)", d->name, s,
                    (unsigned long long)QUEUE_SIZE_MAX);
    if (v < QUEUE_SIZE_MIN)
        return ds_cfg_err(c, "%s: size '%s' is below the minimum %llu", d->name, s,
                    (unsigned long long)QUEUE_SIZE_MIN);
    c->cfg->queue_size = v;
    return DS_OK;
}

static int d_queue_recovery(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int rc = one_arg(c, d, t, "on|off");
    return rc ? rc : ds_cfg_bool(c, d, "value", t->tok[0].text, &c->cfg->queue_recovery);
}

static int d_queue_filename(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int rc = one_arg(c, d, t, "NAME");
    return rc ? rc : ds_cfg_text(c, d, "NAME", t->tok[0].text, &c->cfg->queue_filename);
}

static int d_queue_sync(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int rc = one_arg(c, d, t, "DURATION");
    return rc ? rc
              : ds_cfg_duration(c, d, "DURATION", t->tok[0].text, 0, &c->cfg->queue_sync_ms);
}

static int d_queue_overflow(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int e, rc = set_kw(c, d, t, "policy", ds_cfg_kw_overflow, &e);
    if (!rc)
        c->cfg->queue_overflow = (enum ds_overflow)e;
    return rc;
}

static int d_metrics_interval(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int rc = one_arg(c, d, t, "DURATION");
    return rc ? rc
              : ds_cfg_duration(c, d, "DURATION", t->tok[0].text, 0,
                               &c->cfg->metrics_interval_ms);
}

static int d_log_level(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int rc = one_arg(c, d, t, "LEVEL");
    if (rc)
        return rc;
    int v = ds_log_level_parse(t->tok[0].text); /* also takes "warning" */
    if (v < 0)
        return ds_cfg_bad_kw(c, d, "level", t->tok[0].text, ds_cfg_kw_log_level);
    c->cfg->log_level = v;
    return DS_OK;
}

static int d_log_format(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int rc = one_arg(c, d, t, "FORMAT");
    if (rc)
        return rc;
    int v = ds_log_format_parse(t->tok[0].text);
    if (v < 0)
        return ds_cfg_bad_kw(c, d, "format", t->tok[0].text, ds_cfg_kw_log_format);
    c->cfg->log_format = v;
    return DS_OK;
}

static int d_instance_name(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int rc = one_arg(c, d, t, "NAME");
    if (rc)
        return rc;
    if (strlen(t->tok[0].text) > NAME_MAX_LEN)
        return ds_cfg_err(c, "%s: NAME '%s' is longer than %d characters", d->name, t->tok[0].text,
                    NAME_MAX_LEN);
    return ds_cfg_text(c, d, "NAME", t->tok[0].text, &c->cfg->instance_name);
}

static int d_state_directory(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t)
{
    int rc = one_arg(c, d, t, "PATH");
    return rc ? rc : ds_cfg_text(c, d, "PATH", t->tok[0].text, &c->cfg->state_dir);
}

static const struct directive directives[N_DIRECTIVES] = {
    {"input", "input pdns ADDRESS PORT [framing=16bit|32bit] [max-connections=N] [max-frame=BYTES]",
     true, d_input},
    {"output", "output file PATH [format=json|bind|pdns] | output stdout [format=json|bind|pdns]",
     true, d_output},
    {"forwarder", "forwarder ipv4|ipv6 HOST PORT [key=value ...]", true, d_forwarder},
    {"forwarder-recovery", "forwarder-recovery drop|best-effort|durable", false,
     d_forwarder_recovery},
    {"forwarder-mode", "forwarder-mode broadcast|failover|roundrobin|sharded", false,
     d_forwarder_mode},
    {"forwarder-batch-size", "forwarder-batch-size N", false, d_forwarder_batch_size},
    {"forwarder-backoff", "forwarder-backoff MIN MAX", false, d_forwarder_backoff},
    {"queue-size", "queue-size BYTES", false, d_queue_size},
    {"queue-recovery", "queue-recovery on|off", false, d_queue_recovery},
    {"queue-filename", "queue-filename NAME", false, d_queue_filename},
    {"queue-sync", "queue-sync DURATION", false, d_queue_sync},
    {"queue-overflow", "queue-overflow drop-newest|drop-oldest", false, d_queue_overflow},
    {"metrics-interval", "metrics-interval DURATION", false, d_metrics_interval},
    {"log-level", "log-level error|warn|info|debug", false, d_log_level},
    {"log-format", "log-format text|json", false, d_log_format},
    {"instance-name", "instance-name NAME", false, d_instance_name},
    {"state-directory", "state-directory PATH", false, d_state_directory},
};

/* ---- the inih handler and the loaders ----------------------------------------- */

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct ctx *c = user;
    struct ds_cfg_reader *r = &c->rd;
    (void)value;
    if (r->failed)
        return 0;
    /* The reader handed inih "dname=args"; anything else means the two disagree. */
    if (section[0] || !r->dname || strcmp(name, r->dname) != 0) {
        ds_cfg_fail(r, r->line, "cannot parse this line");
        return 0;
    }
    /* The arguments come from the reader's copy: it is what inih got, except that
     * inih would also cut a quoted " ;" as an inline comment when it is built with
     * INI_ALLOW_INLINE_COMMENTS.  The reader has already removed the real comments. */
    int idx = -1;
    for (int i = 0; i < N_DIRECTIVES; i++)
        if (strcmp(directives[i].name, name) == 0)
            idx = i;
    if (idx < 0) {
        ds_cfg_fail(r, r->line, "unknown directive '%s'", name);
        return 0;
    }
    const struct directive *d = &directives[idx];
    if (!d->multi && c->seen[idx]) {
        ds_cfg_err(c, "%s: '%s' repeats the setting on line %d (each setting may appear once)",
             d->name, r->args, c->seen[idx]);
        return 0;
    }
    c->seen[idx] = r->line;

    struct ds_cfg_tokens t;
    char why[512];
    if (ds_cfg_tokenize(r->args, &t, why, sizeof(why)) != DS_OK) {
        ds_cfg_err(c, "%s: %s", d->name, why);
        return 0;
    }
    int rc = d->fn(c, d, &t);
    ds_cfg_tokens_free(&t);
    return rc == DS_OK;
}

static void set_defaults(struct ds_config *cfg, const char *name)
{
    char host[256];
    if (ds_hostname(host, sizeof(host)) != DS_OK || !host[0])
        snprintf(host, sizeof(host), "localhost");
    cfg->source = ds_xstrdup(name);
    cfg->instance_name = ds_xstrdup(host);
    cfg->state_dir = ds_xstrdup(ds_default_state_dir());
    cfg->queue_size = 104857600;
    cfg->queue_recovery = false;
    cfg->queue_filename = ds_xstrdup("dnsstream.queue");
    cfg->queue_sync_ms = 1000;
    cfg->queue_overflow = DS_OVERFLOW_DROP_NEWEST;
    cfg->forwarder_recovery = DS_RECOVERY_DURABLE;
    cfg->forwarder_mode = DS_FWD_BROADCAST;
    cfg->forwarder_batch_size = 512;
    cfg->backoff_min_ms = 200;
    cfg->backoff_max_ms = 30000;
    cfg->metrics_interval_ms = 60000;
    cfg->log_level = DS_LOG_INFO;
    cfg->log_format = DS_LOG_TEXT;
}

static int load(const char *name, const char *text, size_t len, struct ds_config *cfg, char *err,
                size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    set_defaults(cfg, name);
    struct ctx c;
    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    ds_cfg_reader_init(&c.rd, name, text, len, err, errlen);

    int rc = ini_parse_stream(ds_cfg_reader_read, &c.rd, handler, &c);
    if (!c.rd.failed && rc == -2)
        ds_cfg_fail(&c.rd, 0, "out of memory");
    else if (!c.rd.failed && rc != 0)
        ds_cfg_fail(&c.rd, rc > 0 ? rc : 0, "cannot parse this line");
    if (!c.rd.failed && cfg->n_inputs == 0)
        ds_cfg_fail(&c.rd, 0, "no input (add a line 'input pdns ADDRESS PORT')");
    if (!c.rd.failed && cfg->n_outputs == 0 && cfg->n_forwarders == 0)
        ds_cfg_fail(&c.rd, 0, "no destination (add an 'output' or a 'forwarder' line)");
    /* A forwarder's recovery is known only now: its own recovery= or forwarder-recovery,
     * which may come later in the file. */
    for (size_t i = 0; !c.rd.failed && i < cfg->n_forwarders; i++) {
        const struct ds_forwarder_cfg *f = &cfg->forwarders[i];
        int rec = f->recovery >= 0 ? f->recovery : (int)cfg->forwarder_recovery;
        if (f->durable_hold && rec != DS_RECOVERY_DURABLE)
            ds_cfg_fail(&c.rd, f->line, "forwarder: durable-hold needs durable recovery (its "
                                        "recovery= or forwarder-recovery)");
    }

    bool failed = c.rd.failed;
    ds_cfg_reader_free(&c.rd);
    if (failed) {
        ds_config_free(cfg);
        return DS_EINVAL;
    }
    return DS_OK;
}

int ds_config_load_string(const char *name, const char *text, struct ds_config *cfg, char *err,
                          size_t errlen)
{
    return load(name, text, strlen(text), cfg, err, errlen);
}

int ds_config_load_file(const char *path, struct ds_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    if (err && errlen)
        err[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? DS_ENOTFOUND : e == EACCES ? DS_EPERM : DS_EIO;
    }
    struct ds_buf b = {0};
    char chunk[4096];
    size_t n;
    int rc = DS_OK;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > CONFIG_FILE_MAX) {
            if (err && errlen)
                snprintf(err, errlen, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
            rc = DS_ERANGE;
            break;
        }
        ds_buf_append(&b, chunk, n);
    }
    if (rc == DS_OK && ferror(f)) {
        if (err && errlen)
            snprintf(err, errlen, "%s: read error", path);
        rc = DS_EIO;
    }
    fclose(f);
    if (rc == DS_OK)
        rc = load(path, b.data ? (const char *)b.data : "", b.len, cfg, err, errlen);
    ds_buf_free(&b);
    return rc;
}

void ds_config_free(struct ds_config *cfg)
{
    free(cfg->source);
    free(cfg->instance_name);
    free(cfg->state_dir);
    for (size_t i = 0; i < cfg->n_inputs; i++)
        free(cfg->inputs[i].address);
    free(cfg->inputs);
    for (size_t i = 0; i < cfg->n_outputs; i++)
        free(cfg->outputs[i].path);
    free(cfg->outputs);
    for (size_t i = 0; i < cfg->n_forwarders; i++)
        forwarder_free(&cfg->forwarders[i]);
    free(cfg->forwarders);
    free(cfg->queue_filename);
    memset(cfg, 0, sizeof(*cfg));
}
