/* test_output.c - file outputs end to end through a real ring: pdns format reproduces
 * the sender's stream byte for byte, JSON writes one line per event (metrics events
 * included, in order), BIND writes one line per query, and a reopen moves writing to a
 * new file without losing or repeating an event. */
#include <stdio.h>
#include <stdlib.h>

#include "ds_config.h"
#include "ds_output.h"
#include "ds_plat.h"
#include "ds_ring.h"
#include "ds_test.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *len = 0;
        return NULL;
    }
    uint8_t *d = malloc(1 << 22);
    *len = fread(d, 1, 1 << 22, fp);
    fclose(fp);
    return d;
}

static const char *find(const void *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    const char *h = hay;
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(h + i, needle, k) == 0)
            return h + i;
    return NULL;
}

static void temp_dir(char *dir, size_t len, const char *tag)
{
    snprintf(dir, len, "/tmp/ds-test-%s-%d", tag, ds_getpid());
    ds_mkdir_p(dir);
}

static size_t count_lines(const uint8_t *d, size_t n, const char *needle)
{
    size_t c = 0;
    const char *p = (const char *)d, *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        if (!needle || find(p, (size_t)(nl - p), needle))
            c++;
        p = nl + 1;
    }
    return c;
}

/* A ring with the outputs of a configuration text. */
struct rig {
    struct ds_config cfg;
    struct ds_ring *ring;
    struct ds_outputs *outs;
};
static const struct ds_enc_ctx rig_ctx = {"unit", "host"};

static int rig_start(struct rig *g, const char *conf)
{
    char err[512];
    struct ds_ring_options ro = {.size = 1 << 20};
    memset(g, 0, sizeof(*g));
    if (ds_config_load_string("t.conf", conf, &g->cfg, err, sizeof(err)) != DS_OK ||
        ds_ring_open(&ro, &g->ring, err, sizeof(err)) != DS_OK ||
        ds_outputs_start(&g->cfg, g->ring, &rig_ctx, &g->outs, err, sizeof(err)) != DS_OK) {
        fprintf(stderr, "  rig: %s\n", err);
        return -1;
    }
    return 0;
}

/* Shut the ring down, let the outputs drain, close everything. */
static void rig_stop(struct rig *g)
{
    ds_ring_shutdown(g->ring);
    ds_outputs_stop(&g->outs);
    ds_ring_close(&g->ring);
    ds_config_free(&g->cfg);
}

/* Append every frame of a 2-byte-framed capture; returns the frame count. */
static size_t append_capture(struct ds_ring *r, const uint8_t *d, size_t n)
{
    size_t frames = 0;
    for (size_t off = 0; off + 2 <= n;) {
        uint32_t len = (uint32_t)d[off] << 8 | d[off + 1];
        struct ds_rec_in in = {d + off + 2, len, DS_REC_PDNS, 0, UINT32_MAX, 1795305468000000u};
        frames += ds_ring_append(r, &in, 1);
        off += 2 + len;
    }
    return frames;
}

static void test_formats(void)
{
    char dir[128];
    temp_dir(dir, sizeof(dir), "output");
    char conf[2048], pdns[200], json[200], bind[200], fixture[600];
    snprintf(pdns, sizeof(pdns), "%s/out.pb", dir);
    snprintf(json, sizeof(json), "%s/out.jsonl", dir);
    snprintf(bind, sizeof(bind), "%s/out.log", dir);
    snprintf(conf, sizeof(conf),
             "input pdns 127.0.0.1 0\noutput file %s format=pdns\noutput file %s format=json\n"
             "output file %s format=bind\ninstance-name unit\n",
             pdns, json, bind);
    snprintf(fixture, sizeof(fixture), "%s/fixtures/dnsdist-1.7.3.lp16", DS_SHARED_DIR);
    size_t flen;
    uint8_t *fx = slurp(fixture, &flen);
    ASSERT_TRUE(fx != NULL);

    struct rig g;
    ASSERT_OK(rig_start(&g, conf));
    struct ds_ring *ring = g.ring;
    ASSERT_EQ(append_capture(ring, fx, flen), 22);
    static const char metrics[] = "{\"eventsReceived\":22}";
    struct ds_rec_in m = {(const uint8_t *)metrics, sizeof(metrics) - 1, DS_REC_METRICS, 0xffff,
                          UINT32_MAX, 1795305469000000u};
    ASSERT_EQ(ds_ring_append(ring, &m, 1), 1);
    rig_stop(&g);

    size_t n;
    uint8_t *got = slurp(pdns, &n);
    ASSERT_EQ(n, flen);
    ASSERT_MEM_EQ(got, fx, flen);
    free(got);

    got = slurp(json, &n);
    ASSERT_EQ(count_lines(got, n, NULL), 23);
    ASSERT_EQ(count_lines(got, n, "\"type\":\"DNSQueryType\""), 11);
    ASSERT_EQ(count_lines(got, n, "\"type\":\"DNSResponseType\""), 11);
    ASSERT_EQ(count_lines(got, n, "\"instance\":\"unit\""), 23);
    /* the metrics event is the last line, with seq 23 */
    const char *last = find(got, n, "{\"seq\":23,");
    ASSERT_TRUE(last != NULL);
    ASSERT_TRUE(strstr(last, "\"type\":\"metrics\"") != NULL);
    ASSERT_TRUE(strstr(last, "{\"eventsReceived\":22}") != NULL);
    free(got);

    got = slurp(bind, &n);
    ASSERT_EQ(count_lines(got, n, NULL), 11);
    ASSERT_EQ(count_lines(got, n, " queries: info: client @0x"), 11);
    free(got);
    free(fx);
    remove(pdns);
    remove(json);
    remove(bind);
    remove(dir);
}

