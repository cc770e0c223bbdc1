/* test_fwd.c - the forwarder manager (ds_fwd.h) with the real ring and collectors in
 * this process: broadcast, what each recovery mode resends after a failure detected
 * between batches, after a late detection and after a failed write, drain on stop,
 * failover, roundrobin and sharded; encode-threads (JSON in RFC 5424, octet counting).
 *
 * Records are PowerDNS-style payloads (field 6: a client address, field 3:
 * "seq=N" plus padding) sent with format=pdns, so the collector can read the ring
 * sequence number back from each frame. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ds_err.h"
#include "ds_log.h"
#include "ds_fwd.h"
#include "ds_plat.h"
#include "ds_ring.h"
#include "ds_test.h"

/* ---- an in-process collector ------------------------------------------------ */
#define MAXMSG 200000

/* Deadlines are upper bounds for a condition that normally holds within milliseconds;
 * they are stretched so that a machine busy with other work does not fail a test. */
#define SLACK 4

struct coll {
    unsigned port;
    struct ds_thread th;
    atomic_bool quit;
    atomic_bool pause;      /* stop reading (the connection stays open) */
    atomic_bool paused;     /* the collector thread has seen pause */
    atomic_bool abort_now;  /* reset the current connection */
    atomic_bool down;       /* close the listener and connection; refuse connections */
    atomic_bool is_down;    /* the collector thread has closed both (see coll_go_down) */
    atomic_bool listening;  /* its listener is open (coll_start waits for it) */
    atomic_int abort_after; /* reset connection 1 after this many messages (0: never) */
    bool octet;             /* frames are RFC 6587 octet counting instead of 16-bit */
    uLong crc;              /* CRC-32 of every byte received, in order */
    atomic_long bytes;
    struct ds_mutex mu;
    long seq[MAXMSG];
    uint8_t ip[MAXMSG];
    int conn[MAXMSG];
    atomic_int n;
    atomic_int conns;
    atomic_int eofs; /* connections that ended with the peer's EOF */
};

static void coll_record(struct coll *c, const uint8_t *m, size_t len, int conn)
{
    long seq = -1;
    uint8_t ip = 0;
    for (size_t i = 0; i + 4 < len; i++) {
        /* "seq=N;" of the payload (not the syslog header's seq="N") */
        if (memcmp(m + i, "seq=", 4) == 0 && m[i + 4] >= '0' && m[i + 4] <= '9') {
            seq = atol((const char *)m + i + 4);
            break;
        }
    }
    if (len >= 6 && m[0] == 0x32 && m[1] == 4)
        ip = m[5];
    int k = atomic_load(&c->n);
    if (k < MAXMSG) {
        c->seq[k] = seq;
        c->ip[k] = ip;
        c->conn[k] = conn;
        atomic_store(&c->n, k + 1);
    }
}

