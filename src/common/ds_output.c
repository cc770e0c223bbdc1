/*
 * ds_output.c - file and stdout outputs.  See ds_output.h.
 *
 * A batch is encoded into one buffer and written with one fwrite + fflush, so a
 * reader of the file sees whole lines.  If the write fails (disk full, file removed
 * underneath), the batch is not released: the cursor rewinds to it and the output
 * retries once a second, reopening the file, so nothing is lost while the ring holds
 * the events.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_log.h"
#include "ds_output.h"
#include "ds_plat.h"

#define OUT_BATCH 2048
#define OUT_BATCH_BYTES (4u << 20)

struct output {
    struct ds_outputs *owner;
    const struct ds_output_cfg *cfg;
    char *path; /* resolved path, NULL for stdout */
    char name[300];
    FILE *fp;
    int cursor;
    struct ds_thread thread;
    bool started;
    atomic_bool reopen;
    atomic_uint_fast64_t written, failed, unencodable;
    struct ds_buf buf;
    struct ds_rec recs[OUT_BATCH];
};

struct ds_outputs {
    struct ds_ring *ring;
    const struct ds_enc_ctx *ctx;
    struct output *o;
    size_t n;
    atomic_bool stopping; /* set by ds_outputs_stop: a failing output gives up */
};

static const char *COMP = "output";

static int output_open(struct output *o)
{
    if (!o->path) {
        o->fp = stdout;
        return DS_OK;
    }
    o->fp = fopen(o->path, o->cfg->format == DS_FMT_PDNS ? "ab" : "a");
    if (!o->fp)
        return DS_EIO;
    setvbuf(o->fp, NULL, _IOFBF, 1 << 20);
    return DS_OK;
}

static void output_close(struct output *o)
{
    if (o->fp && o->fp != stdout)
        fclose(o->fp);
    else if (o->fp)
        fflush(o->fp);
    o->fp = NULL;
}

/* Encode one record; returns false when the record has no form in this format. */
static bool encode(struct output *o, const struct ds_rec *r)
{
    size_t mark = o->buf.len;
    int rc;
    switch (o->cfg->format) {
    case DS_FMT_JSON:
        rc = ds_enc_json(&o->buf, r, o->owner->ctx);
        if (rc == DS_OK)
            ds_buf_putc(&o->buf, '\n');
        break;
    case DS_FMT_BIND:
        rc = ds_enc_bind(&o->buf, r, o->owner->ctx);
        if (rc == DS_OK)
            ds_buf_putc(&o->buf, '\n');
        break;
    default:
        rc = ds_enc_pdns(&o->buf, r, 16);
        break;
    }
    if (rc != DS_OK) {
        o->buf.len = mark;
        return false;
    }
    return true;
}

static void output_run(void *arg)
{
    struct output *o = arg;
    struct ds_ring *ring = o->owner->ring;
    for (;;) {
        int n = ds_ring_read(ring, o->cursor, o->recs, OUT_BATCH, OUT_BATCH_BYTES, 1000);
        /* A reopen applies to every batch read after it was asked for. */
        if (atomic_exchange(&o->reopen, false) && o->path) {
            output_close(o);
            if (output_open(o) != DS_OK)
                ds_log_error(COMP, "%s: cannot reopen", o->name);
            else
                ds_log_info(COMP, "%s: reopened", o->name);
        }
        if (n == DS_ECLOSED)
            break;
        if (n <= 0)
            continue;
        ds_buf_reset(&o->buf);
        uint64_t encoded = 0;
        for (int i = 0; i < n; i++) {
            if (encode(o, &o->recs[i]))
                encoded++;
            else if (o->recs[i].kind == DS_REC_PDNS && o->cfg->format != DS_FMT_BIND)
                atomic_fetch_add(&o->unencodable, 1);
        }
        bool ok = o->fp != NULL;
        if (ok && o->buf.len) {
            ok = fwrite(o->buf.data, 1, o->buf.len, o->fp) == o->buf.len;
            ok = fflush(o->fp) == 0 && ok;
        }
        if (!ok) {
            atomic_fetch_add(&o->failed, 1);
            ds_ring_rewind(ring, o->cursor, o->recs[0].seq);
            if (atomic_load(&o->owner->stopping)) {
                /* Never hold up the stop: what is not written stays unreleased, so a
                 * queue file keeps it for the next start. */
                ds_log_error(COMP, "%s: write failed while stopping; %d events not written",
                             o->name, n);
                break;
            }
            ds_log_error(COMP, "%s: write failed; keeping %d events and retrying in 1 s", o->name,
                         n);
            ds_sleep_ms(1000);
            atomic_store(&o->reopen, true);
            continue;
        }
        atomic_fetch_add(&o->written, encoded);
        ds_ring_release(ring, o->cursor, o->recs[n - 1].seq);
    }
    output_close(o);
}

