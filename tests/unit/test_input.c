/* test_input.c - the PowerDNS protobuf input over real loopback sockets: frames from
 * several connections reach the ring whole and in per-connection order; a garbled
 * frame or an over-long length closes only its own connection, with exact counters;
 * 32-bit framing; IPv6; max-connections; stop reads what senders already sent. */
#include <stdio.h>
#include <stdlib.h>

#include "ds_config.h"
#include "ds_input.h"
#include "ds_plat.h"
#include "ds_ring.h"
#include "ds_fixture.h"
#include "ds_test.h"

struct env {
    struct ds_config cfg;
    struct ds_ring *ring;
    struct ds_inputs *in;
    int cursor;
    struct ds_addr addr;
};

static int env_start(struct env *e, const char *conf)
{
    char err[512];
    memset(e, 0, sizeof(*e));
    if (ds_config_load_string("test.conf", conf, &e->cfg, err, sizeof(err)) != DS_OK) {
        fprintf(stderr, "config: %s\n", err);
        return -1;
    }
    struct ds_ring_options ro = {.size = 1 << 20};
    if (ds_ring_open(&ro, &e->ring, err, sizeof(err)) != DS_OK)
        return -1;
    e->cursor = ds_ring_cursor_open(e->ring, "test");
    if (ds_inputs_start(&e->cfg, e->ring, &e->in, err, sizeof(err)) != DS_OK) {
        fprintf(stderr, "inputs: %s\n", err);
        return -1;
    }
    /* The bound address is "addr:port" or "[v6]:port". */
    const char *b = ds_inputs_bound(e->in, 0);
    const char *colon = strrchr(b, ':');
    char host[64];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - b), b);
    return ds_addr_parse(host, (unsigned)atoi(colon + 1), &e->addr);
}

static void env_stop(struct env *e)
{
    ds_inputs_stop(&e->in, NULL);
    ds_ring_close(&e->ring);
    ds_config_free(&e->cfg);
}

static ds_sock connect_to(struct env *e)
{
    ds_sock s = DS_SOCK_INVALID;
    ds_sock_connect(&e->addr, 2000, &s);
    return s;
}

static void send_all(ds_sock s, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        int64_t w = ds_sock_send(s, b, n);
        if (w <= 0)
            return;
        b += w;
        n -= (size_t)w;
    }
}

/* Wait (bounded) until the input's counters satisfy a condition. */
static bool wait_totals(struct env *e, uint64_t frames, uint64_t bad, uint64_t open)
{
    uint64_t deadline = ds_time_mono_ms() + 5000;
    struct ds_input_totals t;
    do {
        ds_inputs_totals(e->in, &t);
        if (t.frames == frames && t.bad_frames == bad && t.conns_open == open)
            return true;
        ds_sleep_ms(2);
    } while (ds_time_mono_ms() < deadline);
    fprintf(stderr, "  totals: frames %llu bad %llu open %llu\n", (unsigned long long)t.frames,
            (unsigned long long)t.bad_frames, (unsigned long long)t.conns_open);
    return false;
}

/* Read n records; they must equal the given frames in order. */
static int read_expect(struct env *e, const struct ds_fixture *f, size_t first, size_t n)
{
    struct ds_rec recs[64];
    size_t got = 0;
    while (got < n) {
        int k = ds_ring_read(e->ring, e->cursor, recs, 64, 1 << 20, 2000);
        if (k <= 0)
            return -1;
        for (int i = 0; i < k; i++, got++) {
            size_t k2 = (first + got) % f->n, off = f->off[k2], len = f->flen[k2];
            if (recs[i].len != len || memcmp(recs[i].data, f->data + off, len) != 0 ||
                recs[i].kind != DS_REC_PDNS)
                return -2;
        }
        ds_ring_release(e->ring, e->cursor, recs[k - 1].seq);
    }
    return 0;
}

static void test_frames_arrive_whole_and_in_order(void)
{
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("dnsdist-1.7.3.lp16", &f));
    ASSERT_EQ(f.n, 22);
    struct env e;
    ASSERT_OK(env_start(&e, "input pdns 127.0.0.1 0\noutput stdout\n"));
    ds_sock s = connect_to(&e);
    ASSERT_TRUE(s != DS_SOCK_INVALID);
    /* Byte by byte for the first frame, then the rest in one go: framing across reads. */
    size_t first_len = f.off[1] - 2;
    for (size_t i = 0; i < first_len; i++)
        send_all(s, f.data + i, 1);
    send_all(s, f.data + first_len, f.len - first_len);
    ASSERT_TRUE(wait_totals(&e, 22, 0, 1));
    ASSERT_OK(read_expect(&e, &f, 0, 22));
    ds_sock_close(s);
    ASSERT_TRUE(wait_totals(&e, 22, 0, 0));
    struct ds_input_totals t;
    ds_inputs_totals(e.in, &t);
    ASSERT_U64_EQ(t.lost, 0);
    ASSERT_U64_EQ(t.conns_accepted, 1);
    env_stop(&e);
    free(f.data);
}