static void coll_thread(void *arg)
{
    struct coll *c = arg;
    struct ds_addr a;
    ds_addr_parse("127.0.0.1", c->port, &a);
    ds_sock l = DS_SOCK_INVALID, s = DS_SOCK_INVALID;
    uint8_t *buf = malloc(1 << 20);
    size_t have = 0;
    int conn = 0, in_conn = 0;
    while (!atomic_load(&c->quit)) {
        if (atomic_load(&c->down)) {
            if (s != DS_SOCK_INVALID)
                ds_sock_abort(s);
            if (l != DS_SOCK_INVALID)
                ds_sock_close(l);
            s = l = DS_SOCK_INVALID;
            atomic_store(&c->listening, false);
            atomic_store(&c->is_down, true);
            ds_sleep_ms(10);
            continue;
        }
        atomic_store(&c->is_down, false);
        if (l == DS_SOCK_INVALID) {
            if (ds_sock_listen(&a, 16, &l) != DS_OK) {
                ds_sleep_ms(10);
                continue;
            }
            ds_sock_set_rcvbuf(l, 4096);
            atomic_store(&c->listening, true);
        }
        if (s == DS_SOCK_INVALID) {
            struct ds_pollfd p = {l, DS_POLLIN, 0};
            if (ds_poll(&p, 1, 20) <= 0 || ds_sock_accept(l, &s, NULL) != DS_OK)
                continue;
            conn++;
            in_conn = 0;
            have = 0;
            atomic_fetch_add(&c->conns, 1);
        }
        if (atomic_load(&c->abort_now) ||
            (conn == 1 && atomic_load(&c->abort_after) > 0 &&
             in_conn >= atomic_load(&c->abort_after))) {
            atomic_store(&c->abort_now, false);
            if (conn == 1)
                atomic_store(&c->abort_after, 0);
            ds_sock_abort(s);
            s = DS_SOCK_INVALID;
            continue;
        }
        if (atomic_load(&c->pause)) {
            atomic_store(&c->paused, true);
            ds_sleep_ms(5);
            continue;
        }
        atomic_store(&c->paused, false);
        struct ds_pollfd p = {s, DS_POLLIN, 0};
        if (ds_poll(&p, 1, 20) <= 0)
            continue;
        /* read little at a time so that a fault lands after an exact message count */
        int64_t r = ds_sock_recv(s, buf + have, (1 << 20) - have);
        if (r == DS_EAGAIN)
            continue;
        if (r <= 0) {
            if (r == 0)
                atomic_fetch_add(&c->eofs, 1);
            ds_sock_close(s);
            s = DS_SOCK_INVALID;
            continue;
        }
        c->crc = crc32(c->crc, buf + have, (uInt)r);
        atomic_fetch_add(&c->bytes, (long)r);
        have += (size_t)r;
        size_t i = 0;
        while (have - i >= 2) {
            size_t len = 0, pre = 2;
            if (c->octet) {
                pre = 0;
                while (i + pre < have && buf[i + pre] >= '0' && buf[i + pre] <= '9')
                    len = len * 10 + (size_t)(buf[i + pre++] - '0');
                if (i + pre == have)
                    break;
                pre++; /* the space */
            } else {
                len = (size_t)buf[i] << 8 | buf[i + 1];
            }
            if (have - i - pre < len)
                break;
            int limit = conn == 1 ? atomic_load(&c->abort_after) : 0;
            if (limit > 0 && in_conn >= limit)
                break; /* what follows the fault point is never "read" */
            coll_record(c, buf + i + pre, len, conn);
            in_conn++;
            i += pre + len;
        }
        memmove(buf, buf + i, have - i);
        have -= i;
    }
    if (s != DS_SOCK_INVALID)
        ds_sock_close(s);
    if (l != DS_SOCK_INVALID)
        ds_sock_close(l);
    free(buf);
}

static unsigned free_port(void)
{
    struct ds_addr a;
    ds_sock l;
    ds_addr_parse("127.0.0.1", 0, &a);
    ds_sock_listen(&a, 1, &l);
    struct ds_addr b;
    ds_sock_local_addr(l, &b);
    ds_sock_close(l);
    return ds_addr_port(&b);
}

static struct coll *coll_start_framed(bool down, bool octet)
{
    struct coll *c = calloc(1, sizeof(*c));
    c->port = free_port();
    c->octet = octet;
    c->crc = crc32(0L, Z_NULL, 0);
    atomic_store(&c->down, down);
    ds_mutex_init(&c->mu);
    ds_thread_create(&c->th, coll_thread, c, "coll");
    /* A collector that is up listens before the forwarder under test can try it: its
     * first attempt must not be refused (the tests count connection failures). */
    uint64_t end = ds_time_mono_ms() + 5000 * SLACK;
    while (!down && !atomic_load(&c->listening) && ds_time_mono_ms() < end)
        ds_sleep_ms(1);
    return c;
}

static struct coll *coll_start_down(bool down) { return coll_start_framed(down, false); }

static struct coll *coll_start(void) { return coll_start_down(false); }

/* Take a collector down and wait until its listener is closed, so that a forwarder's
 * reconnection attempt is refused from then on rather than racing with the close. */
static bool coll_go_down(struct coll *c)
{
    atomic_store(&c->down, true);
    uint64_t end = ds_time_mono_ms() + 5000 * SLACK;
    while (!atomic_load(&c->is_down)) {
        if (ds_time_mono_ms() > end)
            return false;
        ds_sleep_ms(1);
    }
    return true;
}

static void coll_stop(struct coll *c)
{
    atomic_store(&c->quit, true);
    ds_thread_join(&c->th);
    ds_mutex_destroy(&c->mu);
    free(c);
}

static void wait_paused(struct coll *c)
{
    atomic_store(&c->pause, true);
    while (!atomic_load(&c->paused))
        ds_sleep_ms(1);
}

static bool wait_count(struct coll *c, int n, int ms)
{
    uint64_t end = ds_time_mono_ms() + (uint64_t)ms * SLACK;
    while (atomic_load(&c->n) < n) {
        if (ds_time_mono_ms() > end)
            return false;
        ds_sleep_ms(5);
    }
    return true;
}

/* ---- the ring, records and the manager ------------------------------------ */
struct rig {
    struct ds_ring *ring;
    struct ds_config cfg;
    struct ds_forwarder_cfg fc[3];
    struct ds_fwd *fwd;
};

