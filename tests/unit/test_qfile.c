/* test_qfile.c - the queue file: clean restart, crash images (what kill -9 leaves in
 * the page cache), torn appends, truncation and flipped bytes at pseudo-random places,
 * damaged superblocks and cursor slots, a changed queue-size, a foreign file, inspect.
 *
 * A "crash image" is a copy of the queue file taken while the ring is open: the copy
 * reads the page cache, which is exactly what a process killed with SIGKILL leaves. */
#include <stddef.h>
#include <stdlib.h>
#include <zlib.h>

#include "ds_crc32.h"
#include "ds_plat.h"
#include "ds_qfile.h"
#include "ds_ring.h"
#include "ds_test.h"
#include "ring_payload.h"

/* ---- helpers ---------------------------------------------------------------------- */

static char g_path[256], g_img[256];

static void paths(const char *tag)
{
    snprintf(g_path, sizeof(g_path), "test_qfile.%d.%s.queue", ds_getpid(), tag);
    snprintf(g_img, sizeof(g_img), "test_qfile.%d.%s.image", ds_getpid(), tag);
    ds_file_remove(g_path);
    ds_file_remove(g_img);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static bool spit(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(b, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static bool copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *b = slurp(from, &n);
    if (!b)
        return false;
    bool ok = spit(to, b, n);
    free(b);
    return ok;
}

static bool exists(const char *path)
{
    uint64_t sz;
    return ds_file_size(path, &sz) == DS_OK;
}

static uint64_t fsize(const char *path)
{
    uint64_t sz = 0;
    ds_file_size(path, &sz);
    return sz;
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static struct ds_ring *open_ring(const char *path, uint64_t size, unsigned sync_ms)
{
    struct ds_ring_options o = {size, DS_OVERFLOW_DROP_NEWEST, path, sync_ms};
    struct ds_ring *r = NULL;
    char err[512];
    int rc = ds_ring_open(&o, &r, err, sizeof(err));
    if (rc != DS_OK) {
        fprintf(stderr, "  ds_ring_open(%s): %s\n", path, err);
        return NULL;
    }
    return r;
}

/* Read n records (or everything when n < 0) for cursor c, each must be the next id
 * from *next (payload checked); release when rel.  Returns the count, -1 on mismatch. */
static long take(struct ds_ring *r, int c, uint64_t *next, long n, bool rel)
{
    struct ds_rec recs[32];
    long got = 0;
    while (n < 0 || got < n) {
        int want = n < 0 || n - got > 32 ? 32 : (int)(n - got);
        int k = ds_ring_read(r, c, recs, want, 1 << 20, 0);
        if (k <= 0)
            break;
        for (int i = 0; i < k; i++) {
            if (recs[i].seq != *next || !pay_ok(&recs[i], *next) ||
                recs[i].time_us != 1000000u + *next || recs[i].input_id != *next % 7) {
                fprintf(stderr, "  cursor %d: seq %llu, expected %llu\n", c,
                        (unsigned long long)recs[i].seq, (unsigned long long)*next);
                return -1;
            }
            (*next)++;
        }
        got += k;
        if (rel)
            ds_ring_release(r, c, recs[k - 1].seq);
    }
    return got;
}

/* Collect the seq of every record a cursor can read (checking payloads); returns the
 * count, -1 on a bad payload or a seq that does not increase. */
static long collect(struct ds_ring *r, int c, uint64_t *seqs, long max)
{
    struct ds_rec recs[32];
    long got = 0;
    uint64_t last = 0;
    for (;;) {
        int k = ds_ring_read(r, c, recs, 32, 1 << 20, 0);
        if (k <= 0)
            break;
        for (int i = 0; i < k; i++) {
            if (recs[i].seq <= last || !pay_ok(&recs[i], recs[i].seq) || got >= max)
                return -1;
            last = recs[i].seq;
            seqs[got++] = recs[i].seq;
        }
        ds_ring_release(r, c, recs[k - 1].seq);
    }
    return got;
}

static void cleanup_side(struct ds_ring *r)
{
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    if (st.set_aside_file)
        ds_file_remove(st.set_aside_file);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_clean_restart(void)
{
    paths("clean");
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "forwarder:a:514");
    int b = ds_ring_cursor_open(r, "file:/var/log/b.jsonl");
    ASSERT_EQ(pay_put(r, 1, 300), 300);
    uint64_t na = 1, nb = 1;
    ASSERT_EQ(take(r, a, &na, 100, true), 100);
    ASSERT_EQ(take(r, b, &nb, 40, true), 40);
    ASSERT_EQ(take(r, b, &nb, 10, false), 10); /* held, not released: comes back */
    ds_ring_close(&r);
    ASSERT_TRUE(fsize(g_path) == DS_QF_DATA_OFF + 65536);

    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.salvaged, 260);
    ASSERT_U64_EQ(st.records, 260);
    ASSERT_U64_EQ(st.set_aside_bytes, 0);
    ASSERT_TRUE(st.set_aside_file == NULL);
    ASSERT_U64_EQ(st.next_seq, 301);
    ASSERT_U64_EQ(st.received, 0);
    b = ds_ring_cursor_open(r, "file:/var/log/b.jsonl"); /* any order */
    a = ds_ring_cursor_open(r, "forwarder:a:514");
    int c = ds_ring_cursor_open(r, "forwarder:new:514");
    na = 101;
    nb = 41;
    uint64_t nc = 41;
    ASSERT_EQ(take(r, a, &na, -1, true), 200);
    ASSERT_EQ(take(r, b, &nb, -1, true), 260);
    ASSERT_EQ(take(r, c, &nc, -1, true), 260); /* a new destination gets the backlog */
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(r, a, &cs);
    ASSERT_U64_EQ(cs.released, 300);
    ds_ring_close(&r);
    /* Everything was released: the file is spent (reset to its header). */
    ASSERT_U64_EQ(fsize(g_path), DS_QF_DATA_OFF);
    struct ds_ring_stats is;
    char err[256];
    ASSERT_OK(ds_ring_inspect(g_path, &is, err, sizeof(err)));
    ASSERT_U64_EQ(is.records, 0);
    ASSERT_U64_EQ(is.next_seq, 301);

    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.records, 0);
    ASSERT_U64_EQ(st.next_seq, 301); /* the numbering survives */
    a = ds_ring_cursor_open(r, "forwarder:a:514");
    ASSERT_EQ(pay_put(r, 301, 5), 5);
    na = 301;
    ASSERT_EQ(take(r, a, &na, -1, true), 5);
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

static void test_wrapped_restart(void)
{
    /* Many laps of a 16 KiB file, stop with a backlog that wraps: exact content back. */
    paths("wrap");
    struct ds_ring *r = open_ring(g_path, 16384, 0);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "a");
    uint64_t id = 1, na = 1;
    for (int i = 0; i < 200; i++) {
        ASSERT_EQ(pay_put(r, id, 20), 20);
        id += 20;
        ASSERT_EQ(take(r, a, &na, 20, true), 20);
    }
    ASSERT_EQ(pay_put(r, id, 120), 120); /* ~12 KiB backlog across the end of the area */
    id += 120;
    ds_ring_close(&r);
    r = open_ring(g_path, 16384, 0);
    ASSERT_TRUE(r != NULL);
    a = ds_ring_cursor_open(r, "a");
    ASSERT_EQ(take(r, a, &na, -1, true), 120);
    ASSERT_U64_EQ(na, id);
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

/* The crash test: images at many points of a steady stream with a consumer lagging
 * behind; each image must give back exactly released+1 .. last appended. */
static void test_crash_images(void)
{
    paths("crash");
    rng_state = 0x9e3779b97f4a7c15ull;
    struct ds_ring *r = open_ring(g_path, 16384, 0);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "forwarder:a");
    uint64_t id = 1, na = 1;
    for (int round = 0; round < 40; round++) {
        int steps = 1 + (int)(rnd() % 30);
        for (int s = 0; s < steps; s++) {
            size_t n = 1 + rnd() % 15;
            id += pay_put(r, id, n);
            long backlog = (long)(id - na);
            long k = backlog > 60 ? (long)(rnd() % (uint64_t)backlog) : (long)(rnd() % 3);
            ASSERT_TRUE(take(r, a, &na, k, true) >= 0);
        }
        /* Sometimes the consumer holds a batch it has not released at the crash. */
        uint64_t held_from = na;
        if (round % 3 == 0)
            ASSERT_TRUE(take(r, a, &na, 5, false) >= 0);
        struct ds_cursor_stats cs;
        ds_ring_cursor_stats(r, a, &cs);
        ASSERT_U64_EQ(cs.released, held_from - 1);
        ASSERT_TRUE(copy_file(g_path, g_img));

        struct ds_ring_stats is;
        char err[256];
        ASSERT_OK(ds_ring_inspect(g_img, &is, err, sizeof(err)));
        struct ds_ring *r2 = open_ring(g_img, 16384, 0);
        ASSERT_TRUE(r2 != NULL);
        struct ds_ring_stats st;
        ds_ring_stats(r2, &st);
        ASSERT_U64_EQ(st.set_aside_bytes, 0);
        ASSERT_U64_EQ(st.next_seq, id);
        ASSERT_U64_EQ(st.records, id - held_from);
        ASSERT_U64_EQ(is.records, st.records);
        ASSERT_U64_EQ(is.next_seq, st.next_seq);
        int a2 = ds_ring_cursor_open(r2, "forwarder:a");
        uint64_t n2 = held_from;
        ASSERT_EQ(take(r2, a2, &n2, -1, true), (long)(id - held_from));
        ds_ring_close(&r2);
        /* Rewind what was held, as a forwarder would on reconnect. */
        ds_ring_rewind(r, a, held_from);
        na = held_from;
    }
    ds_ring_close(&r);
    ds_file_remove(g_path);
    ds_file_remove(g_img);
}

static void test_torn_append(void)
{
    /* The last record of the image is half written (the kill hit the memcpy): it is
     * not salvaged and not damage either (it was never accepted). */
    paths("torn");
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "a");
    uint64_t na = 1;
    ASSERT_EQ(pay_put(r, 1, 50), 50);
    ASSERT_EQ(take(r, a, &na, 10, true), 10); /* superblock tail hint: after 50 */
    ASSERT_EQ(pay_put(r, 51, 20), 20);
    ASSERT_TRUE(copy_file(g_path, g_img));
    ds_ring_close(&r);
    size_t n;
    uint8_t *b = slurp(g_img, &n);
    ASSERT_TRUE(b != NULL);
    /* Find record 70 and zero the end of its payload. */
    uint64_t off = DS_QF_DATA_OFF;
    for (uint64_t id = 1; id < 70; id++)
        off += ds_qf_rec_size(pay_len(id));
    struct ds_qf_rec h;
    memcpy(&h, b + off, sizeof(h));
    ASSERT_U64_EQ(h.seq, 70);
    memset(b + off + DS_QF_REC_HDR + h.len / 2, 0, h.len - h.len / 2);
    ASSERT_TRUE(spit(g_img, b, n));
    free(b);
    r = open_ring(g_img, 65536, 0);
    ASSERT_TRUE(r != NULL);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.records, 59);
    ASSERT_U64_EQ(st.set_aside_bytes, 0);
    ASSERT_U64_EQ(st.next_seq, 70);
    a = ds_ring_cursor_open(r, "a");
    na = 11;
    ASSERT_EQ(take(r, a, &na, -1, true), 59);
    ds_ring_close(&r);
    ds_file_remove(g_img);
    ds_file_remove(g_path);
}

