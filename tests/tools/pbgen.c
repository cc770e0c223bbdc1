/*
 * pbgen.c - load generator: sends PowerDNS protobuf frames, each tagged with a
 * sequence number that pbsink (and anyone reading the JSON output) can read back.
 *
 * Usage: pbgen HOST PORT COUNT [--conns N] [--rate EPS] [--fixture FILE.lp16]
 *              [--start SEQ] [--framing 16bit|32bit] [--report FILE]
 *              [--window N --counter FILE [--counter FILE]...]
 *              [--syslog-json [--framing octet|newline]]
 *
 * The tag is the message's messageId (field 2, 16 bytes): the 8 magic bytes
 * d5 5e 9a 7e 70 62 67 6e ("..pbgn") followed by the sequence number, big-endian.
 * It survives every encoding: the protobuf is forwarded as received, and the JSON
 * encoder prints messageId as 32 hex digits ("d55e9a7e7062676e" + 16 digits of SEQ).
 * Frames are the fixture's messages in turn (their own messageId removed) or, without
 * --fixture, a small synthesised query.  Sequence numbers START..START+COUNT-1 are
 * dealt round-robin to the connections (each connection sends its share in order).
 * --rate paces the total rate (events per second) in 1 ms steps.
 * --window N keeps at most N events in flight end to end: a batch is sent only while
 * sent - seen <= N, where seen is the smallest of the counters that pbsink --counter
 * keeps in the files named (one per sink, e.g. one per broadcast forwarder).  This
 * sends as fast as the final receiver takes the events even when something in between
 * drops rather than pushes back when it is full (bench/run).  When no counter moves for
 * 10 s the connection gives up (counted in errors).
 * --syslog-json sends the same events as text instead, the way a dnsstream forwarder
 * with format=json syslog=rfc5424 would: an RFC 5424 header (ds_syslog) and the
 * event's JSON (ds_enc_json, with the tagged messageId), octet-counted (default) or one
 * per line (--framing newline).  Each template is encoded once; per event only the 16
 * hex digits of the sequence number are written into the copy (bench/run feeds rsyslog
 * with this).
 *
 * Prints one JSON line: {"sent":N,"bytes":B,"first_seq":S,"last_seq":E,"conns":C,
 * "seconds":T,"rate":R,"errors":X,"start_us":U}; "sent" counts frames fully written to
 * the sockets, "last_seq" is the highest of them, "start_us" the wall-clock time
 * (microseconds since the epoch) just before the connections were opened.  Exit status 0
 * when every frame was written, 2 when a connection failed (the counts then say what went
 * out).  Test tool: Linux.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_enc.h"
#include "ds_err.h"
#include "ds_plat.h"
#include "ds_syslog.h"
#include "pbtag.h"

struct tmpl {
    uint8_t *data; /* the message without messageId */
    size_t len;
    uint8_t *text; /* --syslog-json: the framed text event, seq digits all '0' */
    size_t text_len, hex_off;
};

enum { BITS_OCTET = 1, BITS_NEWLINE = 2 }; /* gen.bits for --syslog-json */

struct gen {
    struct ds_addr addr;
    uint64_t count, start;
    unsigned conns;
    double rate;
    int bits;
    struct tmpl *t;
    size_t nt;
    atomic_uint_fast64_t sent, bytes, errors;
    atomic_uint_fast64_t last_seq;
    uint64_t window;
    _Atomic uint64_t *counters[8];
    int ncounters;
};

#define WINDOW_STALL_MS 10000

struct worker {
    struct gen *g;
    unsigned index;
    struct ds_thread th;
};

/* ---- templates -------------------------------------------------------------------- */

/* Copy the top-level fields of msg except field 2 into out.  False on a bad message. */
static bool strip_message_id(const uint8_t *p, size_t len, struct ds_buf *out)
{
    size_t i = 0;
    while (i < len) {
        size_t f0 = i, val, vlen;
        uint64_t field;
        if (!pbtag_next_field(p, len, &i, &field, &val, &vlen))
            return false;
        if (field != 2)
            ds_buf_append(out, p + f0, i - f0);
    }
    return true;
}