static void rig_init(struct rig *g, struct coll **cs, int n, enum ds_fwd_mode mode,
                     enum ds_recovery rec, unsigned batch)
{
    memset(g, 0, sizeof(*g));
    struct ds_ring_options o = {.size = 64u << 20, .overflow = DS_OVERFLOW_DROP_NEWEST};
    char err[256];
    ds_ring_open(&o, &g->ring, err, sizeof err);
    for (int i = 0; i < n; i++) {
        struct ds_forwarder_cfg *fc = &g->fc[i];
        fc->family = 4;
        fc->host = "127.0.0.1";
        fc->port = cs[i]->port;
        fc->format = DS_FMT_PDNS;
        fc->framing = DS_FRAMING_16BIT;
        fc->recovery = -1;
        fc->tls_verify = true;
        fc->connect_timeout_ms = 1000;
        fc->write_timeout_ms = 300;
    }
    g->cfg.forwarders = g->fc;
    g->cfg.n_forwarders = (size_t)n;
    g->cfg.forwarder_recovery = rec;
    g->cfg.forwarder_mode = mode;
    g->cfg.forwarder_batch_size = batch;
    g->cfg.backoff_min_ms = 20;
    g->cfg.backoff_max_ms = 100;
}

static int rig_start(struct rig *g)
{
    struct ds_enc_ctx ctx = {"test-instance", "testhost"};
    return ds_fwd_start(&g->cfg, g->ring, &ctx, &g->fwd);
}

static void rig_stop(struct rig *g)
{
    ds_ring_shutdown(g->ring);
    ds_fwd_stop(&g->fwd);
    ds_ring_close(&g->ring);
}

/* Append n records in one batch; record seq carries client address 10.0.0.(1 + seq % 12),
 * "seq=N;" and pad bytes, then type (field 1) = 1 unless seq is a multiple of no_type
 * (such a record cannot be written as JSON).  0: every record has it. */
static void append_typed(struct rig *g, int n, size_t pad, unsigned no_type)
{
    struct ds_ring_stats st;
    ds_ring_stats(g->ring, &st);
    uint64_t seq = st.next_seq ? st.next_seq : 1;
    size_t each = pad + 64;
    uint8_t *buf = malloc(each * (size_t)n);
    struct ds_rec_in *in = calloc((size_t)n, sizeof(*in));
    for (int i = 0; i < n; i++, seq++) {
        uint8_t *b = buf + each * (size_t)i;
        size_t k = 0;
        b[k++] = 0x32; /* field 6, bytes */
        b[k++] = 4;
        b[k++] = 10;
        b[k++] = 0;
        b[k++] = 0;
        b[k++] = (uint8_t)(1 + seq % 12);
        char text[32];
        int tl = snprintf(text, sizeof text, "seq=%llu;", (unsigned long long)seq);
        size_t sl = (size_t)tl + pad;
        b[k++] = 0x1a; /* field 3, bytes */
        b[k++] = (uint8_t)(0x80 | (sl & 0x7f));
        b[k++] = (uint8_t)(sl >> 7);
        memcpy(b + k, text, (size_t)tl);
        k += (size_t)tl;
        memset(b + k, 'p', pad);
        k += pad;
        if (!no_type || seq % no_type != 0) {
            b[k++] = 0x08; /* field 1, varint: DNSQueryType */
            b[k++] = 1;
        }
        in[i] = (struct ds_rec_in){b, (uint32_t)k, DS_REC_PDNS, 0, 0xffffffffu, ds_time_now_us()};
    }
    ds_ring_append(g->ring, in, (size_t)n);
    free(in);
    free(buf);
}

static void append(struct rig *g, int n, size_t pad) { append_typed(g, n, pad, 0); }

static bool stats_has(struct rig *g, const char *needle)
{
    struct ds_buf b = {0};
    ds_fwd_stats_json(g->fwd, &b);
    ds_buf_putc(&b, 0);
    bool ok = strstr((char *)b.data, needle) != NULL;
    ds_buf_free(&b);
    return ok;
}

static bool wait_stats(struct rig *g, const char *needle, int ms)
{
    uint64_t end = ds_time_mono_ms() + (uint64_t)ms * SLACK;
    while (!stats_has(g, needle)) {
        if (ds_time_mono_ms() > end)
            return false;
        ds_sleep_ms(5);
    }
    return true;
}

/* Append one sentinel record and wait until every collector in cs received it: what
 * was sent before it on the same connection has arrived by then.  Returns its seq. */