/* Build a file whose backlog wraps: records [first..last] retained; positions of every
 * retained record (virtual, from the scan) in pos[]. */
struct layout {
    uint64_t first, last, n;
    uint64_t pos[4096], seq[4096], size[4096];
    uint64_t cap;
};

static void rec_cb(void *arg, uint64_t pos, const struct ds_qf_rec *h, const uint8_t *payload)
{
    (void)payload;
    struct layout *l = arg;
    if (l->n < 4096) {
        l->pos[l->n] = pos % l->cap;
        l->seq[l->n] = h->seq;
        l->size[l->n] = ds_qf_rec_size(h->len);
        l->n++;
    }
}

static bool make_backlog(const char *path, uint64_t cap, struct layout *l)
{
    struct ds_ring *r = open_ring(path, cap, 0);
    if (!r)
        return false;
    int a = ds_ring_cursor_open(r, "forwarder:a");
    uint64_t id = 1, na = 1;
    for (int i = 0; i < 30; i++) {
        id += pay_put(r, id, 25);
        if (take(r, a, &na, 25, true) != 25)
            return false;
    }
    id += pay_put(r, id, 400); /* fills most of the area, wrapping */
    ds_ring_close(&r);
    size_t n;
    uint8_t *b = slurp(path, &n);
    if (!b)
        return false;
    struct ds_qf_super sb;
    if (ds_qf_super_load(b, n, &sb) == 0) {
        free(b);
        return false;
    }
    memset(l, 0, sizeof(*l));
    l->cap = cap;
    struct ds_qf_scan_in in = {b + DS_QF_DATA_OFF, cap, n - DS_QF_DATA_OFF, sb.head_pos,
                               sb.head_seq, true, sb.tail_pos};
    struct ds_qf_scan_cb cb = {l, rec_cb, NULL};
    struct ds_qf_scan_out so;
    ds_qf_scan(&in, &cb, &so);
    free(b);
    l->first = so.first_seq;
    l->last = so.last_seq;
    return so.records == l->n && so.damaged_bytes == 0 && l->last == id - 1 && l->n > 100;
}

