/* test_ring.c - the in-memory ring: order across wrap-around, many cursors, each
 * overflow rule, exact counters, rewind, shutdown and concurrent producers/consumers. */
#include <stdatomic.h>
#include <stdlib.h>

#include "ds_plat.h"
#include "ds_qfile.h"
#include "ds_ring.h"
#include "ds_test.h"
#include "ring_payload.h"

static struct ds_ring *mk(uint64_t size, enum ds_overflow ov)
{
    struct ds_ring_options o = {size, ov, NULL, 0};
    struct ds_ring *r = NULL;
    char err[256];
    if (ds_ring_open(&o, &r, err, sizeof(err)) != DS_OK) {
        fprintf(stderr, "ds_ring_open: %s\n", err);
        return NULL;
    }
    return r;
}

/* Read everything available for cursor id (no wait), checking ids first..; releases
 * as it goes when rel is set.  Returns the number read; *next is the id expected next. */
static int drain(struct ds_ring *r, int id, uint64_t *next, bool rel, int max_batch)
{
    struct ds_rec recs[64];
    int total = 0;
    for (;;) {
        int n = ds_ring_read(r, id, recs, max_batch, 1 << 20, 0);
        if (n <= 0)
            return n < 0 && n != DS_ECLOSED ? n : total;
        for (int i = 0; i < n; i++) {
            if (recs[i].seq != *next || !pay_ok(&recs[i], *next)) {
                fprintf(stderr, "  cursor %d: got seq %llu, expected %llu\n", id,
                        (unsigned long long)recs[i].seq, (unsigned long long)*next);
                return -1000;
            }
            (*next)++;
        }
        total += n;
        if (rel)
            ds_ring_release(r, id, recs[n - 1].seq);
    }
}

static void test_fields_and_order(void)
{
    struct ds_ring *r = mk(65536, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    int c = ds_ring_cursor_open(r, "file:/x");
    ASSERT_EQ(c, 0);
    ASSERT_EQ(ds_ring_cursor_open(r, "file:/x"), DS_EINVAL); /* names are unique */
    ASSERT_EQ(pay_put(r, 1, 10), 10);
    struct ds_rec recs[16];
    int n = ds_ring_read(r, c, recs, 16, 1 << 20, 0);
    ASSERT_EQ(n, 10);
    for (int i = 0; i < n; i++) {
        uint64_t id = (uint64_t)i + 1;
        ASSERT_U64_EQ(recs[i].seq, id);
        ASSERT_TRUE(pay_ok(&recs[i], id));
        ASSERT_EQ(recs[i].kind, DS_REC_PDNS);
        ASSERT_EQ(recs[i].input_id, id % 7);
        ASSERT_U64_EQ(recs[i].route_mask, (uint32_t)id ^ 0x5a5a5a5au);
        ASSERT_U64_EQ(recs[i].time_us, 1000000u + id);
        /* readable after the payload: its padding and the next record's header and bytes
         * (the buffer's end is far); after the batch's last record only its padding */
        uint32_t pad = (uint32_t)(ds_qf_rec_size(recs[i].len) - DS_QF_REC_HDR - recs[i].len);
        const uint8_t *batch_end = recs[n - 1].data + ds_qf_rec_size(recs[n - 1].len) -
                                   DS_QF_REC_HDR;
        uint64_t to_end = (uint64_t)(batch_end - (recs[i].data + recs[i].len));
        ASSERT_U64_EQ(recs[i].after, to_end < 64 ? to_end : 64);
        if (i == n - 1)
            ASSERT_EQ(recs[i].after, pad);
    }
    ASSERT_EQ(ds_ring_read(r, c, recs, 16, 1 << 20, 0), 0);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.received, 10);
    ASSERT_U64_EQ(st.records, 10);
    ASSERT_U64_EQ(st.next_seq, 11);
    ASSERT_U64_EQ(st.capacity, 65536);
    uint64_t bytes = 0;
    for (uint64_t id = 1; id <= 10; id++)
        bytes += ds_qf_rec_size(pay_len(id));
    ASSERT_U64_EQ(st.bytes_used, bytes);
    ds_ring_release(r, c, 4);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.records, 6);
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(r, c, &cs);
    ASSERT_STR_EQ(cs.name, "file:/x");
    ASSERT_U64_EQ(cs.read_seq, 10);
    ASSERT_U64_EQ(cs.released, 4);
    ASSERT_U64_EQ(cs.lag, 0);
    ASSERT_EQ(ds_ring_cursor_count(r), 1);
    ds_ring_close(&r);
    ASSERT_TRUE(r == NULL);
}

/* What a consumer may read after a record (ds_rec.after) ends with the batch: records
 * after it are not held and may change.  Payloads of 10, 9 and 8 bytes (ids 118 to 120)
 * put the batch's end within 64 bytes of the first two. */