static void test_garbled_frame_closes_only_its_connection(void)
{
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("pdns-recursor-4.8.8.lp16", &f));
    ASSERT_EQ(f.n, 24);
    struct env e;
    ASSERT_OK(env_start(&e, "input pdns 127.0.0.1 0\noutput stdout\n"));
    ds_sock good = connect_to(&e), bad = connect_to(&e);
    send_all(good, f.data, f.off[10] - 2); /* 10 frames */
    ASSERT_TRUE(wait_totals(&e, 10, 0, 2));
    /* 3 valid frames, then a frame whose body is not protobuf (wire type 7). */
    send_all(bad, f.data, f.off[3] - 2);
    static const uint8_t garbage[] = {0x00, 0x04, 0x0f, 0xff, 0xff, 0xff};
    send_all(bad, garbage, sizeof(garbage));
    ASSERT_TRUE(wait_totals(&e, 13, 1, 1));
    /* The good connection goes on. */
    send_all(good, f.data + f.off[10] - 2, f.len - (f.off[10] - 2));
    ASSERT_TRUE(wait_totals(&e, 27, 1, 1));
    struct ds_input_totals t;
    ds_inputs_totals(e.in, &t);
    ASSERT_U64_EQ(t.lost, 1);
    /* An over-long length (16-bit framing, max-frame 100) also closes the connection. */
    env_stop(&e);
    ds_sock_close(good);
    ds_sock_close(bad);
    ASSERT_OK(env_start(&e, "input pdns 127.0.0.1 0 max-frame=100\noutput stdout\n"));
    ds_sock s = connect_to(&e);
    static const uint8_t too_long[] = {0x01, 0x00, 0x08, 0x01};
    send_all(s, too_long, sizeof(too_long));
    ASSERT_TRUE(wait_totals(&e, 0, 1, 0));
    ds_sock_close(s);
    env_stop(&e);
    free(f.data);
}

static void test_32bit_framing_and_ipv6(void)
{
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("dnsdist-1.7.3.lp16", &f));
    struct env e;
    ASSERT_OK(env_start(&e, "input pdns ::1 0 framing=32bit\noutput stdout\n"));
    ds_sock s = connect_to(&e);
    ASSERT_TRUE(s != DS_SOCK_INVALID);
    for (size_t i = 0; i < f.n; i++) {
        uint8_t hdr[4] = {0, 0, (uint8_t)(f.flen[i] >> 8), (uint8_t)f.flen[i]};
        send_all(s, hdr, 4);
        send_all(s, f.data + f.off[i], f.flen[i]);
    }
    ASSERT_TRUE(wait_totals(&e, 22, 0, 1));
    ASSERT_OK(read_expect(&e, &f, 0, 22));
    ds_sock_close(s);
    env_stop(&e);
    free(f.data);
}

static void test_max_connections(void)
{
    struct env e;
    ASSERT_OK(env_start(&e, "input pdns 127.0.0.1 0 max-connections=2\noutput stdout\n"));
    ds_sock a = connect_to(&e), b = connect_to(&e);
    ASSERT_TRUE(wait_totals(&e, 0, 0, 2));
    ds_sock c = connect_to(&e);
    uint64_t deadline = ds_time_mono_ms() + 5000;
    struct ds_input_totals t;
    do {
        ds_inputs_totals(e.in, &t);
        if (t.conns_refused == 1)
            break;
        ds_sleep_ms(2);
    } while (ds_time_mono_ms() < deadline);
    ASSERT_U64_EQ(t.conns_refused, 1);
    ASSERT_U64_EQ(t.conns_open, 2);
    /* The refused connection sees end of stream. */
    uint8_t buf[8];
    ds_sock_set_timeouts(c, 2000, 2000);
    ASSERT_EQ(ds_sock_recv(c, buf, sizeof(buf)), 0);
    ds_sock_close(a);
    ds_sock_close(b);
    ds_sock_close(c);
    env_stop(&e);
}

static void test_stop_reads_what_was_sent(void)
{
    struct ds_fixture f;
    ASSERT_OK(ds_fixture_load("pdns-recursor-4.8.8.lp16", &f));
    struct env e;
    ASSERT_OK(env_start(&e, "input pdns 127.0.0.1 0\noutput stdout\n"));
    ds_sock s = connect_to(&e);
    ASSERT_TRUE(wait_totals(&e, 0, 0, 1));
    /* Send many copies and stop at once: every complete frame the kernel holds for us
     * must be appended before the input stops. */
    for (int i = 0; i < 200; i++)
        send_all(s, f.data, f.len);
    ds_inputs_stop(&e.in, NULL);
    struct ds_ring_stats rs;
    ds_ring_stats(e.ring, &rs);
    ASSERT_U64_EQ(rs.received, 200 * 24);
    ds_sock_close(s);
    ds_ring_close(&e.ring);
    ds_config_free(&e.cfg);
    free(f.data);
}

DS_TEST_MAIN(DS_TEST(test_frames_arrive_whole_and_in_order),
             DS_TEST(test_garbled_frame_closes_only_its_connection),
             DS_TEST(test_32bit_framing_and_ipv6), DS_TEST(test_max_connections),
             DS_TEST(test_stop_reads_what_was_sent))
