/*
 * ds_input_pdns.c - the PowerDNS protobuf TCP input.  See ds_input.h.
 *
 * Wire: each message is a big-endian length (2 bytes, or 4 with framing=32bit) and
 * the serialized PBDNSMessage.  Senders never read, so we never write.
 *
 * One thread per listener.  Each connection has a receive buffer; after every read
 * the complete frames in it are validated and appended to the ring as one batch, and
 * a partial frame is moved to the front.  Counters are atomics so the main thread can
 * read them for the metrics event without locking.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_input.h"
#include "ds_log.h"
#include "ds_pb.h"
#include "ds_plat.h"

#define READ_CHUNK (256 * 1024)
#define BATCH_MAX 4096
#define STOP_QUIET_MS 20
#define STOP_DRAIN_MS 2000

struct conn {
    ds_sock fd;
    struct ds_addr peer;
    char peer_text[64];
    uint8_t *buf;
    size_t len, cap;
    uint64_t frames;
};

struct listener {
    struct ds_inputs *owner;
    const struct ds_input_cfg *cfg;
    uint16_t input_id;
    ds_sock fd;
    char bound[80];
    struct ds_thread thread;
    bool started;
    struct conn *conns;
    size_t n_conns;
    struct ds_pollfd *pfds;
    struct ds_rec_in *batch;
};

struct ds_inputs {
    struct ds_ring *ring;
    struct listener *ls;
    size_t n;
    struct ds_wakeup wake;
    atomic_bool stopping;
    atomic_uint_fast64_t frames, bytes, lost, bad_frames, conns_accepted, conns_refused,
        conns_open;
};

static const char *COMP = "input.pdns";

static void conn_close(struct listener *l, size_t i, const char *why)
{
    struct conn *c = &l->conns[i];
    if (c->len > 0) {
        /* A partial frame dies with the connection: the sender counted it as sent. */
        atomic_fetch_add(&l->owner->lost, 1);
        ds_log_warn(COMP, "%s: connection from %s closed with %zu bytes of an incomplete frame",
                    l->bound, c->peer_text, c->len);
    }
    ds_log_info(COMP, "%s: connection from %s closed (%s) after %llu frames", l->bound,
                c->peer_text, why, (unsigned long long)c->frames);
    ds_sock_close(c->fd);
    free(c->buf);
    l->conns[i] = l->conns[l->n_conns - 1];
    l->n_conns--;
    atomic_fetch_sub(&l->owner->conns_open, 1);
}

#define VALIDATE_SLACK 16

/* Validate and append the complete frames in c->buf.  Returns 0, or -1 when a bad
 * frame was found (the connection must be closed; frames before it were kept). */
static int conn_consume(struct listener *l, struct conn *c, uint64_t now_us)
{
    const unsigned hdr = l->cfg->framing == DS_FRAMING_32BIT ? 4 : 2;
    size_t off = 0, n = 0;
    int bad = 0;
    uint64_t bytes = 0, appended = 0;
    while (c->len - off >= hdr) {
        const uint8_t *p = c->buf + off;
        uint32_t flen = hdr == 2 ? ((uint32_t)p[0] << 8 | p[1])
                                 : ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                                    (uint32_t)p[2] << 8 | p[3]);
        if (flen == 0 || flen > l->cfg->max_frame) {
            ds_log_warn(COMP, "%s: closing connection from %s: frame length %u %s", l->bound,
                        c->peer_text, flen, flen == 0 ? "is zero" : "exceeds max-frame");
            bad = 1;
            break;
        }
        if (c->len - off - hdr < flen)
            break;
        if (ds_pb_validate_lim(p + hdr, flen, c->cap + VALIDATE_SLACK - (off + hdr)) != DS_OK) {
            ds_log_warn(COMP,
                        "%s: closing connection from %s: frame %llu (%u bytes) is not a valid "
                        "PowerDNS protobuf message",
                        l->bound, c->peer_text, (unsigned long long)(c->frames + n + 1), flen);
            bad = 1;
            break;
        }
        struct ds_rec_in *r = &l->batch[n++];
        r->data = p + hdr;
        r->len = flen;
        r->kind = DS_REC_PDNS;
        r->input_id = l->input_id;
        r->route_mask = UINT32_MAX;
        r->time_us = now_us;
        bytes += flen;
        off += hdr + flen;
        if (n == BATCH_MAX) {
            ds_ring_append(l->owner->ring, l->batch, n);
            appended += n;
            n = 0;
        }
    }
    if (n) {
        ds_ring_append(l->owner->ring, l->batch, n);
        appended += n;
    }
    c->frames += appended;
    atomic_fetch_add(&l->owner->frames, appended);
    atomic_fetch_add(&l->owner->bytes, bytes);
    if (bad) {
        atomic_fetch_add(&l->owner->bad_frames, 1);
        /* The rest of the stream cannot be framed any more: count it as one lost event. */
        atomic_fetch_add(&l->owner->lost, 1);
        c->len = 0;
        return -1;
    }
    if (off) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
    return 0;
}