static void test_after_stops_at_batch_end(void)
{
    struct ds_ring *r = mk(65536, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    int c = ds_ring_cursor_open(r, "file:/x");
    ASSERT_EQ(pay_put(r, 118, 5), 5);
    struct ds_rec recs[4];
    ASSERT_EQ(ds_ring_read(r, c, recs, 3, 1 << 20, 0), 3);
    /* records of 32 + 16 (10 and 9 bytes and their padding) and 32 + 8 bytes */
    ASSERT_EQ(recs[0].len, 10);
    ASSERT_EQ(recs[1].len, 9);
    ASSERT_EQ(recs[2].len, 8);
    ASSERT_EQ(recs[2].after, 0);          /* no padding, and the batch ends */
    ASSERT_EQ(recs[1].after, 7 + 32 + 8); /* its padding and the last record */
    ASSERT_EQ(recs[0].after, 64);         /* 6 + 32 + 9 + 47 = 94, cut to 64 */
    ASSERT_EQ(ds_ring_read(r, c, recs, 4, 1 << 20, 0), 2); /* the rest: 121, 122 */
    ASSERT_EQ(recs[1].after, (uint32_t)(ds_qf_rec_size(recs[1].len) - 32 - recs[1].len));
    ds_ring_close(&r);
}

static void test_wraparound_order(void)
{
    /* 4 KiB ring, records of 40..160 bytes, released in uneven batches: ~40 laps. */
    struct ds_ring *r = mk(4096, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    int c = ds_ring_cursor_open(r, "c");
    uint64_t next_id = 1, expect = 1, attempted = 0;
    for (int round = 0; round < 2000; round++) {
        size_t want = 1 + (size_t)(round % 9);
        attempted += want;
        size_t got = pay_put(r, next_id, want);
        next_id += got;
        int max_batch = 1 + round % 5;
        struct ds_rec recs[8];
        int n = ds_ring_read(r, c, recs, max_batch, 1 << 20, 0);
        ASSERT_TRUE(n >= 0);
        for (int i = 0; i < n; i++) {
            ASSERT_U64_EQ(recs[i].seq, expect);
            ASSERT_TRUE(pay_ok(&recs[i], expect));
            expect++;
        }
        if (n > 0 && round % 3 != 0)
            ds_ring_release(r, c, recs[n - 1].seq);
        else if (n > 0)
            ds_ring_release(r, c, recs[0].seq); /* partial release, rest stays held */
    }
    ASSERT_TRUE(drain(r, c, &expect, true, 8) >= 0);
    ASSERT_U64_EQ(expect, next_id);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.received, next_id - 1);
    ASSERT_U64_EQ(st.received + st.dropped, attempted);
    ASSERT_TRUE(st.received > 3000); /* many laps of a 4 KiB ring */
    ASSERT_U64_EQ(st.records, 0);
    ds_ring_close(&r);
}

static void test_many_cursors(void)
{
    /* 16 cursors reading at different paces: each sees every record once, in order. */
    struct ds_ring *r = mk(1 << 20, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    enum { NC = 16 };
    int ids[NC];
    uint64_t next[NC];
    for (int i = 0; i < NC; i++) {
        char name[32];
        snprintf(name, sizeof(name), "forwarder:t%d", i);
        ids[i] = ds_ring_cursor_open(r, name);
        ASSERT_EQ(ids[i], i);
        next[i] = 1;
    }
    uint64_t id = 1;
    for (int round = 0; round < 300; round++) {
        ASSERT_EQ(pay_put(r, id, 50), 50);
        id += 50;
        for (int i = 0; i < NC; i++) {
            if (round % (i + 1) != 0)
                continue; /* cursor i reads every (i+1)th round */
            ASSERT_TRUE(drain(r, ids[i], &next[i], true, 1 + i * 4) >= 0);
        }
    }
    for (int i = 0; i < NC; i++) {
        ASSERT_TRUE(drain(r, ids[i], &next[i], true, 64) >= 0);
        ASSERT_U64_EQ(next[i], id);
        struct ds_cursor_stats cs;
        ds_ring_cursor_stats(r, ids[i], &cs);
        ASSERT_U64_EQ(cs.released, id - 1);
        ASSERT_U64_EQ(cs.skipped, 0);
    }
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 0);
    ASSERT_U64_EQ(st.records, 0);
    ASSERT_U64_EQ(st.bytes_used, 0);
    ds_ring_close(&r);
}

/* Records of 64 bytes each (32 header + 32 payload) make the arithmetic exact. */
static size_t put_fixed(struct ds_ring *r, uint64_t first, size_t n)
{
    struct ds_rec_in in[256];
    uint8_t buf[256][32];
    for (size_t i = 0; i < n; i++) {
        uint64_t id = first + i;
        memset(buf[i], 0, 32);
        memcpy(buf[i], &id, 8);
        in[i] = (struct ds_rec_in){buf[i], 32, DS_REC_PDNS, 0, 1, 0};
    }
    return ds_ring_append(r, in, n);
}

static uint64_t id_of(const struct ds_rec *rec)
{
    uint64_t id;
    memcpy(&id, rec->data, 8);
    return id;
}

static void test_overflow_drop_newest(void)
{
    struct ds_ring *r = mk(4096, DS_OVERFLOW_DROP_NEWEST); /* 64 records of 64 bytes */
    ASSERT_TRUE(r != NULL);
    int c = ds_ring_cursor_open(r, "slow");
    ASSERT_EQ(put_fixed(r, 1, 60), 60);
    ASSERT_EQ(put_fixed(r, 61, 10), 4); /* 4 fit, 6 refused */
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.received, 64);
    ASSERT_U64_EQ(st.dropped, 6);
    ASSERT_U64_EQ(st.records, 64);
    ASSERT_U64_EQ(st.bytes_used, 4096);
    ASSERT_EQ(put_fixed(r, 100, 1), 0);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 7);
    /* The oldest are kept: the cursor reads 1..64 in order. */
    struct ds_rec recs[64];
    ASSERT_EQ(ds_ring_read(r, c, recs, 10, 1 << 20, 0), 10);
    ASSERT_U64_EQ(id_of(&recs[0]), 1);
    ASSERT_U64_EQ(id_of(&recs[9]), 10);
    ds_ring_release(r, c, recs[9].seq);
    /* Room for 10 more now. */
    ASSERT_EQ(put_fixed(r, 200, 12), 10);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 9);
    ASSERT_U64_EQ(st.received, 74);
    int n = ds_ring_read(r, c, recs, 54, 1 << 20, 0);
    ASSERT_EQ(n, 54);
    ASSERT_U64_EQ(id_of(&recs[53]), 64);
    ds_ring_release(r, c, recs[n - 1].seq);
    n = ds_ring_read(r, c, recs, 64, 1 << 20, 0);
    ASSERT_EQ(n, 10);
    ASSERT_U64_EQ(id_of(&recs[0]), 200);
    ASSERT_U64_EQ(recs[0].seq, 65); /* refused records use no seq */
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(r, c, &cs);
    ASSERT_U64_EQ(cs.skipped, 0);
    ds_ring_close(&r);
}