static int load_fixture(struct gen *g, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "pbgen: cannot open %s\n", path);
        return -1;
    }
    struct ds_buf all = {0};
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ds_buf_append(&all, chunk, n);
    fclose(f);
    size_t i = 0;
    while (i + 2 <= all.len) {
        size_t len = (size_t)all.data[i] << 8 | all.data[i + 1];
        if (i + 2 + len > all.len)
            break;
        struct ds_buf b = {0};
        if (!strip_message_id(all.data + i + 2, len, &b)) {
            fprintf(stderr, "pbgen: %s: frame at %zu is not a protobuf message\n", path, i);
            ds_buf_free(&b);
            ds_buf_free(&all);
            return -1;
        }
        g->t = ds_xrealloc(g->t, (g->nt + 1) * sizeof(*g->t));
        g->t[g->nt++] = (struct tmpl){b.data, b.len, NULL, 0, 0};
        i += 2 + len;
    }
    ds_buf_free(&all);
    if (g->nt == 0) {
        fprintf(stderr, "pbgen: %s holds no frames\n", path);
        return -1;
    }
    return 0;
}

static void put_varint(struct ds_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        ds_buf_putc(b, (char)(uint8_t)(v | 0x80));
        v >>= 7;
    }
    ds_buf_putc(b, (char)(uint8_t)v);
}

static void put_bytes(struct ds_buf *b, unsigned field, const void *p, size_t n)
{
    put_varint(b, (uint64_t)field << 3 | 2);
    put_varint(b, n);
    ds_buf_append(b, p, n);
}

static void put_uint(struct ds_buf *b, unsigned field, uint64_t v)
{
    put_varint(b, (uint64_t)field << 3);
    put_varint(b, v);
}

/* A client query for www.example.com. A from 192.0.2.1 to 192.0.2.53, UDP. */
static void synthesise(struct gen *g)
{
    struct ds_buf m = {0}, q = {0};
    uint64_t now = ds_time_now_us();
    put_uint(&m, 1, 1);
    put_uint(&m, 4, 1);
    put_uint(&m, 5, 1);
    put_bytes(&m, 6, "\xc0\x00\x02\x01", 4);
    put_bytes(&m, 7, "\xc0\x00\x02\x35", 4);
    put_uint(&m, 8, 33);
    put_uint(&m, 9, now / 1000000u);
    put_uint(&m, 10, now % 1000000u);
    put_uint(&m, 11, 4242);
    put_bytes(&q, 1, "www.example.com.", 16);
    put_uint(&q, 2, 1);
    put_uint(&q, 3, 1);
    put_bytes(&m, 12, q.data, q.len);
    put_uint(&m, 20, 53000);
    put_uint(&m, 21, 53);
    ds_buf_free(&q);
    g->t = ds_xmalloc(sizeof(*g->t));
    g->t[0] = (struct tmpl){m.data, m.len, NULL, 0, 0};
    g->nt = 1;
}

/* --syslog-json: encode every template once as a framed RFC 5424 JSON event. */
static int make_text(struct gen *g)
{
    static const char HEX[] = "0123456789abcdef";
    char tag_hex[33];
    for (int i = 0; i < 8; i++) {
        tag_hex[2 * i] = HEX[PBTAG_MAGIC[i] >> 4];
        tag_hex[2 * i + 1] = HEX[PBTAG_MAGIC[i] & 15];
    }
    memset(tag_hex + 16, '0', 16);
    tag_hex[32] = 0;
    struct ds_syslog_id sid = {"bench", "dnsstream", 1, "pbgen"};
    struct ds_enc_ctx ctx = {"pbgen", "bench"};
    uint64_t now = ds_time_now_us();
    for (size_t i = 0; i < g->nt; i++) {
        struct tmpl *t = &g->t[i];
        struct ds_buf msg = {0}, ev = {0}, out = {0};
        uint8_t tag[18];
        pbtag_field(tag, 0); /* the seq goes into the text form per event */
        ds_buf_append(&msg, tag, sizeof(tag));
        ds_buf_append(&msg, t->data, t->len);
        struct ds_rec rec = {.seq = i + 1, .time_us = now, .route_mask = UINT32_MAX,
                             .kind = DS_REC_PDNS, .len = (uint32_t)msg.len, .data = msg.data};
        ds_syslog_5424_header(&ev, &sid, "dns", now, i + 1);
        int rc = ds_enc_json(&ev, &rec, &ctx);
        const char *hex = NULL;
        if (rc == DS_OK) {
            ds_buf_putc(&ev, 0);
            hex = strstr((const char *)ev.data, tag_hex);
            ev.len--;
        }
        if (!hex || ds_frame_append(&out, g->bits == BITS_OCTET ? DS_FRAMING_OCTET
                                                                : DS_FRAMING_NEWLINE,
                                    ev.data, ev.len) != DS_OK) {
            fprintf(stderr, "pbgen: template %zu has no JSON form with its messageId\n", i);
            return -1;
        }
        t->hex_off = (out.len - ev.len - (g->bits == BITS_NEWLINE)) +
                     (size_t)(hex - (const char *)ev.data) + 16;
        t->text = out.data;
        t->text_len = out.len;
        ds_buf_free(&msg);
        ds_buf_free(&ev);
    }
    return 0;
}