static void test_flipped_bytes(void)
{
    /* Flip 1..6 bytes at pseudo-random places of the data area: the records that were
     * hit (in their header or payload) are gone, every other one comes back, in order. */
    paths("flip");
    static struct layout l;
    const uint64_t cap = 65536;
    ASSERT_TRUE(make_backlog(g_path, cap, &l));
    size_t n;
    uint8_t *orig = slurp(g_path, &n);
    ASSERT_TRUE(orig != NULL);
    static uint64_t got[4096];
    for (int trial = 0; trial < 40; trial++) {
        rng_state = 0x1234567ull + (uint64_t)trial * 0x9e3779b97f4a7c15ull;
        uint8_t *b = malloc(n);
        memcpy(b, orig, n);
        int flips = 1 + (int)(rnd() % 6);
        bool hit[4096] = {false};
        for (int f = 0; f < flips; f++) {
            uint64_t phys = rnd() % cap;
            b[DS_QF_DATA_OFF + phys] ^= (uint8_t)(1u + rnd() % 255u);
            for (uint64_t i = 0; i < l.n; i++) {
                uint32_t len;
                memcpy(&len, orig + DS_QF_DATA_OFF + l.pos[i] + offsetof(struct ds_qf_rec, len), 4);
                uint64_t covered = DS_QF_REC_HDR + len; /* the padding is not checked */
                if (phys >= l.pos[i] && phys < l.pos[i] + covered)
                    hit[i] = true;
            }
        }
        ASSERT_TRUE(spit(g_img, b, n));
        free(b);
        struct ds_ring *r = open_ring(g_img, cap, 0);
        ASSERT_TRUE(r != NULL);
        int c = ds_ring_cursor_open(r, "check");
        long k = collect(r, c, got, 4096);
        ASSERT_TRUE(k >= 0);
        uint64_t expect_n = 0;
        long j = 0;
        bool same = true;
        for (uint64_t i = 0; i < l.n; i++) {
            if (hit[i])
                continue;
            expect_n++;
            if (j >= k || got[j] != l.seq[i])
                same = false;
            j++;
        }
        if (!same || (uint64_t)k != expect_n)
            fprintf(stderr, "  trial %d: %ld records back, %llu expected\n", trial, k,
                    (unsigned long long)expect_n);
        ASSERT_TRUE(same);
        ASSERT_EQ(k, (long)expect_n);
        struct ds_ring_stats st;
        ds_ring_stats(r, &st);
        ASSERT_U64_EQ(st.salvaged, expect_n);
        if (expect_n < l.n) {
            ASSERT_TRUE(st.set_aside_bytes > 0);
            ASSERT_TRUE(st.set_aside_file != NULL && exists(st.set_aside_file));
            /* The side file holds the damaged regions with their offsets. */
            size_t sn;
            uint8_t *side = slurp(st.set_aside_file, &sn);
            ASSERT_TRUE(side != NULL && sn > st.set_aside_bytes);
            ASSERT_TRUE(memcmp(side, "DSDAMAGE ", 9) == 0);
            free(side);
        }
        /* Appends after the salvage continue the numbering; a restart sees it all. */
        ASSERT_EQ(pay_put(r, st.next_seq, 3), 3);
        cleanup_side(r);
        ds_ring_close(&r);
        r = open_ring(g_img, cap, 0);
        ASSERT_TRUE(r != NULL);
        ds_ring_stats(r, &st);
        ASSERT_U64_EQ(st.set_aside_bytes, 0); /* the damage was covered the first time */
        c = ds_ring_cursor_open(r, "check");
        ASSERT_EQ(collect(r, c, got, 4096), 3); /* "check" released the salvaged ones */
        ds_ring_close(&r);
        ds_file_remove(g_img);
    }
    free(orig);
    ds_file_remove(g_path);
}

