/*
 * ds_app.c - the application: command line, configuration, start-up order, the main
 * loop (signals, metrics event) and the orderly stop.  See ds_app.h.
 *
 * Start: ring (salvaging a queue file) -> outputs and forwarders (their cursors) ->
 * inputs (listening sockets).  Nothing listens unless everything before it started.
 * Stop: inputs (reading what senders already delivered) -> final metrics event ->
 * ring shutdown -> outputs drain and flush -> forwarders drain (bounded) -> ring close
 * (persisting what is left when queue-recovery is on).
 */
#include "ds_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_config.h"
#include "ds_enc.h"
#include "ds_fwd.h"
#include "ds_input.h"
#include "ds_log.h"
#include "ds_output.h"
#include "ds_plat.h"
#include "ds_ring.h"

static const char *COMP = "main";

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: dnsstream [-c FILE]          run in the foreground (default: the embedded "
            "configuration)\n"
            "       dnsstream --check-config FILE  validate FILE and exit (0 when valid)\n"
            "       dnsstream --print-default-config\n"
            "       dnsstream --queue-info FILE    salvage-scan a queue file and report it\n"
            "       dnsstream --version | --help\n"
            "\n"
            "dnsstream accepts DNS telemetry (PowerDNS protobuf) and delivers every event to\n"
            "files, TCP/TLS collectors, Kafka and S3.  Signals: SIGTERM/SIGINT stop cleanly,\n"
            "SIGHUP reopens output files.  Configuration reference: docs/configuration.md.\n");
}

struct app {
    struct ds_config cfg;
    struct ds_ring *ring;
    struct ds_outputs *outputs;
    struct ds_fwd *fwd;
    struct ds_inputs *inputs;
    struct ds_input_totals inputs_final; /* totals once the inputs have stopped */
    struct ds_enc_ctx ctx;
    char hostname[256];
    struct ds_buf metrics;
};

static void metrics_build(struct app *a, struct ds_buf *b)
{
    struct ds_ring_stats rs;
    ds_ring_stats(a->ring, &rs);
    struct ds_input_totals it = a->inputs_final;
    if (a->inputs)
        ds_inputs_totals(a->inputs, &it);
    ds_buf_reset(b);
    ds_buf_printf(b,
                  "{\"eventsReceived\":%llu,\"eventsDropped\":%llu,\"eventsLost\":%llu,"
                  "\"queue\":{\"capacityBytes\":%llu,\"bytes\":%llu,\"records\":%llu,"
                  "\"salvagedRecords\":%llu,\"setAsideBytes\":%llu},"
                  "\"inputs\":{\"frames\":%llu,\"bytes\":%llu,\"badFrames\":%llu,"
                  "\"connectionsAccepted\":%llu,\"connectionsRefused\":%llu,"
                  "\"connectionsOpen\":%llu},\"outputs\":",
                  (unsigned long long)rs.received, (unsigned long long)rs.dropped,
                  (unsigned long long)it.lost, (unsigned long long)rs.capacity,
                  (unsigned long long)rs.bytes_used, (unsigned long long)rs.records,
                  (unsigned long long)rs.salvaged, (unsigned long long)rs.set_aside_bytes,
                  (unsigned long long)it.frames, (unsigned long long)it.bytes,
                  (unsigned long long)it.bad_frames, (unsigned long long)it.conns_accepted,
                  (unsigned long long)it.conns_refused, (unsigned long long)it.conns_open);
    ds_outputs_stats_json(a->outputs, b);
    ds_buf_puts(b, ",\"forwarders\":");
    ds_fwd_stats_json(a->fwd, b);
    ds_buf_putc(b, '}');
}

/* The metrics event: into the ring (so every destination gets it) and the log. */
static void metrics_emit(struct app *a)
{
    metrics_build(a, &a->metrics);
    struct ds_rec_in r = {
        .data = a->metrics.data,
        .len = (uint32_t)a->metrics.len,
        .kind = DS_REC_METRICS,
        .input_id = 0xffff,
        .route_mask = UINT32_MAX,
        .time_us = ds_time_now_us(),
    };
    ds_ring_append(a->ring, &r, 1);
    ds_log_info("metrics", "%.*s", (int)a->metrics.len, (const char *)a->metrics.data);
}

static char *queue_path(const struct ds_config *cfg)
{
    const char *f = cfg->queue_filename;
    if (f[0] == '/' || !cfg->state_dir || !cfg->state_dir[0])
        return ds_xstrdup(f);
    size_t n = strlen(cfg->state_dir) + strlen(f) + 2;
    char *p = ds_xmalloc(n);
    snprintf(p, n, "%s/%s", cfg->state_dir, f);
    return p;
}