/* ---- sending ------------------------------------------------------------------------ */

static void put_frame(const struct gen *g, struct ds_buf *b, uint64_t seq)
{
    const struct tmpl *t = &g->t[(seq - g->start) % g->nt];
    if (t->text) {
        static const char HEX[] = "0123456789abcdef";
        size_t at = b->len;
        ds_buf_append(b, t->text, t->text_len);
        uint8_t *d = b->data + at + t->hex_off;
        for (int i = 0; i < 16; i++)
            d[i] = (uint8_t)HEX[(seq >> (60 - 4 * i)) & 15];
        return;
    }
    size_t len = 18 + t->len;
    if (g->bits == 16) {
        uint8_t h[2] = {(uint8_t)(len >> 8), (uint8_t)len};
        ds_buf_append(b, h, 2);
    } else {
        uint8_t h[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                        (uint8_t)len};
        ds_buf_append(b, h, 4);
    }
    uint8_t tag[18];
    pbtag_field(tag, seq);
    ds_buf_append(b, tag, sizeof(tag));
    ds_buf_append(b, t->data, t->len);
}

/* Events the slowest sink has seen (pbsink --counter). */
static uint64_t seen_min(const struct gen *g)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < g->ncounters; i++) {
        uint64_t v = atomic_load_explicit(g->counters[i], memory_order_acquire);
        if (v < m)
            m = v;
    }
    return m;
}

/* Wait until `more` events fit into the window; false after WINDOW_STALL_MS without
 * progress. */
static bool window_wait(struct gen *g, uint64_t more)
{
    uint64_t seen = seen_min(g), since = ds_time_mono_ms();
    while (atomic_load(&g->sent) + more > seen + g->window) {
        ds_sleep_ms(1); /* flow control against a shared counter, not synchronisation */
        uint64_t now_seen = seen_min(g);
        if (now_seen != seen) {
            seen = now_seen;
            since = ds_time_mono_ms();
        } else if (ds_time_mono_ms() - since > WINDOW_STALL_MS) {
            return false;
        }
    }
    return true;
}