static long settle(struct rig *g, struct coll **cs, int n)
{
    struct ds_ring_stats st;
    ds_ring_stats(g->ring, &st);
    long seq = (long)st.next_seq;
    append(g, 1, 0);
    for (int i = 0; i < n; i++) {
        uint64_t end = ds_time_mono_ms() + 5000 * SLACK;
        for (;;) {
            int k = atomic_load(&cs[i]->n);
            if (k > 0 && cs[i]->seq[k - 1] == seq)
                break;
            if (ds_time_mono_ms() > end)
                return -1;
            ds_sleep_ms(2);
        }
    }
    return seq;
}

/* Count per-connection seqs of c: how many seqs in [lo,hi] arrived on connection conn. */
static int count_range(struct coll *c, int conn, long lo, long hi)
{
    int k = 0, n = atomic_load(&c->n);
    for (int i = 0; i < n; i++)
        if ((conn == 0 || c->conn[i] == conn) && c->seq[i] >= lo && c->seq[i] <= hi)
            k++;
    return k;
}

/* The seqs c received are exactly lo..hi in order (conn 0: any connection). */
static bool exactly(struct coll *c, int conn, long lo, long hi)
{
    long want = lo;
    int n = atomic_load(&c->n);
    for (int i = 0; i < n; i++) {
        if (conn && c->conn[i] != conn)
            continue;
        if (c->seq[i] != want) {
            fprintf(stderr, "  conn %d: got seq %ld, expected %ld\n", conn, c->seq[i], want);
            return false;
        }
        want++;
    }
    if (want != hi + 1)
        fprintf(stderr, "  conn %d: ended at %ld, expected %ld\n", conn, want - 1, hi);
    return want == hi + 1;
}

/* ---- tests --------------------------------------------------------------- */
static void test_no_forwarders(void)
{
    /* the forwarder logs every attempt: keep the output to errors unless asked */
    ds_log_threshold = getenv("DS_TEST_VERBOSE") ? DS_LOG_DEBUG : DS_LOG_ERROR;
    struct ds_config cfg;
    memset(&cfg, 0, sizeof cfg);
    struct ds_fwd *f = (struct ds_fwd *)&cfg;
    ASSERT_OK(ds_fwd_start(&cfg, NULL, NULL, &f));
    ASSERT_TRUE(f == NULL);
    struct ds_buf b = {0};
    ds_fwd_stats_json(NULL, &b);
    ASSERT_EQ(b.len, strlen("{\"mode\":\"none\",\"targets\":[]}"));
    ds_buf_free(&b);
    ds_fwd_stop(&f);
}

static void test_broadcast_every_event_in_order(void)
{
    struct coll *cs[2] = {coll_start(), coll_start()};
    struct rig g;
    rig_init(&g, cs, 2, DS_FWD_BROADCAST, DS_RECOVERY_DURABLE, 64);
    ASSERT_OK(rig_start(&g));
    append(&g, 1000, 20);
    ASSERT_TRUE(wait_count(cs[0], 1000, 5000));
    ASSERT_TRUE(wait_count(cs[1], 1000, 5000));
    ASSERT_TRUE(exactly(cs[0], 1, 1, 1000));
    ASSERT_TRUE(exactly(cs[1], 1, 1, 1000));
    if (!wait_stats(&g, "\"forwarded\":1000,\"connects\":1,\"failures\":0", 2000)) {
        struct ds_buf b = {0};
        ds_fwd_stats_json(g.fwd, &b);
        ds_buf_putc(&b, 0);
        DS_FAIL_AT("stats: %s", (char *)b.data);
    }
    char want[96];
    snprintf(want, sizeof want, "\"state\":\"connected\",\"address\":\"127.0.0.1:%u\"", cs[1]->port);
    ASSERT_TRUE(stats_has(&g, want));
    ASSERT_TRUE(stats_has(&g, "{\"mode\":\"broadcast\",\"targets\":[{\"target\":\"127.0.0.1:"));
    rig_stop(&g);
    /* the stop closed both connections gracefully: the collectors saw EOF */
    ASSERT_EQ(atomic_load(&cs[0]->eofs), 1);
    ASSERT_EQ(atomic_load(&cs[1]->eofs), 1);
    ASSERT_EQ(atomic_load(&cs[0]->n), 1000);
    coll_stop(cs[0]);
    coll_stop(cs[1]);
}