static char *join_path(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir || !dir[0] || strcmp(dir, ".") == 0)
        return ds_xstrdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *p = ds_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, path);
    return p;
}

int ds_outputs_start(const struct ds_config *cfg, struct ds_ring *ring,
                     const struct ds_enc_ctx *ctx, struct ds_outputs **out, char *err,
                     size_t errlen)
{
    struct ds_outputs *os = ds_xcalloc(1, sizeof(*os));
    os->ring = ring;
    os->ctx = ctx;
    os->n = cfg->n_outputs;
    os->o = ds_xcalloc(os->n ? os->n : 1, sizeof(*os->o));
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->o[i];
        o->owner = os;
        o->cfg = &cfg->outputs[i];
        if (o->cfg->kind == DS_OUTPUT_FILE) {
            o->path = join_path(cfg->state_dir, o->cfg->path);
            snprintf(o->name, sizeof(o->name), "file:%s", o->path);
        } else {
            snprintf(o->name, sizeof(o->name), "stdout");
        }
        if (output_open(o) != DS_OK) {
            snprintf(err, errlen, "%s:%d: cannot open output file %s", cfg->source,
                     o->cfg->line, o->path);
            os->n = i;
            ds_outputs_stop(&os);
            return DS_EIO;
        }
        o->cursor = ds_ring_cursor_open(ring, o->name);
        if (o->cursor < 0) {
            snprintf(err, errlen, "cannot open a ring cursor for %s: %s", o->name,
                     ds_strerror(o->cursor));
            output_close(o);
            os->n = i;
            ds_outputs_stop(&os);
            return o->cursor;
        }
        ds_ring_cursor_set_connected(ring, o->cursor, true);
    }
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->o[i];
        int rc = ds_thread_create(&o->thread, output_run, o, "output");
        if (rc != DS_OK) {
            snprintf(err, errlen, "cannot start output thread: %s", ds_strerror(rc));
            ds_outputs_stop(&os);
            return rc;
        }
        o->started = true;
        ds_log_info(COMP, "writing %s events to %s",
                    o->cfg->format == DS_FMT_JSON   ? "JSON"
                    : o->cfg->format == DS_FMT_BIND ? "BIND query-log"
                                                    : "PowerDNS protobuf",
                    o->path ? o->path : "standard output");
    }
    *out = os;
    return DS_OK;
}

void ds_outputs_reopen(struct ds_outputs *os)
{
    for (size_t i = 0; os && i < os->n; i++)
        atomic_store(&os->o[i].reopen, true);
}

void ds_outputs_stop(struct ds_outputs **osp)
{
    struct ds_outputs *os = *osp;
    if (!os)
        return;
    atomic_store(&os->stopping, true);
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->o[i];
        if (o->started)
            ds_thread_join(&o->thread);
        else
            output_close(o);
        ds_buf_free(&o->buf);
        free(o->path);
    }
    free(os->o);
    free(os);
    *osp = NULL;
}

void ds_outputs_stats_json(struct ds_outputs *os, struct ds_buf *out)
{
    ds_buf_putc(out, '[');
    for (size_t i = 0; os && i < os->n; i++) {
        struct output *o = &os->o[i];
        struct ds_cursor_stats cs;
        ds_ring_cursor_stats(os->ring, o->cursor, &cs);
        if (i)
            ds_buf_putc(out, ',');
        ds_buf_puts(out, "{\"name\":");
        ds_enc_json_string(out, o->name);
        ds_buf_printf(out,
                      ",\"written\":%llu,\"skipped\":%llu,\"unencodable\":%llu,"
                      "\"writeFailures\":%llu,\"lag\":%llu}",
                      (unsigned long long)atomic_load(&o->written),
                      (unsigned long long)cs.skipped,
                      (unsigned long long)atomic_load(&o->unencodable),
                      (unsigned long long)atomic_load(&o->failed), (unsigned long long)cs.lag);
    }
    ds_buf_putc(out, ']');
}