static bool send_all(ds_sock s, const uint8_t *p, size_t n)
{
    while (n > 0) {
        int64_t k = ds_sock_send(s, p, n);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static void worker_run(void *arg)
{
    struct worker *w = arg;
    struct gen *g = w->g;
    ds_sock s;
    int rc = ds_sock_connect(&g->addr, 5000, &s);
    if (rc != DS_OK) {
        fprintf(stderr, "pbgen: connection %u: connect: %s\n", w->index, ds_strerror(rc));
        atomic_fetch_add(&g->errors, 1);
        return;
    }
    /* This connection's share: start+index, start+index+conns, ... */
    uint64_t total = g->count > w->index ? (g->count - w->index + g->conns - 1) / g->conns : 0;
    double per_ms = g->rate > 0 ? g->rate / g->conns / 1000.0 : 0;
    struct ds_buf b = {0};
    uint64_t done = 0, t0 = ds_time_mono_ms();
    uint64_t *seqs = ds_xmalloc(sizeof(uint64_t) * 4096);
    while (done < total) {
        size_t batch = 1024;
        if (per_ms > 0) {
            uint64_t allowed = (uint64_t)((double)(ds_time_mono_ms() - t0 + 1) * per_ms);
            if (allowed <= done) {
                ds_sleep_ms(1); /* pacing, not synchronisation */
                continue;
            }
            if (allowed - done < batch)
                batch = (size_t)(allowed - done);
        }
        if (total - done < batch)
            batch = (size_t)(total - done);
        if (g->window && !window_wait(g, batch)) {
            fprintf(stderr, "pbgen: connection %u: the sinks saw nothing for %d ms with %" PRIu64
                    " events in flight; giving up\n", w->index, WINDOW_STALL_MS,
                    (uint64_t)atomic_load(&g->sent) - seen_min(g));
            atomic_fetch_add(&g->errors, 1);
            break;
        }
        ds_buf_reset(&b);
        for (size_t i = 0; i < batch; i++) {
            seqs[i] = g->start + w->index + (done + i) * g->conns;
            put_frame(g, &b, seqs[i]);
        }
        if (!send_all(s, b.data, b.len)) {
            fprintf(stderr, "pbgen: connection %u: send failed after %" PRIu64 " frames\n",
                    w->index, done);
            atomic_fetch_add(&g->errors, 1);
            break;
        }
        done += batch;
        atomic_fetch_add(&g->sent, batch);
        atomic_fetch_add(&g->bytes, b.len);
        uint64_t last = seqs[batch - 1], cur = atomic_load(&g->last_seq);
        while (last > cur && !atomic_compare_exchange_weak(&g->last_seq, &cur, last)) {
        }
    }
    free(seqs);
    ds_buf_free(&b);
    ds_sock_shutdown_wr(s);
    ds_sock_close(s);
}

static void usage(void)
{
    fprintf(stderr, "usage: pbgen HOST PORT COUNT [--conns N] [--rate EPS] [--fixture FILE.lp16]\n"
                    "             [--start SEQ] [--framing 16bit|32bit] [--report FILE]\n"
                    "             [--window N --counter FILE [--counter FILE]...]\n"
                    "             [--syslog-json [--framing octet|newline]]\n");
    exit(64);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        usage();
    static struct gen g;
    g.count = strtoull(argv[3], NULL, 10);
    g.start = 1;
    g.conns = 1;
    g.bits = 16;
    const char *fixture = NULL, *report = NULL, *framing = NULL;
    bool text = false;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--syslog-json") == 0) {
            text = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(a, "--conns") == 0)
            g.conns = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--rate") == 0)
            g.rate = strtod(v, NULL);
        else if (strcmp(a, "--fixture") == 0)
            fixture = v;
        else if (strcmp(a, "--start") == 0)
            g.start = strtoull(v, NULL, 10);
        else if (strcmp(a, "--framing") == 0)
            framing = v;
        else if (strcmp(a, "--report") == 0)
            report = v;
        else if (strcmp(a, "--window") == 0)
            g.window = strtoull(v, NULL, 10);
        else if (strcmp(a, "--counter") == 0 && g.ncounters < 8) {
            struct ds_mmap m;
            if (ds_mmap_open(v, 4096, &m, NULL, NULL) != DS_OK) {
                fprintf(stderr, "pbgen: cannot map %s\n", v);
                return 1;
            }
            g.counters[g.ncounters++] = m.base; /* mapped until exit */
        } else
            usage();
    }
    if (text)
        g.bits = !framing || strcmp(framing, "octet") == 0 ? BITS_OCTET
                 : strcmp(framing, "newline") == 0         ? BITS_NEWLINE
                                                           : 0;
    else if (framing)
        g.bits = strcmp(framing, "32bit") == 0 ? 32 : strcmp(framing, "16bit") == 0 ? 16 : 0;
    if (g.conns == 0 || g.conns > 1024 || g.bits == 0 || g.start == 0 ||
        (g.window != 0) != (g.ncounters != 0))
        usage();
    ds_net_init();
    if (ds_addr_resolve(argv[1], (unsigned)strtoul(argv[2], NULL, 10), 0, &g.addr, 1) < 1) {
        fprintf(stderr, "pbgen: cannot resolve %s\n", argv[1]);
        return 1;
    }
    if (fixture ? load_fixture(&g, fixture) != 0 : (synthesise(&g), 0))
        return 1;
    if (text && make_text(&g) != 0)
        return 1;
    atomic_store(&g.last_seq, 0);
    struct worker *w = ds_xcalloc(g.conns, sizeof(*w));
    uint64_t t0 = ds_time_now_us();
    for (unsigned i = 0; i < g.conns; i++) {
        w[i] = (struct worker){&g, i, {0}};
        if (ds_thread_create(&w[i].th, worker_run, &w[i], "pbgen") != DS_OK) {
            fprintf(stderr, "pbgen: cannot start a thread\n");
            return 1;
        }
    }
    for (unsigned i = 0; i < g.conns; i++)
        ds_thread_join(&w[i].th);
    double secs = (double)(ds_time_now_us() - t0) / 1e6;
    uint64_t sent = atomic_load(&g.sent);
    char line[512];
    snprintf(line, sizeof(line),
             "{\"sent\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"first_seq\":%" PRIu64
             ",\"last_seq\":%" PRIu64 ",\"conns\":%u,\"seconds\":%.3f,\"rate\":%.0f,"
             "\"errors\":%" PRIu64 ",\"start_us\":%" PRIu64 "}\n",
             sent, (uint64_t)atomic_load(&g.bytes), g.start, (uint64_t)atomic_load(&g.last_seq),
             g.conns, secs, secs > 0 ? (double)sent / secs : 0.0,
             (uint64_t)atomic_load(&g.errors), t0);
    fputs(line, stdout);
    fflush(stdout);
    if (report) {
        FILE *f = fopen(report, "w");
        if (f) {
            fputs(line, f);
            fclose(f);
        }
    }
    for (size_t i = 0; i < g.nt; i++) {
        free(g.t[i].data);
        free(g.t[i].text);
    }
    free(g.t);
    free(w);
    return atomic_load(&g.errors) ? 2 : 0;
}