/* A dead target does not delay the other one, and catches up from its own cursor. */
static void test_broadcast_dead_target_catches_up(void)
{
    struct coll *cs[2] = {coll_start(), coll_start_down(true)};
    struct rig g;
    rig_init(&g, cs, 2, DS_FWD_BROADCAST, DS_RECOVERY_DURABLE, 50);
    ASSERT_OK(rig_start(&g));
    append(&g, 300, 10);
    ASSERT_TRUE(wait_count(cs[0], 300, 5000));
    ASSERT_EQ(atomic_load(&cs[1]->n), 0);
    atomic_store(&cs[1]->down, false);
    ASSERT_TRUE(wait_count(cs[1], 300, 5000));
    append(&g, 100, 10);
    ASSERT_TRUE(wait_count(cs[0], 400, 5000));
    ASSERT_TRUE(wait_count(cs[1], 400, 5000));
    ASSERT_TRUE(exactly(cs[0], 0, 1, 400));
    ASSERT_TRUE(exactly(cs[1], 0, 1, 400));
    rig_stop(&g);
    coll_stop(cs[0]);
    coll_stop(cs[1]);
}

/* The collector reads batch 1 (10 events) and resets; the forwarder notices between
 * batches (nothing in flight).  Then 10 more events. */
static void run_detected_between(enum ds_recovery rec, long conn2_first)
{
    struct coll *cs[1] = {coll_start()};
    atomic_store(&cs[0]->abort_after, 10);
    struct rig g;
    rig_init(&g, cs, 1, DS_FWD_BROADCAST, rec, 10);
    ASSERT_OK(rig_start(&g));
    append(&g, 10, 10);
    ASSERT_TRUE(wait_count(cs[0], 10, 5000));
    ASSERT_TRUE(wait_stats(&g, "\"connects\":2", 5000));
    append(&g, 10, 10);
    ASSERT_EQ(settle(&g, cs, 1), 21);
    ASSERT_TRUE(exactly(cs[0], 1, 1, 10));
    ASSERT_TRUE(exactly(cs[0], 2, conn2_first, 21));
    rig_stop(&g);
    coll_stop(cs[0]);
}

static void test_recovery_detected_between_batches(void)
{
    run_detected_between(DS_RECOVERY_DURABLE, 1);      /* resends the previous batch */
    run_detected_between(DS_RECOVERY_BEST_EFFORT, 11); /* nothing was in flight */
    run_detected_between(DS_RECOVERY_DROP, 11);
}

/* The collector stops reading; a batch of 10 goes out (the forwarder's stats show
 * `forwarded`); the collector resets, and the forwarder connects again. */
static bool unread_then_reset(struct rig *g, struct coll *c, const char *forwarded)
{
    wait_paused(c);
    append(g, 10, 10);
    if (!wait_stats(g, forwarded, 5000))
        return false;
    atomic_store(&c->abort_now, true);
    atomic_store(&c->pause, false);
    return wait_stats(g, "\"connects\":2", 5000);
}

/* Late detection: batch 2 was written and acknowledged by the collector's TCP but never
 * read; the collector resets.  Durable resends it; the others lose it. */
static void run_late(enum ds_recovery rec, bool durable)
{
    struct coll *cs[1] = {coll_start()};
    struct rig g;
    rig_init(&g, cs, 1, DS_FWD_BROADCAST, rec, 10);
    ASSERT_OK(rig_start(&g));
    append(&g, 10, 10);
    ASSERT_TRUE(wait_count(cs[0], 10, 5000));
    ASSERT_TRUE(unread_then_reset(&g, cs[0], "\"forwarded\":20"));
    append(&g, 10, 10);
    ASSERT_EQ(settle(&g, cs, 1), 31);
    ASSERT_EQ(atomic_load(&cs[0]->n), durable ? 31 : 21);
    ASSERT_TRUE(exactly(cs[0], 1, 1, 10));
    ASSERT_TRUE(exactly(cs[0], 2, durable ? 11 : 21, 31));
    rig_stop(&g);
    coll_stop(cs[0]);
}

static void test_recovery_late_detection(void)
{
    run_late(DS_RECOVERY_DURABLE, true);
    run_late(DS_RECOVERY_BEST_EFFORT, false);
    run_late(DS_RECOVERY_DROP, false);
}

/* durable-hold: batches 1 to 3 are read, batch 4 reaches the collector but is not read,
 * then the collector resets.  Without a hold durable keeps the batches not yet fully
 * acknowledged and the one before: it resends from batch 3 or 4 (whether batch 4's
 * acknowledgement left the collector before its reset is up to its TCP's delayed ACK).
 * Holding 1 MiB of acknowledged bytes keeps all four: it resends from event 1. */
static long first_on_conn(struct coll *c, int conn)
{
    int n = atomic_load(&c->n);
    for (int i = 0; i < n; i++)
        if (c->conn[i] == conn)
            return c->seq[i];
    return -1;
}