static void test_truncated(void)
{
    paths("trunc");
    static struct layout l;
    const uint64_t cap = 65536;
    ASSERT_TRUE(make_backlog(g_path, cap, &l));
    static uint64_t got[4096];
    for (int trial = 0; trial < 30; trial++) {
        rng_state = 0xabcdef12345ull + (uint64_t)trial * 0x9e3779b97f4a7c15ull;
        uint64_t cut = trial == 0 ? 100 : trial == 1 ? DS_QF_DATA_OFF
                                                     : rnd() % (DS_QF_DATA_OFF + cap);
        ASSERT_TRUE(copy_file(g_path, g_img));
        ASSERT_OK(ds_file_truncate(g_img, cut));
        struct ds_ring_stats is;
        char err[256];
        ASSERT_OK(ds_ring_inspect(g_img, &is, err, sizeof(err)));
        struct ds_ring *r = open_ring(g_img, cap, 0);
        ASSERT_TRUE(r != NULL); /* never refuses to start */
        int c = ds_ring_cursor_open(r, "check");
        long k = collect(r, c, got, 4096);
        ASSERT_TRUE(k >= 0);
        uint64_t expect_n = 0;
        long j = 0;
        bool same = true;
        for (uint64_t i = 0; i < l.n; i++) {
            if (cut < DS_QF_DATA_OFF + l.pos[i] + DS_QF_REC_HDR + pay_len(l.seq[i]))
                continue; /* (part of) this record is gone (its padding does not count) */
            if (cut < DS_QF_SLOT_OFF)
                continue; /* the header is gone: a foreign file of no records */
            expect_n++;
            if (j >= k || got[j] != l.seq[i])
                same = false;
            j++;
        }
        if (!same || (uint64_t)k != expect_n)
            fprintf(stderr, "  cut at %llu: %ld records back, %llu expected\n",
                    (unsigned long long)cut, k, (unsigned long long)expect_n);
        ASSERT_TRUE(same);
        ASSERT_EQ(k, (long)expect_n);
        ASSERT_U64_EQ(is.records, expect_n);
        struct ds_ring_stats st;
        ds_ring_stats(r, &st);
        ASSERT_U64_EQ(st.salvaged, expect_n);
        if (expect_n < l.n && cut >= DS_QF_DATA_OFF)
            ASSERT_TRUE(st.set_aside_bytes > 0);
        cleanup_side(r);
        ds_ring_close(&r);
        ds_file_remove(g_img);
    }
    ds_file_remove(g_path);
}

/* A 64 KiB queue file with 200 events: "a" released 150, "b" 80 (slots 0 and 1). */
static bool two_destinations(const char *path)
{
    struct ds_ring *r = open_ring(path, 65536, 0);
    if (!r)
        return false;
    int a = ds_ring_cursor_open(r, "a");
    int b = ds_ring_cursor_open(r, "b");
    uint64_t na = 1, nb = 1;
    bool ok = a == 0 && b == 1 && pay_put(r, 1, 200) == 200 && take(r, a, &na, 150, true) == 150 &&
              take(r, b, &nb, 80, true) == 80;
    ds_ring_close(&r);
    return ok;
}

static void test_superblock_damage(void)
{
    paths("super");
    ASSERT_TRUE(two_destinations(g_path));
    struct ds_ring *r;
    int a, b;
    for (int variant = 0; variant < 3; variant++) {
        ASSERT_TRUE(copy_file(g_path, g_img));
        size_t n;
        uint8_t *img = slurp(g_img, &n);
        struct ds_qf_super sb;
        ASSERT_EQ(ds_qf_super_load(img, n, &sb), 2);
        uint64_t cur = (sb.gen & 1u) * DS_QF_SUPER_STRIDE;
        if (variant == 0)
            img[cur + 20] ^= 0xff; /* the current copy: the other one is used */
        else if (variant == 1)
            memset(img + (DS_QF_SUPER_STRIDE - cur), 0x5a, 64); /* the older copy */
        else
            memset(img, 0x77, 2 * DS_QF_SUPER_STRIDE); /* both */
        ASSERT_TRUE(spit(g_img, img, n));
        free(img);
        struct ds_ring_stats is;
        char err[256];
        ASSERT_OK(ds_ring_inspect(g_img, &is, err, sizeof(err)));
        r = open_ring(g_img, 65536, 0);
        ASSERT_TRUE(r != NULL);
        struct ds_ring_stats st;
        ds_ring_stats(r, &st);
        ASSERT_U64_EQ(is.set_aside_bytes, st.set_aside_bytes); /* inspect == open */
        ASSERT_U64_EQ(is.records, st.records);
        ASSERT_U64_EQ(is.next_seq, st.next_seq);
        /* Both destinations resume exactly: a at 151, b at 81. */
        ASSERT_TRUE(st.records >= 120);
        ASSERT_U64_EQ(st.next_seq, 201);
        if (variant == 2)
            ASSERT_U64_EQ(st.set_aside_bytes, 2 * DS_QF_SUPER_STRIDE);
        else
            ASSERT_U64_EQ(st.set_aside_bytes, 0);
        a = ds_ring_cursor_open(r, "a");
        b = ds_ring_cursor_open(r, "b");
        uint64_t xa = 151, xb = 81;
        ASSERT_EQ(take(r, a, &xa, -1, true), 50);
        ASSERT_EQ(take(r, b, &xb, -1, true), 120);
        cleanup_side(r);
        ds_ring_close(&r);
        ds_file_remove(g_img);
    }
    ds_file_remove(g_path);
}