/* Read what is available.  Returns 0 to keep the connection, or -1 with *why set. */
static int conn_read(struct listener *l, struct conn *c, int max_rounds, const char **why)
{
    for (int rounds = 0; rounds < max_rounds; rounds++) {
        if (c->cap - c->len < READ_CHUNK / 4) {
            size_t want = c->len + READ_CHUNK;
            size_t need = (size_t)l->cfg->max_frame + 4;
            if (want < need)
                want = need;
            /* VALIDATE_SLACK bytes past cap, never received into, let the validator
             * walk a frame at the end in place; all past len is zeroed so that whatever
             * it looks at is initialised */
            c->buf = ds_xrealloc(c->buf, want + VALIDATE_SLACK);
            memset(c->buf + c->len, 0, want + VALIDATE_SLACK - c->len);
            c->cap = want;
        }
        int64_t n = ds_sock_recv(c->fd, c->buf + c->len, c->cap - c->len);
        if (n == DS_EAGAIN)
            return 0;
        if (n == 0) {
            *why = "end of stream";
            return -1;
        }
        if (n < 0) {
            *why = ds_strerror((int)n);
            return -1;
        }
        size_t space = c->cap - c->len;
        c->len += (size_t)n;
        if (conn_consume(l, c, ds_time_now_us()) != 0) {
            *why = "garbled frame";
            return -1;
        }
        if ((size_t)n < space)
            return 0; /* short read: the socket is drained for now */
    }
    return 0;
}

static void accept_all(struct listener *l)
{
    for (;;) {
        ds_sock fd;
        struct ds_addr peer;
        int rc = ds_sock_accept(l->fd, &fd, &peer);
        if (rc != DS_OK) {
            if (rc != DS_EAGAIN)
                ds_log_warn(COMP, "%s: accept failed: %s", l->bound, ds_strerror(rc));
            return;
        }
        char text[64];
        ds_addr_format(&peer, text, sizeof(text));
        if (l->n_conns >= l->cfg->max_connections) {
            atomic_fetch_add(&l->owner->conns_refused, 1);
            ds_log_warn(COMP, "%s: refusing connection from %s: max-connections (%u) reached",
                        l->bound, text, l->cfg->max_connections);
            ds_sock_close(fd);
            continue;
        }
        struct conn *c = &l->conns[l->n_conns++];
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->peer = peer;
        snprintf(c->peer_text, sizeof(c->peer_text), "%s", text);
        ds_sock_set_rcvbuf(fd, 1 << 20);
        atomic_fetch_add(&l->owner->conns_accepted, 1);
        atomic_fetch_add(&l->owner->conns_open, 1);
        ds_log_info(COMP, "%s: connection from %s", l->bound, text);
    }
}

static void listener_run(void *arg)
{
    struct listener *l = arg;
    struct ds_inputs *in = l->owner;
    while (!atomic_load(&in->stopping)) {
        size_t np = 0;
        l->pfds[np++] = (struct ds_pollfd){in->wake.rd, DS_POLLIN, 0};
        l->pfds[np++] = (struct ds_pollfd){l->fd, DS_POLLIN, 0};
        for (size_t i = 0; i < l->n_conns; i++)
            l->pfds[np++] = (struct ds_pollfd){l->conns[i].fd, DS_POLLIN, 0};
        int rc = ds_poll(l->pfds, (int)np, 1000);
        if (rc < 0) {
            ds_log_error(COMP, "%s: poll failed: %s", l->bound, ds_strerror(rc));
            ds_sleep_ms(10);
            continue;
        }
        if (rc == 0 || atomic_load(&in->stopping))
            continue;
        /* Connections first (their pfds entries are at 2..), from the end so that
         * closing one (swap with last) never skips another. */
        for (size_t k = np; k-- > 2;) {
            size_t i = k - 2;
            if (!l->pfds[k].revents)
                continue;
            const char *why = NULL;
            if (conn_read(l, &l->conns[i], 8, &why) != 0)
                conn_close(l, i, why);
        }
        if (l->pfds[1].revents)
            accept_all(l);
    }
    /* Stopping: take what the senders already handed to the kernel.  On loopback a
     * sender's queued bytes move to our socket only as we read, so keep reading until
     * a connection has been quiet for STOP_QUIET_MS (at most STOP_DRAIN_MS in all). */
    uint64_t give_up = ds_time_mono_ms() + STOP_DRAIN_MS;
    for (size_t i = l->n_conns; i-- > 0;) {
        const char *why = "service stopping";
        for (;;) {
            if (conn_read(l, &l->conns[i], 1 << 20, &why) != 0)
                break;
            struct ds_pollfd p = {l->conns[i].fd, DS_POLLIN, 0};
            if (ds_time_mono_ms() >= give_up || ds_poll(&p, 1, STOP_QUIET_MS) <= 0)
                break;
        }
        conn_close(l, i, why);
    }
}