static void run_hold(uint64_t hold, bool all)
{
    struct coll *cs[1] = {coll_start()};
    struct rig g;
    rig_init(&g, cs, 1, DS_FWD_BROADCAST, DS_RECOVERY_DURABLE, 10);
    g.fc[0].durable_hold = hold;
    ASSERT_OK(rig_start(&g));
    for (int b = 1; b <= 3; b++) {
        append(&g, 10, 10);
        ASSERT_TRUE(wait_count(cs[0], 10 * b, 5000));
    }
    ASSERT_TRUE(unread_then_reset(&g, cs[0], "\"forwarded\":40"));
    ASSERT_EQ(settle(&g, cs, 1), 41);
    ASSERT_TRUE(exactly(cs[0], 1, 1, 30));
    long first = first_on_conn(cs[0], 2);
    if (all)
        ASSERT_EQ(first, 1);
    else
        ASSERT_TRUE(first == 21 || first == 31);
    ASSERT_TRUE(exactly(cs[0], 2, first, 41));
    rig_stop(&g);
    coll_stop(cs[0]);
}

static void test_durable_hold(void)
{
    run_hold(0, false);
    run_hold(1u << 20, true);
}

/* A write fails (the collector stops reading; the write times out) with batch 2 in
 * flight: drop discards it, best-effort resends it, durable resends it and batch 1.
 * Batches of 64; batch 2 is 4.2 MB, more than the socket buffers take. */
static void run_write_fails(enum ds_recovery rec, long conn2_first)
{
    struct coll *cs[1] = {coll_start()};
    struct rig g;
    rig_init(&g, cs, 1, DS_FWD_BROADCAST, rec, 64);
    ASSERT_OK(rig_start(&g));
    append(&g, 64, 10);
    ASSERT_TRUE(wait_count(cs[0], 64, 5000));
    wait_paused(cs[0]);
    append(&g, 64, 65000);
    ASSERT_TRUE(wait_stats(&g, "\"failures\":1", 5000));
    atomic_store(&cs[0]->abort_now, true);
    atomic_store(&cs[0]->pause, false);
    ASSERT_TRUE(wait_stats(&g, "\"connects\":2", 5000));
    append(&g, 64, 10);
    ASSERT_EQ(settle(&g, cs, 1), 193);
    ASSERT_TRUE(exactly(cs[0], 1, 1, 64));
    ASSERT_TRUE(exactly(cs[0], 2, conn2_first, 193));
    if (rec == DS_RECOVERY_DROP)
        ASSERT_TRUE(stats_has(&g, "\"resent\":0,\"dropped\":64"));
    if (rec == DS_RECOVERY_BEST_EFFORT)
        ASSERT_TRUE(stats_has(&g, "\"resent\":64,\"dropped\":0"));
    if (rec == DS_RECOVERY_DURABLE && !stats_has(&g, "\"resent\":128,\"dropped\":0")) {
        struct ds_buf b = {0};
        ds_fwd_stats_json(g.fwd, &b);
        ds_buf_putc(&b, 0);
        DS_FAIL_AT("stats: %s", (char *)b.data);
    }
    rig_stop(&g);
    coll_stop(cs[0]);
}

static void test_recovery_write_failure(void)
{
    run_write_fails(DS_RECOVERY_DROP, 129);
    run_write_fails(DS_RECOVERY_BEST_EFFORT, 65);
    run_write_fails(DS_RECOVERY_DURABLE, 1);
}

static void test_stop_drains_within_budget(void)
{
    struct coll *cs[1] = {coll_start()};
    struct rig g;
    rig_init(&g, cs, 1, DS_FWD_BROADCAST, DS_RECOVERY_DURABLE, 100);
    append(&g, 5000, 100); /* queued before the forwarder starts */
    ASSERT_OK(rig_start(&g));
    ASSERT_TRUE(wait_stats(&g, "\"connects\":1", 2000));
    uint64_t t0 = ds_time_mono_ms();
    rig_stop(&g);
    ASSERT_TRUE(ds_time_mono_ms() - t0 < 5500);
    ASSERT_TRUE(wait_count(cs[0], 5000, 2000));
    ASSERT_TRUE(exactly(cs[0], 1, 1, 5000));
    ASSERT_EQ(atomic_load(&cs[0]->eofs), 1);
    coll_stop(cs[0]);
}