static void test_slot_damage(void)
{
    paths("slot");
    ASSERT_TRUE(two_destinations(g_path));
    ASSERT_TRUE(copy_file(g_path, g_img));
    struct ds_ring *r;
    int a, b;
    size_t n;
    uint8_t *img = slurp(g_img, &n);
    memset(img + DS_QF_SLOT_OFF, 0xee, 2 * DS_QF_SLOT_SIZE); /* slot 0 is a's */
    ASSERT_TRUE(spit(g_img, img, n));
    free(img);
    struct ds_ring_stats is;
    char err[256];
    ASSERT_OK(ds_ring_inspect(g_img, &is, err, sizeof(err)));
    ASSERT_U64_EQ(is.set_aside_bytes, 2 * DS_QF_SLOT_SIZE);
    ASSERT_U64_EQ(is.records, 120);
    r = open_ring(g_img, 65536, 0);
    ASSERT_TRUE(r != NULL);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.set_aside_bytes, 2 * DS_QF_SLOT_SIZE);
    ASSERT_TRUE(st.set_aside_file != NULL); /* the slot's bytes were kept */
    a = ds_ring_cursor_open(r, "a");
    b = ds_ring_cursor_open(r, "b");
    uint64_t xa = 81, xb = 81; /* a lost its place: from the oldest (duplicates, no loss) */
    ASSERT_EQ(take(r, a, &xa, -1, true), 120);
    ASSERT_EQ(take(r, b, &xb, -1, true), 120);
    cleanup_side(r);
    ds_ring_close(&r);
    ds_file_remove(g_img);
    ds_file_remove(g_path);
}

static void test_capacity_change(void)
{
    paths("resize");
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "a");
    uint64_t na = 1;
    ASSERT_EQ(pay_put(r, 1, 400), 400);
    ASSERT_EQ(take(r, a, &na, 100, true), 100);
    ds_ring_close(&r);
    /* Larger: everything moves over with its numbering and a's position. */
    r = open_ring(g_path, 131072, 0);
    ASSERT_TRUE(r != NULL);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.capacity, 131072);
    ASSERT_U64_EQ(st.salvaged, 300);
    ASSERT_U64_EQ(st.records, 300);
    ASSERT_U64_EQ(st.next_seq, 401);
    ASSERT_U64_EQ(st.dropped, 0);
    char old[300];
    snprintf(old, sizeof(old), "%s.old", g_path);
    ASSERT_TRUE(!exists(old));
    ASSERT_U64_EQ(fsize(g_path), DS_QF_DATA_OFF + 131072);
    a = ds_ring_cursor_open(r, "a");
    ASSERT_EQ(take(r, a, &na, 20, true), 20);
    ds_ring_close(&r);
    /* Smaller than the backlog (~20 KiB left in 16 KiB): the newest that fit stay. */
    r = open_ring(g_path, 16384, 0);
    ASSERT_TRUE(r != NULL);
    ds_ring_stats(r, &st);
    ASSERT_TRUE(st.dropped > 0);
    ASSERT_U64_EQ(st.salvaged + st.dropped, 280);
    ASSERT_U64_EQ(st.records, st.salvaged);
    a = ds_ring_cursor_open(r, "a");
    uint64_t from = 401 - st.records;
    ASSERT_EQ(take(r, a, &from, -1, true), (long)st.records);
    ASSERT_U64_EQ(from, 401);
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

static void test_foreign_file(void)
{
    paths("foreign");
    rng_state = 42;
    static uint8_t junk[100000];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rnd();
    ASSERT_TRUE(spit(g_path, junk, sizeof(junk)));
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.records, 0);
    ASSERT_U64_EQ(st.set_aside_bytes, sizeof(junk));
    ASSERT_TRUE(st.set_aside_file != NULL);
    size_t n;
    uint8_t *kept = slurp(st.set_aside_file, &n);
    ASSERT_TRUE(kept != NULL);
    ASSERT_EQ(n, sizeof(junk));
    ASSERT_MEM_EQ(kept, junk, sizeof(junk)); /* the whole file, untouched */
    free(kept);
    int a = ds_ring_cursor_open(r, "a");
    ASSERT_EQ(pay_put(r, 1, 10), 10);
    uint64_t na = 1;
    ASSERT_EQ(take(r, a, &na, -1, true), 10);
    cleanup_side(r);
    ds_ring_close(&r);
    ds_file_remove(g_path);
    /* An empty file is simply a new queue. */
    ASSERT_TRUE(spit(g_path, junk, 0));
    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.set_aside_bytes, 0);
    ASSERT_TRUE(st.set_aside_file == NULL);
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