static void listeners_free(struct ds_inputs *in)
{
    for (size_t i = 0; i < in->n; i++) {
        struct listener *l = &in->ls[i];
        if (l->fd != DS_SOCK_INVALID)
            ds_sock_close(l->fd);
        free(l->conns);
        free(l->pfds);
        free(l->batch);
    }
    free(in->ls);
    ds_wakeup_close(&in->wake);
    free(in);
}

int ds_inputs_start(const struct ds_config *cfg, struct ds_ring *ring, struct ds_inputs **out,
                    char *err, size_t errlen)
{
    struct ds_inputs *in = ds_xcalloc(1, sizeof(*in));
    in->ring = ring;
    in->ls = ds_xcalloc(cfg->n_inputs ? cfg->n_inputs : 1, sizeof(*in->ls));
    in->n = cfg->n_inputs;
    int rc = ds_wakeup_init(&in->wake);
    if (rc != DS_OK) {
        snprintf(err, errlen, "cannot create wakeup pipe: %s", ds_strerror(rc));
        free(in->ls);
        free(in);
        return rc;
    }
    for (size_t i = 0; i < in->n; i++) {
        struct listener *l = &in->ls[i];
        const struct ds_input_cfg *ic = &cfg->inputs[i];
        l->owner = in;
        l->cfg = ic;
        l->input_id = (uint16_t)i;
        l->fd = DS_SOCK_INVALID;
        if (ic->kind != DS_INPUT_PDNS) {
            snprintf(err, errlen, "%s:%d: this input kind is not supported yet", cfg->source,
                     ic->line);
            listeners_free(in);
            return DS_ENOTSUP;
        }
        struct ds_addr a;
        rc = ds_addr_parse(ic->address, ic->port, &a);
        if (rc == DS_OK)
            rc = ds_sock_listen(&a, 128, &l->fd);
        if (rc != DS_OK) {
            snprintf(err, errlen, "%s:%d: cannot listen on %s port %u: %s", cfg->source,
                     ic->line, ic->address, ic->port, ds_strerror(rc));
            listeners_free(in);
            return rc;
        }
        struct ds_addr bound;
        ds_sock_local_addr(l->fd, &bound);
        ds_addr_format(&bound, l->bound, sizeof(l->bound));
        l->conns = ds_xcalloc(ic->max_connections + 1, sizeof(*l->conns));
        l->pfds = ds_xcalloc(ic->max_connections + 3, sizeof(*l->pfds));
        l->batch = ds_xcalloc(BATCH_MAX, sizeof(*l->batch));
    }
    for (size_t i = 0; i < in->n; i++) {
        struct listener *l = &in->ls[i];
        char name[16];
        snprintf(name, sizeof(name), "in-pdns-%u", (unsigned)(i % 1000));
        rc = ds_thread_create(&l->thread, listener_run, l, name);
        if (rc != DS_OK) {
            snprintf(err, errlen, "cannot start input thread: %s", ds_strerror(rc));
            ds_inputs_stop(&in, NULL);
            return rc;
        }
        l->started = true;
        ds_log_info(COMP, "listening for PowerDNS protobuf (%s framing) on %s",
                    l->cfg->framing == DS_FRAMING_32BIT ? "32-bit" : "16-bit", l->bound);
    }
    *out = in;
    return DS_OK;
}

void ds_inputs_stop(struct ds_inputs **inp, struct ds_input_totals *last)
{
    struct ds_inputs *in = *inp;
    if (!in)
        return;
    atomic_store(&in->stopping, true);
    ds_wakeup_signal(&in->wake);
    for (size_t i = 0; i < in->n; i++)
        if (in->ls[i].started)
            ds_thread_join(&in->ls[i].thread);
    if (last)
        ds_inputs_totals(in, last);
    listeners_free(in);
    *inp = NULL;
}

void ds_inputs_totals(struct ds_inputs *in, struct ds_input_totals *out)
{
    out->frames = atomic_load(&in->frames);
    out->bytes = atomic_load(&in->bytes);
    out->lost = atomic_load(&in->lost);
    out->bad_frames = atomic_load(&in->bad_frames);
    out->conns_accepted = atomic_load(&in->conns_accepted);
    out->conns_refused = atomic_load(&in->conns_refused);
    out->conns_open = atomic_load(&in->conns_open);
}

const char *ds_inputs_bound(struct ds_inputs *in, size_t i)
{
    return i < in->n ? in->ls[i].bound : "";
}