static void test_overflow_drop_oldest(void)
{
    struct ds_ring *r = mk(4096, DS_OVERFLOW_DROP_OLDEST);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "a");
    int b = ds_ring_cursor_open(r, "b");
    ASSERT_EQ(put_fixed(r, 1, 64), 64);
    /* b is caught up, a is behind: 20 more push out the 20 oldest for a. */
    struct ds_rec recs[64];
    int n = ds_ring_read(r, b, recs, 64, 1 << 20, 0);
    ASSERT_EQ(n, 64);
    ds_ring_release(r, b, recs[63].seq);
    ASSERT_EQ(put_fixed(r, 65, 20), 20);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.received, 84);
    ASSERT_U64_EQ(st.dropped, 20);
    ASSERT_U64_EQ(st.records, 64);
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(r, a, &cs);
    ASSERT_U64_EQ(cs.skipped, 20);
    ASSERT_U64_EQ(cs.lag, 64);
    ds_ring_cursor_stats(r, b, &cs);
    ASSERT_U64_EQ(cs.skipped, 0);
    ASSERT_U64_EQ(cs.lag, 20);
    n = ds_ring_read(r, a, recs, 64, 1 << 20, 0);
    ASSERT_EQ(n, 64);
    ASSERT_U64_EQ(id_of(&recs[0]), 21);
    ASSERT_U64_EQ(recs[0].seq, 21);
    ASSERT_U64_EQ(id_of(&recs[63]), 84);
    /* a now holds all 64 (read, not released): drop-oldest must not reclaim them. */
    ASSERT_EQ(put_fixed(r, 85, 5), 0);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 25);
    ASSERT_U64_EQ(st.records, 64);
    ds_ring_cursor_stats(r, a, &cs);
    ASSERT_U64_EQ(cs.skipped, 20);
    /* Releasing 21..52 frees 32 places; the 33rd new record meets a held head. */
    ds_ring_release(r, a, recs[31].seq);
    ASSERT_EQ(put_fixed(r, 90, 40), 32);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 33);
    ASSERT_U64_EQ(st.received, 116);
    ds_ring_close(&r);
}

static void test_overflow_held_blocks_oldest(void)
{
    /* Exactly: a holds the 32 oldest, the other 32 are unread by a; b caught up. */
    struct ds_ring *r = mk(4096, DS_OVERFLOW_DROP_OLDEST);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "a");
    ASSERT_EQ(put_fixed(r, 1, 64), 64);
    struct ds_rec recs[64];
    ASSERT_EQ(ds_ring_read(r, a, recs, 32, 1 << 20, 0), 32);
    /* The head record is held: nothing can be reclaimed, new records are refused. */
    ASSERT_EQ(put_fixed(r, 65, 3), 0);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 3);
    ds_ring_release(r, a, 16);
    /* 16 free by release; 4 more displace the 4 oldest unheld?  No: the head (17) is
     * still held, so only the 16 free slots are used. */
    ASSERT_EQ(put_fixed(r, 68, 20), 16);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 7);
    ASSERT_U64_EQ(st.received, 80);
    /* a rewinds (gives back what it held): now drop-oldest may push them out. */
    ds_ring_rewind(r, a, 17);
    ASSERT_EQ(put_fixed(r, 88, 4), 4);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 11);
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(r, a, &cs);
    ASSERT_U64_EQ(cs.skipped, 4);
    int n = ds_ring_read(r, a, recs, 64, 1 << 20, 0);
    ASSERT_EQ(n, 64);
    ASSERT_U64_EQ(recs[0].seq, 21);
    ASSERT_U64_EQ(recs[63].seq, 84);
    ds_ring_close(&r);
}