static void test_old_format_version(void)
{
    /* A queue file of format version 1 (its superblocks intact, its records checksummed
     * the old way) is set aside whole, byte for byte; the queue starts empty. */
    paths("v1");
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    ASSERT_EQ(pay_put(r, 1, 40), 40);
    ds_ring_close(&r); /* no destination took them: kept */
    size_t n;
    uint8_t *b = slurp(g_path, &n);
    ASSERT_TRUE(b != NULL);
    ASSERT_EQ(n, DS_QF_DATA_OFF + 65536);
    /* Version 1 records: len first, then a crc32 of the payload, header bytes 8..31
     * and 0..3. */
    uint64_t off = DS_QF_DATA_OFF;
    for (uint64_t id = 1; id <= 40; id++) {
        struct ds_qf_rec h;
        memcpy(&h, b + off, sizeof(h));
        ASSERT_U64_EQ(h.seq, id);
        uint32_t w[2] = {h.len, 0};
        memcpy(b + off, w, 8);
        uLong c = crc32(0L, b + off + DS_QF_REC_HDR, h.len);
        c = crc32(c, b + off + 8, DS_QF_REC_HDR - 8);
        w[1] = (uint32_t)crc32(c, b + off, 4);
        memcpy(b + off, w, 8);
        off += ds_qf_rec_size(h.len);
    }
    for (unsigned i = 0; i < 2; i++) {
        struct ds_qf_super sb;
        memcpy(&sb, b + i * DS_QF_SUPER_STRIDE, sizeof(sb));
        sb.version = 1;
        sb.crc = (uint32_t)crc32(0L, (const Bytef *)&sb, (uInt)offsetof(struct ds_qf_super, crc));
        memcpy(b + i * DS_QF_SUPER_STRIDE, &sb, sizeof(sb));
    }
    ASSERT_TRUE(spit(g_path, b, n));
    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.records, 0);
    ASSERT_U64_EQ(st.salvaged, 0);
    ASSERT_U64_EQ(st.set_aside_bytes, n);
    ASSERT_TRUE(st.set_aside_file != NULL);
    size_t kn;
    uint8_t *kept = slurp(st.set_aside_file, &kn);
    ASSERT_TRUE(kept != NULL);
    ASSERT_EQ(kn, n);
    ASSERT_MEM_EQ(kept, b, n);
    free(kept);
    free(b);
    /* The numbering starts again (the old file's counter is not trusted either). */
    ASSERT_U64_EQ(st.next_seq, 1);
    cleanup_side(r);
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

static void test_inspect_read_only(void)
{
    paths("inspect");
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "a");
    uint64_t na = 1;
    ASSERT_EQ(pay_put(r, 1, 123), 123);
    ASSERT_EQ(take(r, a, &na, 23, true), 23);
    ASSERT_TRUE(copy_file(g_path, g_img));
    size_t n1, n2;
    uint8_t *before = slurp(g_img, &n1);
    struct ds_ring_stats is;
    char err[256];
    ASSERT_OK(ds_ring_inspect(g_img, &is, err, sizeof(err)));
    uint8_t *after = slurp(g_img, &n2);
    ASSERT_TRUE(before && after && n1 == n2);
    ASSERT_MEM_EQ(before, after, n1);
    free(before);
    free(after);
    ASSERT_U64_EQ(is.records, 100);
    ASSERT_U64_EQ(is.next_seq, 124);
    ASSERT_U64_EQ(is.capacity, 65536);
    ASSERT_U64_EQ(is.set_aside_bytes, 0);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(is.bytes_used, st.bytes_used);
    ds_ring_close(&r);
    ASSERT_EQ(ds_ring_inspect("test_qfile.no.such.file", &is, err, sizeof(err)), DS_ENOTFOUND);
    ds_file_remove(g_img);
    ds_file_remove(g_path);
}

static void test_sync_thread(void)
{
    /* With queue-sync the superblock's tail follows the appends without any release. */
    paths("sync");
    struct ds_ring *r = open_ring(g_path, 65536, 10);
    ASSERT_TRUE(r != NULL);
    ds_ring_cursor_open(r, "a");
    ASSERT_EQ(pay_put(r, 1, 50), 50);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    bool seen = false;
    uint64_t deadline = ds_time_mono_ms() + 5000;
    while (!seen && ds_time_mono_ms() < deadline) {
        size_t n;
        uint8_t *b = slurp(g_path, &n);
        struct ds_qf_super sb;
        if (b && ds_qf_super_load(b, n, &sb) > 0 && sb.tail_pos == st.bytes_used &&
            sb.next_seq == 51)
            seen = true;
        free(b);
        if (!seen)
            ds_sleep_ms(5);
    }
    ASSERT_TRUE(seen);
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

static void test_long_names_and_many_cursors(void)
{
    paths("names");
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    char name[64][300];
    int ids[64];
    for (int i = 0; i < 64; i++) {
        /* Long names that differ only at the end still get their own slot. */
        memset(name[i], 'x', 250);
        snprintf(name[i] + 250, 50, "-%d", i);
        ids[i] = ds_ring_cursor_open(r, name[i]);
        ASSERT_EQ(ids[i], i);
    }
    ASSERT_EQ(ds_ring_cursor_open(r, "one-too-many"), DS_ENOSPC);
    ASSERT_EQ(pay_put(r, 1, 64), 64);
    for (int i = 0; i < 64; i++) {
        uint64_t nx = 1;
        ASSERT_EQ(take(r, ids[i], &nx, i + 1, true), i + 1);
    }
    ds_ring_close(&r);
    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    /* Cursors are opened before anyone reads (the contract), in any order. */
    for (int i = 63; i >= 0; i--)
        ids[i] = ds_ring_cursor_open(r, name[i]);
    for (int i = 0; i < 64; i++) {
        uint64_t nx = (uint64_t)i + 2;
        ASSERT_EQ(take(r, ids[i], &nx, -1, true), 63 - i);
    }
    ds_ring_close(&r);
    ASSERT_U64_EQ(fsize(g_path), DS_QF_DATA_OFF);
    ds_file_remove(g_path);
}

/* ds_crc32 (the checksum of every record, slot and superblock) gives zlib's crc32 values:
 * every length from 0 to 300 at every alignment, chained in two parts, lengths around
 * 1 KiB (where it hands over to zlib), and 1 MiB. */
static void test_crc32_is_zlibs(void)
{
    static uint8_t buf[(1 << 20) + 8];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n <= 300; n++) {
            const uint8_t *p = buf + align;
            uLong z = crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
            ASSERT_U64_EQ(ds_crc32(0, p, n), z);
            size_t cut = n / 3;
            ASSERT_U64_EQ(ds_crc32(ds_crc32(0, p, cut), p + cut, n - cut), z);
        }
    }
    for (size_t n = 1000; n <= 1100; n++) /* around the switch to zlib's loop at 1 KiB */
        ASSERT_U64_EQ(ds_crc32(ds_crc32(0, buf + 3, 5), buf + 8, n),
                      crc32(crc32(0L, Z_NULL, 0), buf + 3, (uInt)n + 5));
    ASSERT_U64_EQ(ds_crc32(0, buf, 1 << 20), crc32(0L, buf, 1u << 20));
    ASSERT_U64_EQ(ds_crc32(0, "123456789", 9), 0xcbf43926u); /* the CRC-32 check value */
}