static void test_failover(void)
{
    struct coll *cs[2] = {coll_start(), coll_start()};
    struct rig g;
    rig_init(&g, cs, 2, DS_FWD_FAILOVER, DS_RECOVERY_DURABLE, 20);
    ASSERT_OK(rig_start(&g));
    for (int i = 0; i < 2; i++) {
        char want[64];
        snprintf(want, sizeof want, "127.0.0.1:%u\",\"state\":\"connected\"", cs[i]->port);
        ASSERT_TRUE(wait_stats(&g, want, 3000));
    }
    append(&g, 200, 10);
    ASSERT_EQ(settle(&g, cs, 1), 201);
    ASSERT_EQ(atomic_load(&cs[1]->n), 0); /* the standby got nothing */
    ASSERT_TRUE(exactly(cs[0], 1, 1, 201));
    ASSERT_TRUE(coll_go_down(cs[0]));
    ASSERT_TRUE(wait_stats(&g, "\"failures\":1", 5000));
    append(&g, 200, 10);
    ASSERT_EQ(settle(&g, cs + 1, 1), 402);
    /* durable: the last batch of the failed target (the sentinel 201) comes again,
     * then everything after it in order */
    if (!exactly(cs[1], 1, 201, 402)) {
        for (int i = 0; i < 5; i++)
            fprintf(stderr, "  cs1[%d] = %ld\n", i, cs[1]->seq[i]);
        struct ds_buf b = {0};
        ds_fwd_stats_json(g.fwd, &b);
        ds_buf_putc(&b, 0);
        fprintf(stderr, "  stats: %s\n", (char *)b.data);
        ds_buf_free(&b);
    }
    ASSERT_TRUE(exactly(cs[1], 1, 201, 402));
    /* the first target is back: it is the active one again */
    atomic_store(&cs[0]->down, false);
    ASSERT_TRUE(wait_stats(&g, "\"connects\":2", 5000));
    int before1 = atomic_load(&cs[1]->n);
    append(&g, 100, 10);
    ASSERT_EQ(settle(&g, cs, 1), 503);
    ASSERT_EQ(count_range(cs[0], 2, 403, 503), 101);
    ASSERT_EQ(atomic_load(&cs[1]->n), before1);
    rig_stop(&g);
    coll_stop(cs[0]);
    coll_stop(cs[1]);
}

static void test_roundrobin(void)
{
    struct coll *cs[3] = {coll_start(), coll_start(), coll_start()};
    struct rig g;
    rig_init(&g, cs, 3, DS_FWD_ROUNDROBIN, DS_RECOVERY_DURABLE, 10);
    ASSERT_OK(rig_start(&g));
    for (int i = 0; i < 3; i++) {
        char want[64];
        snprintf(want, sizeof want, "127.0.0.1:%u\",\"state\":\"connected\"", cs[i]->port);
        ASSERT_TRUE(wait_stats(&g, want, 3000));
    }
    append(&g, 90, 10); /* one append: the dispatcher reads 9 batches of 10 */
    for (int i = 0; i < 3; i++)
        ASSERT_TRUE(wait_count(cs[i], 30, 5000));
    /* batch k (1..9) went to target (k-1) % 3 */
    for (int k = 0; k < 9; k++)
        ASSERT_EQ(count_range(cs[k % 3], 1, k * 10 + 1, k * 10 + 10), 10);
    rig_stop(&g);
    for (int i = 0; i < 3; i++)
        coll_stop(cs[i]);
}