static void test_overflow_disconnected_first(void)
{
    /* drop-newest: a disconnected destination's backlog is released before anything
     * is refused; a connected one behind makes the rule apply. */
    struct ds_ring *r = mk(4096, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    int live = ds_ring_cursor_open(r, "live");
    int dead = ds_ring_cursor_open(r, "dead");
    ds_ring_cursor_set_connected(r, dead, false);
    struct ds_rec recs[64];
    uint64_t id = 1;
    for (int round = 0; round < 10; round++) {
        ASSERT_EQ(put_fixed(r, id, 40), 40);
        id += 40;
        int n = ds_ring_read(r, live, recs, 64, 1 << 20, 0);
        ASSERT_EQ(n, 40);
        ds_ring_release(r, live, recs[n - 1].seq);
    }
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.received, 400);
    ASSERT_U64_EQ(st.dropped, 0);
    ASSERT_U64_EQ(st.records, 64);
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(r, dead, &cs);
    ASSERT_U64_EQ(cs.skipped, 336);
    ASSERT_U64_EQ(cs.released, 336);
    ASSERT_U64_EQ(cs.lag, 64);
    ASSERT_TRUE(!cs.connected);
    ds_ring_cursor_stats(r, live, &cs);
    ASSERT_U64_EQ(cs.skipped, 0);
    /* The dead one comes back: it gets the newest 64, in order. */
    ds_ring_cursor_set_connected(r, dead, true);
    int n = ds_ring_read(r, dead, recs, 64, 1 << 20, 0);
    ASSERT_EQ(n, 64);
    ASSERT_U64_EQ(recs[0].seq, 337);
    ASSERT_U64_EQ(recs[63].seq, 400);
    ASSERT_U64_EQ(id_of(&recs[63]), 400);
    /* Now the connected one is behind (dead holds nothing after release): refuse. */
    ds_ring_release(r, dead, 400);
    ASSERT_EQ(put_fixed(r, id, 64), 64);
    id += 64;
    ASSERT_EQ(put_fixed(r, id, 5), 0);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 5);
    ds_ring_close(&r);
}