static void test_scan_direct(void)
{
    /* A hand-built area of 8 KiB: 5 at 1024, 6, 64 bytes of damage, 9 (seqs 7 and 8
     * are missing), a marker to the end of the lap, 10 at the start of the next lap. */
    static uint8_t area[8192];
    memset(area, 0, sizeof(area));
    uint64_t pos = 1024;
    uint64_t seqs[] = {5, 6, 0, 9, 10};
    for (int i = 0; i < 5; i++) {
        if (seqs[i] == 0) {
            memset(area + pos, 0xab, 64);
            pos += 64;
            continue;
        }
        if (seqs[i] == 10) {
            uint32_t w[2] = {8192 - (uint32_t)pos, DS_QF_SKIP};
            memcpy(area + pos, w, 8);
            pos = 8192;
        }
        uint8_t pay[16];
        memset(pay, (int)seqs[i], sizeof(pay));
        struct ds_qf_rec h = {0, 16, seqs[i], 0, 1, 0, DS_REC_PDNS, 0};
        memcpy(area + pos % 8192, &h, 32);
        memcpy(area + pos % 8192 + 32, pay, 16);
        h.crc = ds_qf_rec_crc(area + pos % 8192);
        memcpy(area + pos % 8192, &h.crc, 4);
        pos += 48;
    }
    struct ds_qf_scan_in in = {area, 8192, 8192, 1024, 5, true, 0};
    struct ds_qf_scan_out so;
    ds_qf_scan(&in, NULL, &so);
    ASSERT_U64_EQ(so.records, 4);
    ASSERT_U64_EQ(so.first_seq, 5);
    ASSERT_U64_EQ(so.last_seq, 10);
    ASSERT_U64_EQ(so.damaged_bytes, 64);
    ASSERT_U64_EQ(so.damaged_regions, 1);
    ASSERT_U64_EQ(so.head_pos, 1024);
    ASSERT_U64_EQ(so.tail_pos, 8192 + 48);
    /* A tail hint beyond the end of the chain: those bytes were lost. */
    in.tail_hint = 8192 + 48 + 96;
    ds_qf_scan(&in, NULL, &so);
    ASSERT_U64_EQ(so.damaged_bytes, 64 + 96);
    ASSERT_U64_EQ(so.damaged_regions, 2);
    /* Not knowing where to start finds the lowest seq >= min_seq (6 here). */
    struct ds_qf_scan_in in2 = {area, 8192, 8192, 3000, 6, false, 0};
    ds_qf_scan(&in2, NULL, &so);
    ASSERT_U64_EQ(so.first_seq, 6);
    ASSERT_U64_EQ(so.last_seq, 10);
    ASSERT_U64_EQ(so.records, 3);
    ASSERT_U64_EQ(so.damaged_bytes, 64);
    /* Only 1100 bytes exist (a truncated file): 6 (ends at 1120) is gone, 10 (at 0) is
     * found on the next lap; nothing beyond 1100 is read. */
    struct ds_qf_scan_in in3 = {area, 8192, 1100, 1024, 5, true, 0};
    ds_qf_scan(&in3, NULL, &so);
    ASSERT_U64_EQ(so.records, 2);
    ASSERT_U64_EQ(so.last_seq, 10);
    ASSERT_U64_EQ(so.damaged_bytes, 8192 - 1072);
}

static void test_late_cursor_keeps_its_backlog(void)
{
    /* After a restart one destination drains everything before the other one opens its
     * cursor: the second still gets all it had not released (it was dormant meanwhile). */
    paths("late");
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "file:/a");
    int b = ds_ring_cursor_open(r, "forwarder:b");
    int gone = ds_ring_cursor_open(r, "forwarder:gone");
    uint64_t na = 1, nb = 1, ng = 1;
    ASSERT_EQ(pay_put(r, 1, 300), 300);
    ASSERT_EQ(take(r, a, &na, 250, true), 250);
    ASSERT_EQ(take(r, b, &nb, 100, true), 100);
    ASSERT_EQ(take(r, gone, &ng, 200, true), 200);
    ds_ring_close(&r);

    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.records, 200);
    a = ds_ring_cursor_open(r, "file:/a");
    ASSERT_EQ(take(r, a, &na, -1, true), 50);
    ASSERT_EQ(pay_put(r, 301, 20), 20);
    ASSERT_EQ(take(r, a, &na, -1, true), 20);
    /* b opens late: it resumes at 101 although a released everything. */
    b = ds_ring_cursor_open(r, "forwarder:b");
    ASSERT_EQ(take(r, b, &nb, -1, true), 220);
    ASSERT_U64_EQ(nb, 321);
    /* "forwarder:gone" is not in the configuration any more: at close it is forgotten
     * and does not keep the file from being spent. */
    ds_ring_close(&r);
    ASSERT_U64_EQ(fsize(g_path), DS_QF_DATA_OFF);
    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    ASSERT_EQ(ds_ring_cursor_count(r), 2); /* a and b; gone's slot was cleared */
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