static int app_start(struct app *a)
{
    char err[512] = "";
    struct ds_config *cfg = &a->cfg;
    if (cfg->state_dir && cfg->state_dir[0] && ds_mkdir_p(cfg->state_dir) != DS_OK) {
        ds_log_error(COMP, "cannot create state-directory %s", cfg->state_dir);
        return 1;
    }
    char *qpath = cfg->queue_recovery ? queue_path(cfg) : NULL;
    struct ds_ring_options ro = {
        .size = cfg->queue_size,
        .overflow = cfg->queue_overflow,
        .file = qpath,
        .sync_interval_ms = cfg->queue_sync_ms,
    };
    int rc = ds_ring_open(&ro, &a->ring, err, sizeof(err));
    free(qpath);
    if (rc != DS_OK) {
        ds_log_error(COMP, "cannot open the event queue: %s", err);
        return 1;
    }
    rc = ds_outputs_start(cfg, a->ring, &a->ctx, &a->outputs, err, sizeof(err));
    if (rc == DS_OK) {
        rc = ds_fwd_start(cfg, a->ring, &a->ctx, &a->fwd);
        if (rc != DS_OK)
            snprintf(err, sizeof(err), "cannot start forwarders: %s", ds_strerror(rc));
    }
    if (rc == DS_OK)
        rc = ds_inputs_start(cfg, a->ring, &a->inputs, err, sizeof(err));
    if (rc != DS_OK) {
        ds_log_error(COMP, "%s", err);
        return 1;
    }
    return 0;
}

static void app_stop(struct app *a)
{
    if (a->inputs) {
        ds_inputs_stop(&a->inputs, &a->inputs_final);
        if (a->cfg.metrics_interval_ms)
            metrics_emit(a);
    }
    if (a->ring)
        ds_ring_shutdown(a->ring);
    ds_outputs_stop(&a->outputs);
    ds_fwd_stop(&a->fwd);
    if (a->ring) {
        struct ds_ring_stats rs;
        ds_ring_stats(a->ring, &rs);
        ds_log_info(COMP, "stopped: %llu events received, %llu dropped, %llu still queued",
                    (unsigned long long)rs.received, (unsigned long long)rs.dropped,
                    (unsigned long long)rs.records);
        ds_ring_close(&a->ring);
    }
}

static int run(struct app *a)
{
    if (app_start(a) != 0) {
        app_stop(a);
        return 1;
    }
    ds_log_info(COMP, "dnsstream %s started (configuration %s, instance %s)", DS_VERSION,
                a->cfg.source, a->ctx.instance);
    uint64_t next_metrics = ds_time_mono_ms() + a->cfg.metrics_interval_ms;
    for (;;) {
        int wait = 1000;
        if (a->cfg.metrics_interval_ms) {
            uint64_t now = ds_time_mono_ms();
            wait = now >= next_metrics ? 0 : (int)(next_metrics - now);
        }
        enum ds_sig s = ds_signals_wait(wait);
        if (s == DS_SIG_STOP)
            break;
        if (s == DS_SIG_RELOAD) {
            ds_log_info(COMP, "SIGHUP: reopening output files");
            ds_outputs_reopen(a->outputs);
        }
        if (a->cfg.metrics_interval_ms && ds_time_mono_ms() >= next_metrics) {
            metrics_emit(a);
            next_metrics += a->cfg.metrics_interval_ms;
        }
    }
    ds_log_info(COMP, "stopping");
    app_stop(a);
    return 0;
}

static int queue_info(const char *path)
{
    struct ds_ring_stats st;
    char err[512] = "";
    int rc = ds_ring_inspect(path, &st, err, sizeof(err));
    if (rc != DS_OK) {
        fprintf(stderr, "dnsstream: %s: %s\n", path, err[0] ? err : ds_strerror(rc));
        return 1;
    }
    printf("{\"file\":\"%s\",\"records\":%llu,\"bytes\":%llu,\"capacityBytes\":%llu,"
           "\"nextSeq\":%llu,\"setAsideBytes\":%llu}\n",
           path, (unsigned long long)st.records, (unsigned long long)st.bytes_used,
           (unsigned long long)st.capacity, (unsigned long long)st.next_seq,
           (unsigned long long)st.set_aside_bytes);
    return 0;
}

int ds_app_main(int argc, char **argv)
{
    const char *conf = NULL, *check = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("dnsstream %s\n", DS_VERSION);
            return 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--print-default-config") == 0) {
            fputs(ds_default_config, stdout);
            return 0;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            conf = argv[++i];
        } else if (strcmp(a, "--check-config") == 0 && i + 1 < argc) {
            check = argv[++i];
        } else if (strcmp(a, "--queue-info") == 0 && i + 1 < argc) {
            return queue_info(argv[++i]);
        } else {
            fprintf(stderr, "dnsstream: unknown or incomplete argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }

    struct app a;
    memset(&a, 0, sizeof(a));
    char err[1024] = "";
    int rc;
    if (check)
        rc = ds_config_load_file(check, &a.cfg, err, sizeof(err));
    else if (conf)
        rc = ds_config_load_file(conf, &a.cfg, err, sizeof(err));
    else
        rc = ds_config_load_string("<embedded default configuration>", ds_default_config,
                                   &a.cfg, err, sizeof(err));
    if (rc != DS_OK) {
        fprintf(stderr, "dnsstream: configuration error: %s\n", err);
        return 2;
    }
    if (check) {
        printf("%s: configuration is valid\n", check);
        ds_config_free(&a.cfg);
        return 0;
    }

    ds_log_init((enum ds_log_level)a.cfg.log_level, (enum ds_log_format)a.cfg.log_format);
    ds_net_init();
    ds_signals_block();
    if (ds_hostname(a.hostname, sizeof(a.hostname)) != DS_OK)
        snprintf(a.hostname, sizeof(a.hostname), "localhost");
    a.ctx.hostname = a.hostname;
    a.ctx.instance = a.cfg.instance_name ? a.cfg.instance_name : a.hostname;
    rc = run(&a);
    ds_buf_free(&a.metrics);
    ds_config_free(&a.cfg);
    return rc;
}