static void test_rewind(void)
{
    struct ds_ring *r = mk(65536, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    int c = ds_ring_cursor_open(r, "c");
    ASSERT_EQ(pay_put(r, 1, 30), 30);
    struct ds_rec recs[32];
    ASSERT_EQ(ds_ring_read(r, c, recs, 10, 1 << 20, 0), 10);
    ASSERT_EQ(ds_ring_read(r, c, recs, 10, 1 << 20, 0), 10);
    ds_ring_release(r, c, 5);
    ds_ring_rewind(r, c, 3); /* 1..5 are gone: back to 6 */
    int n = ds_ring_read(r, c, recs, 32, 1 << 20, 0);
    ASSERT_EQ(n, 25);
    ASSERT_U64_EQ(recs[0].seq, 6);
    ASSERT_TRUE(pay_ok(&recs[0], 6));
    ds_ring_rewind(r, c, 12);
    n = ds_ring_read(r, c, recs, 32, 1 << 20, 0);
    ASSERT_EQ(n, 19);
    ASSERT_U64_EQ(recs[0].seq, 12);
    ds_ring_rewind(r, c, 1000); /* nothing to rewind to: no change */
    ASSERT_EQ(ds_ring_read(r, c, recs, 32, 1 << 20, 0), 0);
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(r, c, &cs);
    ASSERT_U64_EQ(cs.read_seq, 30);
    ASSERT_U64_EQ(cs.released, 5);
    ds_ring_close(&r);
}

static void test_max_bytes_and_limits(void)
{
    struct ds_ring *r = mk(4096, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    int c = ds_ring_cursor_open(r, "c");
    ASSERT_EQ(put_fixed(r, 1, 10), 10);
    struct ds_rec recs[16];
    ASSERT_EQ(ds_ring_read(r, c, recs, 16, 100, 0), 3);  /* 32+32+32 <= 100, +32 > 100 */
    ASSERT_EQ(ds_ring_read(r, c, recs, 16, 0, 0), 1);    /* at least one */
    ASSERT_EQ(ds_ring_read(r, c, recs, 0, 0, 0), DS_EINVAL);
    ASSERT_EQ(ds_ring_read(r, 7, recs, 1, 0, 0), DS_EINVAL);
    /* Too large for the ring, and not a known kind: refused and counted. */
    static uint8_t big[5000];
    struct ds_rec_in in[2] = {{big, sizeof(big), DS_REC_PDNS, 0, 1, 0},
                              {big, 8, DS_REC_PDNS, 0, 1, 0}};
    ASSERT_EQ(ds_ring_append(r, in, 2), 0);
    struct ds_rec_in bad = {big, 8, 0, 0, 1, 0};
    ASSERT_EQ(ds_ring_append(r, &bad, 1), 0);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 3);
    ASSERT_U64_EQ(st.received, 10);
    /* A record that fills the ring exactly fits once the ring is empty. */
    int n = ds_ring_read(r, c, recs, 16, 1 << 20, 0);
    ASSERT_EQ(n, 6);
    ds_ring_release(r, c, recs[n - 1].seq);
    struct ds_rec_in whole = {big, 4096 - 32, DS_REC_METRICS, 0xffff, 1, 0};
    ASSERT_EQ(ds_ring_append(r, &whole, 1), 1);
    n = ds_ring_read(r, c, recs, 16, 1 << 20, 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(recs[0].kind, DS_REC_METRICS);
    ASSERT_EQ(recs[0].len, 4096 - 32);
    ds_ring_close(&r);
    struct ds_ring_options o = {100, DS_OVERFLOW_DROP_NEWEST, NULL, 0};
    char err[128];
    ASSERT_EQ(ds_ring_open(&o, &r, err, sizeof(err)), DS_EINVAL);
    ASSERT_TRUE(strstr(err, "queue-size") != NULL);
}

static void test_no_cursor_keeps_then_drops(void)
{
    /* With no destination open, records wait; when full, the oldest go (counted). */
    struct ds_ring *r = mk(4096, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    ASSERT_EQ(put_fixed(r, 1, 70), 70);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 6);
    ASSERT_U64_EQ(st.records, 64);
    int c = ds_ring_cursor_open(r, "late");
    struct ds_rec recs[64];
    ASSERT_EQ(ds_ring_read(r, c, recs, 64, 1 << 20, 0), 64);
    ASSERT_U64_EQ(id_of(&recs[0]), 7);
    ds_ring_close(&r);
}

struct shut_arg {
    struct ds_ring *r;
    int c;
    atomic_int result;
    atomic_int got;
};

static void shut_reader(void *p)
{
    struct shut_arg *a = p;
    struct ds_rec recs[8];
    for (;;) {
        int n = ds_ring_read(a->r, a->c, recs, 8, 1 << 20, -1);
        if (n < 0) {
            atomic_store(&a->result, n);
            return;
        }
        atomic_fetch_add(&a->got, n);
        ds_ring_release(a->r, a->c, recs[n - 1].seq);
    }
}

static void test_shutdown(void)
{
    struct ds_ring *r = mk(65536, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    struct shut_arg a = {r, ds_ring_cursor_open(r, "c"), 1, 0};
    struct ds_thread t;
    ASSERT_OK(ds_thread_create(&t, shut_reader, &a, "t-reader"));
    ASSERT_EQ(pay_put(r, 1, 100), 100);
    ds_ring_shutdown(r);
    ds_thread_join(&t);
    ASSERT_EQ(atomic_load(&a.result), DS_ECLOSED);
    ASSERT_EQ(atomic_load(&a.got), 100); /* drained before it was told */
    /* A timed read with nothing to read returns 0 after roughly its timeout. */
    struct ds_ring *r2 = mk(65536, DS_OVERFLOW_DROP_NEWEST);
    int c2 = ds_ring_cursor_open(r2, "c");
    struct ds_rec rec;
    uint64_t t0 = ds_time_mono_ms();
    ASSERT_EQ(ds_ring_read(r2, c2, &rec, 1, 0, 50), 0);
    uint64_t took = ds_time_mono_ms() - t0;
    ASSERT_TRUE(took >= 45 && took < 5000);
    ds_ring_close(&r2);
    ds_ring_close(&r);
}

/* ---- concurrency: 2 producers, 3 consumers ---- */

enum { PROD = 2, CONS = 3, PER_PROD = 200000, BATCH = 256 };

struct mt {
    struct ds_ring *r;
    int cursors[CONS];
    atomic_int bad;
    uint64_t counts[CONS][PROD];
    uint64_t total_ns;
};

struct prod_arg {
    struct mt *m;
    int p;
};

static void producer(void *arg)
{
    struct prod_arg *pa = arg;
    struct ds_rec_in in[BATCH];
    uint8_t buf[BATCH][16];
    uint64_t k = 0;
    while (k < PER_PROD) {
        size_t n = PER_PROD - k < BATCH ? PER_PROD - k : BATCH;
        for (size_t i = 0; i < n; i++) {
            uint64_t v = ((uint64_t)pa->p << 56) | (k + i);
            memcpy(buf[i], &v, 8);
            memcpy(buf[i] + 8, &v, 8);
            in[i] = (struct ds_rec_in){buf[i], 16, DS_REC_PDNS, (uint16_t)pa->p, 1, 0};
        }
        size_t got = ds_ring_append(pa->m->r, in, n);
        k += got;
        if (got < n)
            ds_sleep_ms(1); /* full: the consumers need a moment (no correctness role) */
    }
}

struct cons_arg {
    struct mt *m;
    int ci;
};

static void consumer(void *arg)
{
    struct cons_arg *ca = arg;
    struct mt *m = ca->m;
    struct ds_rec recs[BATCH];
    uint64_t next[PROD] = {0};
    uint64_t last_seq = 0;
    for (;;) {
        int n = ds_ring_read(m->r, m->cursors[ca->ci], recs, BATCH, 1 << 20, -1);
        if (n == DS_ECLOSED)
            break;
        for (int i = 0; i < n; i++) {
            uint64_t v;
            memcpy(&v, recs[i].data, 8);
            int p = (int)(v >> 56);
            uint64_t k = v & ((1ull << 56) - 1);
            if (p >= PROD || k != next[p] || recs[i].seq != last_seq + 1 ||
                memcmp(recs[i].data, recs[i].data + 8, 8) != 0)
                atomic_fetch_add(&m->bad, 1);
            next[p] = k + 1;
            last_seq = recs[i].seq;
        }
        ds_ring_release(m->r, m->cursors[ca->ci], recs[n - 1].seq);
    }
    for (int p = 0; p < PROD; p++)
        m->counts[ca->ci][p] = next[p];
}

static void test_concurrent(void)
{
    static struct mt m;
    memset(&m, 0, sizeof(m));
    m.r = mk(1 << 20, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(m.r != NULL);
    for (int i = 0; i < CONS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        m.cursors[i] = ds_ring_cursor_open(m.r, name);
    }
    struct ds_thread pt[PROD], ct[CONS];
    struct prod_arg pa[PROD];
    struct cons_arg ca[CONS];
    uint64_t t0 = ds_time_now_us();
    for (int i = 0; i < CONS; i++) {
        ca[i] = (struct cons_arg){&m, i};
        ASSERT_OK(ds_thread_create(&ct[i], consumer, &ca[i], "t-cons"));
    }
    for (int i = 0; i < PROD; i++) {
        pa[i] = (struct prod_arg){&m, i};
        ASSERT_OK(ds_thread_create(&pt[i], producer, &pa[i], "t-prod"));
    }
    for (int i = 0; i < PROD; i++)
        ds_thread_join(&pt[i]);
    ds_ring_shutdown(m.r);
    for (int i = 0; i < CONS; i++)
        ds_thread_join(&ct[i]);
    uint64_t us = ds_time_now_us() - t0;
    ASSERT_EQ(atomic_load(&m.bad), 0);
    for (int i = 0; i < CONS; i++)
        for (int p = 0; p < PROD; p++)
            ASSERT_U64_EQ(m.counts[i][p], PER_PROD);
    struct ds_ring_stats st;
    ds_ring_stats(m.r, &st);
    ASSERT_U64_EQ(st.received, (uint64_t)PROD * PER_PROD);
    ASSERT_U64_EQ(st.records, 0);
    fprintf(stderr, "  %d producers, %d consumers: %.0f ns per event end to end (wall)\n", PROD,
            CONS, us * 1000.0 / ((double)PROD * PER_PROD));
    ds_ring_close(&m.r);
}

/* ---- release and read against a model ------------------------------------------- */

/* A model of one cursor on a drop-newest ring: where every record lies (markers at the
 * end of a lap included), what was read and released.  The ring must agree on the
 * released seq, the records and bytes held and the lag after every step. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define MODEL_MAX 60000
struct model {
    uint64_t cap, tail, n;              /* tail position, records appended */
    uint64_t pos[MODEL_MAX], end[MODEL_MAX], seq[MODEL_MAX];
    uint64_t read_ord, rel_ord, rel_pos, released;
};

static void model_append(struct model *m, uint64_t k, uint64_t first_id)
{
    for (uint64_t i = 0; i < k; i++) {
        uint64_t size = ds_qf_rec_size(pay_len(first_id + i));
        uint64_t phys = m->tail % m->cap;
        if (m->cap - phys < size) {
            m->tail += m->cap - phys; /* a marker to the end of the lap */
            if (m->rel_ord == m->n)
                m->rel_pos = m->tail; /* nothing held: the cursor jumps with the tail */
        }
        m->pos[m->n] = m->tail;
        m->seq[m->n] = first_id + i;
        m->tail += size;
        m->end[m->n] = m->tail;
        m->n++;
    }
}

static void model_release(struct model *m, uint64_t upto)
{
    uint64_t o = m->rel_ord;
    while (o < m->read_ord && m->seq[o] <= upto)
        o++;
    if (o == m->rel_ord)
        return;
    m->released = m->seq[o - 1];
    /* The walk stops in front of the next record read (after any marker), or right
     * after the last released one when nothing more was read. */
    m->rel_pos = o < m->read_ord ? m->pos[o] : m->end[o - 1];
    m->rel_ord = o;
}

static bool model_check(struct ds_ring *r, int c, const struct model *m, int step)
{
    struct ds_ring_stats st;
    struct ds_cursor_stats cs;
    ds_ring_stats(r, &st);
    ds_ring_cursor_stats(r, c, &cs);
    if (cs.released == m->released && st.records == m->n - m->rel_ord &&
        st.bytes_used == m->tail - m->rel_pos && cs.lag == m->n - m->read_ord)
        return true;
    fprintf(stderr, "  step %d: released %llu/%llu records %llu/%llu bytes %llu/%llu lag "
            "%llu/%llu (ring/model)\n", step, (unsigned long long)cs.released,
            (unsigned long long)m->released, (unsigned long long)st.records,
            (unsigned long long)(m->n - m->rel_ord), (unsigned long long)st.bytes_used,
            (unsigned long long)(m->tail - m->rel_pos), (unsigned long long)cs.lag,
            (unsigned long long)(m->n - m->read_ord));
    return false;
}

static void test_release_and_read_model(void)
{
    /* Uneven reads (up to three batches in flight), releases at batch ends, inside a
     * batch, beyond what was read and behind what was released, and rewinds, on a
     * 6 KiB ring that wraps every few dozen records. */
    static struct model m;
    memset(&m, 0, sizeof(m));
    m.cap = 6144;
    struct ds_ring *r = mk(m.cap, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    int c = ds_ring_cursor_open(r, "m");
    rng_state = 42;
    uint64_t next_id = 1, ends[8];
    int nends = 0, fast = 0;
    struct ds_rec recs[32];
    for (int step = 0; step < 40000 && m.n + 40 < MODEL_MAX; step++) {
        unsigned op = (unsigned)(rnd() % 10);
        if (op < 3) {
            size_t k = pay_put(r, next_id, 1 + rnd() % 12);
            model_append(&m, k, next_id);
            next_id += k;
        } else if (op < 6) {
            int max = 1 + (int)(rnd() % 12);
            if (nends == 3)
                continue;
            int n = ds_ring_read(r, c, recs, max, 1 << 20, 0);
            ASSERT_TRUE(n >= 0);
            uint64_t want = m.n - m.read_ord < (uint64_t)max ? m.n - m.read_ord : (uint64_t)max;
            ASSERT_U64_EQ((uint64_t)n, want);
            for (int i = 0; i < n; i++) {
                ASSERT_U64_EQ(recs[i].seq, m.seq[m.read_ord + (uint64_t)i]);
                ASSERT_TRUE(pay_ok(&recs[i], recs[i].seq));
            }
            m.read_ord += (uint64_t)n;
            if (n > 0)
                ends[nends++] = recs[n - 1].seq;
        } else if (op < 9) {
            /* Mostly the end of the oldest batch in flight (the O(1) case), else any
             * seq around what is held. */
            uint64_t upto;
            unsigned how = (unsigned)(rnd() % 8);
            if (how < 4 && nends > 0) {
                upto = ends[0];
                fast++;
            } else if (how < 6 && nends > 0) {
                upto = ends[nends - 1];
            } else {
                uint64_t lo = m.released > 2 ? m.released - 2 : 0;
                uint64_t hi = m.read_ord > 0 ? m.seq[m.read_ord - 1] + 3 : 3;
                upto = lo + rnd() % (hi - lo + 1);
            }
            ds_ring_release(r, c, upto);
            model_release(&m, upto);
            int k = 0;
            for (int i = 0; i < nends; i++)
                if (ends[i] > m.released)
                    ends[k++] = ends[i];
            nends = k;
        } else {
            if (m.read_ord == m.rel_ord)
                continue;
            uint64_t o = m.rel_ord + rnd() % (m.read_ord - m.rel_ord);
            ds_ring_rewind(r, c, m.seq[o]);
            m.read_ord = o;
            nends = 0; /* what was read again comes back in new batches */
        }
        ASSERT_TRUE(model_check(r, c, &m, step));
    }
    ASSERT_TRUE(fast > 1000);
    ASSERT_TRUE(m.n > 20000); /* hundreds of laps */
    ds_ring_close(&r);
}

/* ---- unlocked reads under overflow ------------------------------------------------ */

struct ov {
    struct ds_ring *r;
    int c;
    atomic_bool done;
    uint64_t read, bad;
};

static void ov_consumer(void *arg)
{
    struct ov *x = arg;
    struct ds_rec recs[16];
    uint64_t last = 0;
    unsigned k = 0;
    for (;;) {
        /* Alternately connected and not, holding one batch or none while reading. */
        if (k % 64 == 0)
            ds_ring_cursor_set_connected(x->r, x->c, (k / 64) % 2 == 0);
        int n = ds_ring_read(x->r, x->c, recs, 1 + (int)(k % 16), 1 << 20, 5);
        if (n == DS_ECLOSED)
            break;
        for (int i = 0; i < n; i++) {
            if (recs[i].seq <= last || !pay_ok(&recs[i], recs[i].seq))
                x->bad++;
            last = recs[i].seq;
        }
        x->read += (uint64_t)(n > 0 ? n : 0);
        if (n > 0 && k % 3 == 0) {
            /* Hold this batch while reading the next one. */
            struct ds_rec more[16];
            int m2 = ds_ring_read(x->r, x->c, more, 16, 1 << 20, 0);
            for (int i = 0; i < m2; i++) {
                if (more[i].seq <= last || !pay_ok(&more[i], more[i].seq))
                    x->bad++;
                last = more[i].seq;
            }
            x->read += (uint64_t)(m2 > 0 ? m2 : 0);
            ds_ring_release(x->r, x->c, recs[n - 1].seq);
            if (m2 > 0)
                ds_ring_release(x->r, x->c, more[m2 - 1].seq);
        } else if (n > 0) {
            ds_ring_release(x->r, x->c, recs[n - 1].seq);
        }
        k++;
    }
}

static void test_read_during_overflow(void)
{
    /* A producer overruns a 4 KiB ring while the consumer reads (drop-oldest, and
     * disconnected phases): every record read is intact and in order, and each
     * accepted record was either read or skipped for the cursor, exactly once. */
    for (int mode = 0; mode < 2; mode++) {
        static struct ov x;
        memset(&x, 0, sizeof(x));
        x.r = mk(4096, mode ? DS_OVERFLOW_DROP_OLDEST : DS_OVERFLOW_DROP_NEWEST);
        ASSERT_TRUE(x.r != NULL);
        x.c = ds_ring_cursor_open(x.r, "ov");
        struct ds_thread t;
        ASSERT_OK(ds_thread_create(&t, ov_consumer, &x, "t-ov"));
        /* At least 20,000 batches, and on until the ring has overflowed for the
         * cursor (a consumer that happens to keep up would otherwise test nothing). */
        uint64_t next_id = 1;
        struct ds_cursor_stats seen = {0};
        for (int i = 0; i < 20000 || (seen.skipped == 0 && i < 2000000); i++) {
            next_id += pay_put(x.r, next_id, 1 + (size_t)(i % 9));
            if (i >= 20000 && i % 1000 == 0)
                ds_ring_cursor_stats(x.r, x.c, &seen);
        }
        ds_ring_shutdown(x.r);
        ds_thread_join(&t);
        struct ds_ring_stats st;
        struct ds_cursor_stats cs;
        ds_ring_stats(x.r, &st);
        ds_ring_cursor_stats(x.r, x.c, &cs);
        ASSERT_U64_EQ(x.bad, 0);
        ASSERT_U64_EQ(st.received, next_id - 1);
        ASSERT_U64_EQ(x.read + cs.skipped, st.received);
        ASSERT_U64_EQ(cs.released, st.received);
        ASSERT_TRUE(cs.skipped > 0); /* the overflow did happen */
        ds_ring_close(&x.r);
    }
}

static void test_single_thread_cost(void)
{
    /* Append 256 and read+release 256 in one thread: the ring's own cost per event. */
    struct ds_ring *r = mk(64 << 20, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_TRUE(r != NULL);
    int c = ds_ring_cursor_open(r, "c");
    static uint8_t payload[200];
    struct ds_rec_in in[256];
    for (int i = 0; i < 256; i++)
        in[i] = (struct ds_rec_in){payload, sizeof(payload), DS_REC_PDNS, 0, 1, 0};
    struct ds_rec recs[256];
    const int rounds = 4000;
    uint64_t t0 = ds_time_now_us(), seen = 0;
    for (int k = 0; k < rounds; k++) {
        ASSERT_EQ(ds_ring_append(r, in, 256), 256);
        int n = ds_ring_read(r, c, recs, 256, 1 << 22, 0);
        ASSERT_EQ(n, 256);
        seen += (uint64_t)n;
        ds_ring_release(r, c, recs[n - 1].seq);
    }
    double ns = (double)(ds_time_now_us() - t0) * 1000.0 / (double)seen;
    fprintf(stderr, "  append+read+release, batch 256, 200-byte events: %.1f ns per event\n", ns);
    ASSERT_U64_EQ(seen, (uint64_t)rounds * 256);
    ds_ring_close(&r);
}

DS_TEST_MAIN(DS_TEST(test_fields_and_order), DS_TEST(test_after_stops_at_batch_end),
             DS_TEST(test_wraparound_order), DS_TEST(test_many_cursors),
             DS_TEST(test_overflow_drop_newest),
             DS_TEST(test_overflow_drop_oldest), DS_TEST(test_overflow_held_blocks_oldest),
             DS_TEST(test_overflow_disconnected_first), DS_TEST(test_rewind),
             DS_TEST(test_max_bytes_and_limits), DS_TEST(test_no_cursor_keeps_then_drops),
             DS_TEST(test_shutdown), DS_TEST(test_concurrent),
             DS_TEST(test_release_and_read_model), DS_TEST(test_read_during_overflow),
             DS_TEST(test_single_thread_cost))