static void test_dormant_gives_way_on_overflow(void)
{
    /* A dormant destination's backlog is released first when the queue is full, like a
     * disconnected one's; drop-newest then protects the live destination's backlog. */
    paths("dormant");
    struct ds_ring *r = open_ring(g_path, 16384, 0);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "a");
    int d = ds_ring_cursor_open(r, "d");
    uint64_t na = 1, nd = 1;
    ASSERT_EQ(pay_put(r, 1, 100), 100);
    ASSERT_EQ(take(r, a, &na, 100, true), 100);
    ASSERT_EQ(take(r, d, &nd, 10, true), 10);
    ds_ring_close(&r);
    r = open_ring(g_path, 16384, 0);
    ASSERT_TRUE(r != NULL);
    a = ds_ring_cursor_open(r, "a"); /* d stays dormant, holding 11..100 */
    uint64_t id = 101;
    for (int i = 0; i < 20; i++) {
        id += pay_put(r, id, 10);
        ASSERT_TRUE(take(r, a, &na, -1, true) >= 0);
    }
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.dropped, 0);
    ASSERT_U64_EQ(id, 301);
    ASSERT_U64_EQ(na, 301);
    int n = ds_ring_cursor_count(r);
    ASSERT_EQ(n, 2);
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(r, 1, &cs);
    ASSERT_STR_EQ(cs.name, "d");
    ASSERT_TRUE(!cs.connected);
    ASSERT_TRUE(cs.skipped > 0);
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

static void test_one_process_per_file(void)
{
    /* A second open of a queue file in use fails (and leaves it alone), whatever its
     * queue-size; after the first closes, the file opens again. */
    paths("lock");
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    int a = ds_ring_cursor_open(r, "a");
    ASSERT_EQ(pay_put(r, 1, 10), 10);
    uint64_t sizes[2] = {65536, 131072};
    for (int i = 0; i < 2; i++) {
        struct ds_ring_options o = {sizes[i], DS_OVERFLOW_DROP_NEWEST, g_path, 0};
        struct ds_ring *r2 = NULL;
        char err[512];
        ASSERT_EQ(ds_ring_open(&o, &r2, err, sizeof(err)), DS_EPERM);
        ASSERT_TRUE(r2 == NULL);
        ASSERT_TRUE(strstr(err, "in use by another process") != NULL);
        ASSERT_TRUE(exists(g_path));
    }
    char old[300];
    snprintf(old, sizeof(old), "%s.old", g_path);
    ASSERT_TRUE(!exists(old));
    ASSERT_EQ(pay_put(r, 11, 5), 5);
    uint64_t na = 1;
    ASSERT_EQ(take(r, a, &na, -1, false), 15);
    ds_ring_close(&r);
    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    struct ds_ring_stats st;
    ds_ring_stats(r, &st);
    ASSERT_U64_EQ(st.records, 15);
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

static void test_new_name_evicts_dormant(void)
{
    /* 64 destinations in the file; the next run configures 63 of them and a new one:
     * the new one takes the place of the one that is gone. */
    paths("evict");
    struct ds_ring *r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    char name[64][32];
    for (int i = 0; i < 64; i++) {
        snprintf(name[i], sizeof(name[i]), "forwarder:t%d", i);
        ASSERT_EQ(ds_ring_cursor_open(r, name[i]), i);
    }
    ASSERT_EQ(pay_put(r, 1, 20), 20);
    ds_ring_close(&r);
    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    ASSERT_EQ(ds_ring_cursor_count(r), 64);
    for (int i = 1; i < 64; i++)
        ASSERT_TRUE(ds_ring_cursor_open(r, name[i]) >= 0);
    int n = ds_ring_cursor_open(r, "forwarder:new");
    ASSERT_EQ(n, 0); /* t0's place */
    ASSERT_EQ(ds_ring_cursor_open(r, name[0]), DS_ENOSPC);
    uint64_t nx = 1;
    ASSERT_EQ(take(r, n, &nx, -1, true), 20);
    ds_ring_close(&r);
    r = open_ring(g_path, 65536, 0);
    ASSERT_TRUE(r != NULL);
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(r, 0, &cs);
    ASSERT_STR_EQ(cs.name, "forwarder:new");
    ASSERT_U64_EQ(cs.released, 20);
    ds_ring_close(&r);
    ds_file_remove(g_path);
}

DS_TEST_MAIN(DS_TEST(test_clean_restart), DS_TEST(test_wrapped_restart),
             DS_TEST(test_crash_images), DS_TEST(test_torn_append), DS_TEST(test_flipped_bytes),
             DS_TEST(test_truncated), DS_TEST(test_superblock_damage), DS_TEST(test_slot_damage),
             DS_TEST(test_capacity_change), DS_TEST(test_foreign_file),
             DS_TEST(test_old_format_version),
             DS_TEST(test_inspect_read_only), DS_TEST(test_sync_thread),
             DS_TEST(test_long_names_and_many_cursors), DS_TEST(test_crc32_is_zlibs),
             DS_TEST(test_scan_direct),
             DS_TEST(test_late_cursor_keeps_its_backlog),
             DS_TEST(test_dormant_gives_way_on_overflow), DS_TEST(test_one_process_per_file),
             DS_TEST(test_new_name_evicts_dormant))