static void test_sharded(void)
{
    struct coll *cs[3] = {coll_start(), coll_start(), coll_start()};
    struct rig g;
    rig_init(&g, cs, 3, DS_FWD_SHARDED, DS_RECOVERY_DURABLE, 24);
    ASSERT_OK(rig_start(&g));
    for (int i = 0; i < 3; i++) {
        char want[64];
        snprintf(want, sizeof want, "127.0.0.1:%u\",\"state\":\"connected\"", cs[i]->port);
        ASSERT_TRUE(wait_stats(&g, want, 3000));
    }
    int owner[13], per[3] = {0, 0, 0};
    for (int ip = 1; ip <= 12; ip++) {
        uint8_t a[4] = {10, 0, 0, (uint8_t)ip};
        owner[ip] = (int)(crc32(crc32(0L, Z_NULL, 0), a, 4) % 3);
    }
    for (int s = 1; s <= 240; s++)
        per[owner[1 + s % 12]]++;
    append(&g, 240, 10);
    for (int i = 0; i < 3; i++)
        ASSERT_TRUE(wait_count(cs[i], per[i], 5000));
    int total = 0;
    for (int i = 0; i < 3; i++) {
        int n = atomic_load(&cs[i]->n);
        total += n;
        for (int k = 0; k < n; k++)
            ASSERT_EQ(owner[cs[i]->ip[k]], i);
    }
    ASSERT_EQ(total, 240);
    /* target 0 goes down: its share moves to the next healthy target (1).  Durable:
     * the last item target 0 wrote (its part of batch 217..240) is delivered again. */
    int n1 = atomic_load(&cs[1]->n), n2 = atomic_load(&cs[2]->n);
    int again = 0;
    for (int s = 217; s <= 240; s++)
        again += owner[1 + s % 12] == 0;
    ASSERT_TRUE(coll_go_down(cs[0]));
    ASSERT_TRUE(wait_stats(&g, "\"failures\":1", 5000));
    append(&g, 240, 10);
    ASSERT_TRUE(wait_count(cs[1], n1 + again + per[0] + per[1], 5000));
    ASSERT_TRUE(wait_count(cs[2], n2 + per[2], 5000));
    int sentinel_owner = owner[1 + 481 % 12];
    struct coll *last[1] = {cs[sentinel_owner == 0 ? 1 : sentinel_owner]};
    ASSERT_EQ(settle(&g, last, 1), 481);
    ASSERT_EQ(atomic_load(&cs[1]->n), n1 + again + per[0] + per[1] + (last[0] == cs[1]));
    ASSERT_EQ(atomic_load(&cs[2]->n), n2 + per[2] + (last[0] == cs[2]));
    for (int k = n2; k < atomic_load(&cs[2]->n); k++)
        ASSERT_EQ(owner[cs[2]->ip[k]], 2);
    /* every event reached a collector; the only duplicates are that last item */
    for (long q = 1; q <= 481; q++) {
        int seen = 0;
        for (int i = 0; i < 3; i++)
            seen += count_range(cs[i], 0, q, q);
        bool dup = q >= 217 && q <= 240 && owner[1 + q % 12] == 0;
        ASSERT_EQ(seen, dup ? 2 : 1);
    }
    rig_stop(&g);
    for (int i = 0; i < 3; i++)
        coll_stop(cs[i]);
}

/* encode-threads=3 writes exactly the bytes one thread writes, in the same order: two
 * broadcast targets, JSON in RFC 5424 with octet counting, one with three encoding threads.
 * Every 97th record has no type and is left out by both (counted as unencodable). */
static void test_encode_threads_same_bytes(void)
{
    struct coll *cs[2] = {coll_start_framed(false, true), coll_start_framed(false, true)};
    struct rig g;
    rig_init(&g, cs, 2, DS_FWD_BROADCAST, DS_RECOVERY_DURABLE, 256);
    for (int i = 0; i < 2; i++) {
        g.fc[i].format = DS_FMT_JSON;
        g.fc[i].syslog = DS_SYSLOG_RFC5424;
        g.fc[i].framing = DS_FRAMING_OCTET;
    }
    g.fc[1].encode_threads = 3;
    ASSERT_OK(rig_start(&g));
    int batches[] = {1000, 95, 96, 300, 2509}; /* whole and part batches, small and large */
    int total = 0, skipped = 0;
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        append_typed(&g, batches[b], 30, 97);
        total += batches[b];
    }
    skipped = total / 97;
    ASSERT_TRUE(wait_count(cs[0], total - skipped, 5000));
    ASSERT_TRUE(wait_count(cs[1], total - skipped, 5000));
    char want[64];
    snprintf(want, sizeof want, "\"unencodable\":%d", skipped);
    ASSERT_TRUE(wait_stats(&g, want, 2000));
    rig_stop(&g);
    long want_seq = 1;
    for (int i = 0; i < 2; i++) {
        int n = atomic_load(&cs[i]->n);
        ASSERT_EQ(n, total - skipped);
        want_seq = 1;
        for (int k = 0; k < n; k++, want_seq++) {
            if (want_seq % 97 == 0)
                want_seq++;
            ASSERT_EQ(cs[i]->seq[k], want_seq);
        }
    }
    ASSERT_EQ(atomic_load(&cs[0]->bytes), atomic_load(&cs[1]->bytes));
    ASSERT_TRUE(cs[0]->crc == cs[1]->crc);
    coll_stop(cs[0]);
    coll_stop(cs[1]);
}

DS_TEST_MAIN(DS_TEST(test_no_forwarders), DS_TEST(test_broadcast_every_event_in_order),
             DS_TEST(test_broadcast_dead_target_catches_up),
             DS_TEST(test_recovery_detected_between_batches),
             DS_TEST(test_recovery_late_detection), DS_TEST(test_durable_hold),
             DS_TEST(test_recovery_write_failure),
             DS_TEST(test_stop_drains_within_budget), DS_TEST(test_failover),
             DS_TEST(test_roundrobin), DS_TEST(test_sharded),
             DS_TEST(test_encode_threads_same_bytes))