static void test_reopen(void)
{
    char dir[128];
    temp_dir(dir, sizeof(dir), "reopen");
    char conf[600], path[200], rotated[200];
    snprintf(path, sizeof(path), "%s/out.jsonl", dir);
    snprintf(rotated, sizeof(rotated), "%s/out.jsonl.1", dir);
    snprintf(conf, sizeof(conf), "input pdns 127.0.0.1 0\noutput file %s\n", path);
    struct rig g;
    ASSERT_OK(rig_start(&g, conf));
    struct ds_ring *ring = g.ring;
    static const char m1[] = "{\"n\":1}";
    struct ds_rec_in m = {(const uint8_t *)m1, sizeof(m1) - 1, DS_REC_METRICS, 0xffff,
                          UINT32_MAX, 1};
    for (int i = 0; i < 5; i++)
        ds_ring_append(ring, &m, 1);
    /* Wait until the five lines are in the file, rotate it, ask for a reopen. */
    size_t n = 0;
    uint8_t *got = NULL;
    uint64_t deadline = ds_time_mono_ms() + 5000;
    while (ds_time_mono_ms() < deadline) {
        free(got);
        got = slurp(path, &n);
        if (count_lines(got, n, NULL) == 5)
            break;
        ds_sleep_ms(2);
    }
    free(got);
    ASSERT_OK(rename(path, rotated));
    ds_outputs_reopen(g.outs);
    for (int i = 0; i < 7; i++)
        ds_ring_append(ring, &m, 1);
    rig_stop(&g);
    got = slurp(rotated, &n);
    size_t a = count_lines(got, n, NULL);
    free(got);
    got = slurp(path, &n);
    size_t b = count_lines(got, n, NULL);
    free(got);
    ASSERT_EQ(a, 5);
    ASSERT_EQ(b, 7);
    remove(path);
    remove(rotated);
    remove(dir);
}

/* An output whose writes keep failing (/dev/full: ENOSPC) retries while running but
 * never holds up the stop, and releases nothing it could not write. */
static void test_failing_output_does_not_block_stop(void)
{
    struct rig g;
    ASSERT_OK(rig_start(&g, "input pdns 127.0.0.1 0\noutput file /dev/full\n"));
    struct ds_ring *ring = g.ring;
    static const char m1[] = "{\"n\":1}";
    struct ds_rec_in m = {(const uint8_t *)m1, sizeof(m1) - 1, DS_REC_METRICS, 0xffff,
                          UINT32_MAX, 1};
    ASSERT_EQ(ds_ring_append(ring, &m, 1), 1);
    ds_ring_shutdown(ring);
    uint64_t t0 = ds_time_mono_ms();
    ds_outputs_stop(&g.outs);
    ASSERT_TRUE(ds_time_mono_ms() - t0 < 3000);
    struct ds_cursor_stats cs;
    ds_ring_cursor_stats(ring, 0, &cs);
    ASSERT_U64_EQ(cs.released, 0);
    struct ds_ring_stats rs;
    ds_ring_stats(ring, &rs);
    ASSERT_U64_EQ(rs.records, 1);
    rig_stop(&g);
}

DS_TEST_MAIN(DS_TEST(test_formats), DS_TEST(test_reopen),
             DS_TEST(test_failing_output_does_not_block_stop))
