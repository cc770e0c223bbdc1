/* test_syslog.c - syslog headers and stream framings (ds_syslog.h). */
#include "ds_err.h"
#include "ds_plat.h"
#include "ds_syslog.h"
#include "ds_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *as_str(struct ds_buf *b)
{
    ds_buf_putc(b, '\0');
    b->len--;
    return (char *)b->data;
}

static void test_5424_header(void)
{
    struct ds_buf b = {0};
    struct ds_syslog_id id = {"dns01", "dnsstream", 4242, "edge-1"};
    /* 2026-11-22T00:00:29.759123Z */
    ds_syslog_5424_header(&b, &id, "dns", 1795305629759123ull, 77);
    ASSERT_STR_EQ(as_str(&b), "<134>1 2026-11-22T00:00:29.759123Z dns01 dnsstream 4242 dns "
                              "[dnsstream@32473 instance=\"edge-1\" seq=\"77\"] ");
    ds_buf_free(&b);
}

static void test_5424_escapes_and_nil(void)
{
    struct ds_buf b = {0};
    struct ds_syslog_id id = {"", "dns stream", -1, "a\"b]c\\d"};
    ds_syslog_5424_header(&b, &id, NULL, 0, 1);
    ASSERT_STR_EQ(as_str(&b), "<134>1 1970-01-01T00:00:00.000000Z - dns_stream - - "
                              "[dnsstream@32473 instance=\"a\\\"b\\]c\\\\d\" seq=\"1\"] ");
    ds_buf_free(&b);
}

static void test_3164_header(void)
{
    struct ds_buf b = {0};
    struct ds_syslog_id id = {"dns01", "dnsstream", 7, "x"};
    uint64_t t = 1795305629759123ull;
    ds_syslog_3164_header(&b, &id, t);
    struct ds_tm tm;
    ds_time_local((int64_t)(t / 1000000u), &tm);
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char want[128];
    snprintf(want, sizeof want, "<134>%s %2d %02d:%02d:%02d dns01 dnsstream[7]: ",
             months[tm.mon - 1], tm.mday, tm.hour, tm.min, tm.sec);
    ASSERT_STR_EQ(as_str(&b), want);
    ds_buf_free(&b);
}

static void test_octet_counting(void)
{
    struct ds_buf b = {0};
    ASSERT_OK(ds_frame_append(&b, DS_FRAMING_OCTET, "hello\nworld", 11));
    ASSERT_OK(ds_frame_append(&b, DS_FRAMING_OCTET, "", 0));
    ASSERT_EQ(b.len, 14 + 2);
    ASSERT_MEM_EQ(b.data, "11 hello\nworld0 ", 16);
    ds_buf_free(&b);
}

static void test_newline_replaces_lf(void)
{
    struct ds_buf b = {0};
    ds_buf_puts(&b, "x\n"); /* what is already there stays untouched */
    ASSERT_OK(ds_frame_append(&b, DS_FRAMING_NEWLINE, "{\"a\":\n1}", 8));
    ASSERT_EQ(b.len, 2 + 9);
    ASSERT_MEM_EQ(b.data, "x\n{\"a\": 1}\n", 11);
    ds_buf_free(&b);
}

static void test_length_prefixes(void)
{
    struct ds_buf b = {0};
    ASSERT_OK(ds_frame_append(&b, DS_FRAMING_16BIT, "abc", 3));
    ASSERT_OK(ds_frame_append(&b, DS_FRAMING_32BIT, "de", 2));
    ASSERT_EQ(b.len, 5 + 6);
    ASSERT_MEM_EQ(b.data, "\x00\x03" "abc" "\x00\x00\x00\x02" "de", 11);
    char *big = calloc(1, 70000);
    ASSERT_EQ(ds_frame_append(&b, DS_FRAMING_16BIT, big, 65536), DS_ERANGE);
    ASSERT_EQ(b.len, 11);
    ASSERT_OK(ds_frame_append(&b, DS_FRAMING_16BIT, big, 65535));
    ASSERT_EQ(b.len, 11 + 2 + 65535);
    ASSERT_EQ(b.data[11], 0xff);
    ASSERT_EQ(b.data[12], 0xff);
    ASSERT_EQ(ds_frame_append(&b, DS_FRAMING_DEFAULT, "a", 1), DS_EINVAL);
    free(big);
    ds_buf_free(&b);
}

/* The RFC 5424 header as the first implementation wrote it (gmtime + printf), to check the
 * printf-free ones against. */
static void ref_5424(char *out, size_t cap, const char *host_app_procid, const char *msgid,
                     const char *instance_escaped, uint64_t time_us, uint64_t seq)
{
    struct ds_tm tm;
    ds_time_utc((int64_t)(time_us / 1000000u), &tm);
    snprintf(out, cap,
             "<134>1 %04d-%02d-%02dT%02d:%02d:%02d.%06uZ %s %s [dnsstream@32473 instance=\"%s\" "
             "seq=\"%llu\"] ",
             tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec, (unsigned)(time_us % 1000000u),
             host_app_procid, msgid, instance_escaped, (unsigned long long)seq);
}

/* Times that cross seconds, come back to an earlier second (the formatter caches the text of
 * recent seconds), and reach the far past and future. */
static const uint64_t some_times[] = {
    1795305629759123ull, 1795305629999999ull, 1795305630000000ull, 1795305629000001ull,
    1700000000123456ull, 1795305630500000ull, 1700000000654321ull, 1795305631000000ull,
    1795305632000000ull, 1795305633000000ull, 1795305629759124ull, 0ull,
    951782400000000ull /* 2000-02-29 */, 4107542399999999ull /* 2100-02-28T23:59:59 */,
    253402300799000000ull /* 9999-12-31T23:59:59 */, 253402300800000000ull /* year 10000 */,
};
#define N_TIMES (sizeof(some_times) / sizeof(some_times[0]))

static void test_5424_matches_printf(void)
{
    struct ds_buf b = {0};
    struct ds_syslog_id id = {"dns01", "dnsstream", 4242, "edge-1"};
    char want[512];
    for (size_t i = 0; i < N_TIMES; i++) {
        ds_buf_reset(&b);
        ds_syslog_5424_header(&b, &id, "dns", some_times[i], 1000 + i);
        ref_5424(want, sizeof want, "dns01 dnsstream 4242", "dns", "edge-1", some_times[i],
                 1000 + i);
        ASSERT_STR_EQ(as_str(&b), want);
    }
    ds_buf_free(&b);
}

/* The prepared header appends exactly what ds_syslog_5424_header appends. */
static void test_hdr_5424(void)
{
    static const struct ds_syslog_id ids[] = {
        {"dns01", "dnsstream", 4242, "edge-1"},
        {"", "dns stream", -1, "a\"b]c\\d"},
        {NULL, "dnsstream", 0, "line\nbreak"},
        {"h\x01st\x7f", "", 65535, ""},
    };
    static const char *const msgids[] = {"dns", "metrics", NULL, "", "a b\nc",
                                         "0123456789012345678901234567890123456789"};
    struct ds_buf got = {0}, want = {0};
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        struct ds_syslog_hdr h;
        ds_syslog_hdr_init(&h, DS_SYSLOG_RFC5424, &ids[k]);
        ASSERT_EQ(h.has_lf, k == 2);
        for (size_t i = 0; i < N_TIMES; i++) {
            const char *msgid = msgids[i % (sizeof(msgids) / sizeof(msgids[0]))];
            uint64_t seq = i == 3 ? UINT64_MAX : i * 977;
            ds_buf_reset(&got);
            ds_buf_reset(&want);
            ds_buf_puts(&got, "x"); /* appends after what is there */
            ds_buf_puts(&want, "x");
            ds_syslog_hdr_put(&h, &got, msgid, some_times[i], seq);
            ds_syslog_5424_header(&want, &ids[k], msgid, some_times[i], seq);
            ASSERT_STR_EQ(as_str(&got), as_str(&want));
        }
        ds_syslog_hdr_free(&h);
    }
    struct ds_syslog_hdr h;
    ds_syslog_hdr_init(&h, DS_SYSLOG_RFC5424, &ids[0]);
    ds_buf_reset(&got);
    ds_syslog_hdr_put(&h, &got, "metrics", 1795305629759123ull, 18446744073709551615ull);
    ASSERT_STR_EQ(as_str(&got), "<134>1 2026-11-22T00:00:29.759123Z dns01 dnsstream 4242 "
                                "metrics [dnsstream@32473 instance=\"edge-1\" "
                                "seq=\"18446744073709551615\"] ");
    ds_syslog_hdr_free(&h);
    ds_syslog_hdr_init(&h, DS_SYSLOG_NONE, &ids[0]);
    ds_buf_reset(&got);
    ds_syslog_hdr_put(&h, &got, "dns", 1, 1);
    ASSERT_EQ(got.len, 0);
    ds_syslog_hdr_free(&h);
    ds_buf_free(&got);
    ds_buf_free(&want);
}

/* RFC 3164, both ways, against printf of the local time, over every day of a year (the
 * day of the month is space-padded) and back to a cached second. */
static void test_hdr_3164(void)
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct ds_syslog_id id = {"dns01", "dnsstream", 7, "x"}, nopid = {"", "a b", -1, "x"};
    struct ds_syslog_hdr h, h2;
    ds_syslog_hdr_init(&h, DS_SYSLOG_RFC3164, &id);
    ds_syslog_hdr_init(&h2, DS_SYSLOG_RFC3164, &nopid);
    struct ds_buf got = {0}, old = {0};
    char want[128];
    for (int day = 0; day < 400; day++) {
        uint64_t t = 1767225600000000ull + (uint64_t)day * 86400000000ull +
                     (uint64_t)(day % 24) * 3723000000ull + 999999u;
        if (day % 50 == 7)
            t = 1767225600000000ull; /* a second seen before */
        struct ds_tm tm;
        ds_time_local((int64_t)(t / 1000000u), &tm);
        snprintf(want, sizeof want, "<134>%s %2d %02d:%02d:%02d dns01 dnsstream[7]: ",
                 months[tm.mon - 1], tm.mday, tm.hour, tm.min, tm.sec);
        ds_buf_reset(&got);
        ds_buf_reset(&old);
        ds_syslog_hdr_put(&h, &got, "dns", t, 5);
        ds_syslog_3164_header(&old, &id, t);
        ASSERT_STR_EQ(as_str(&got), want);
        ASSERT_STR_EQ(as_str(&old), want);
        snprintf(want, sizeof want, "<134>%s %2d %02d:%02d:%02d - a_b: ", months[tm.mon - 1],
                 tm.mday, tm.hour, tm.min, tm.sec);
        ds_buf_reset(&got);
        ds_syslog_hdr_put(&h2, &got, "dns", t, 5);
        ASSERT_STR_EQ(as_str(&got), want);
    }
    ds_syslog_hdr_free(&h);
    ds_syslog_hdr_free(&h2);
    ds_buf_free(&got);
    ds_buf_free(&old);
}

/* Framing in place gives the bytes ds_frame_append gives, for every framing and at every
 * length where a prefix changes size. */
static void test_frame_in_place(void)
{
    static const size_t lens[] = {0,    1,    9,     10,    99,    100,   101,  998,
                                  999,  1000, 1001,  9999,  10000, 65534, 65535, 65536,
                                  99999, 100000, 1000000};
    static const enum ds_framing framings[] = {DS_FRAMING_OCTET, DS_FRAMING_NEWLINE,
                                               DS_FRAMING_16BIT, DS_FRAMING_32BIT};
    uint8_t *msg = malloc(1000000);
    for (size_t i = 0; i < 1000000; i++)
        msg[i] = (uint8_t)('a' + i % 26);
    struct ds_buf got = {0}, want = {0};
    for (size_t f = 0; f < sizeof(framings) / sizeof(framings[0]); f++) {
        for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
            size_t n = lens[k];
            ds_buf_reset(&got);
            ds_buf_reset(&want);
            ds_buf_puts(&got, "before");
            ds_buf_puts(&want, "before");
            int rw = ds_frame_append(&want, framings[f], msg, n);
            size_t mark = ds_frame_begin(&got, framings[f]);
            ASSERT_EQ(mark, 6);
            ds_buf_append(&got, msg, n);
            int rg = ds_frame_end(&got, framings[f], mark);
            ASSERT_EQ(rg, rw);
            ASSERT_EQ(got.len, want.len);
            ASSERT_MEM_EQ(got.data, want.data, got.len);
            if (rw != DS_OK)
                ASSERT_EQ(got.len, 6); /* nothing appended */
            /* and the next message goes on right after */
            mark = ds_frame_begin(&got, framings[f]);
            ds_buf_append(&got, "xyz", 3);
            ASSERT_OK(ds_frame_end(&got, framings[f], mark));
            ASSERT_OK(ds_frame_append(&want, framings[f], "xyz", 3));
            ASSERT_EQ(got.len, want.len);
            ASSERT_MEM_EQ(got.data, want.data, got.len);
        }
    }
    ds_buf_reset(&got);
    size_t mark = ds_frame_begin(&got, DS_FRAMING_DEFAULT);
    ds_buf_puts(&got, "abc");
    ASSERT_EQ(ds_frame_end(&got, DS_FRAMING_DEFAULT, mark), DS_EINVAL);
    ASSERT_EQ(got.len, 0);
    /* newline framing in place leaves LFs to the caller */
    mark = ds_frame_begin(&got, DS_FRAMING_NEWLINE);
    ds_buf_puts(&got, "a\nb");
    ASSERT_OK(ds_frame_end(&got, DS_FRAMING_NEWLINE, mark));
    ASSERT_EQ(got.len, 4);
    ASSERT_MEM_EQ(got.data, "a\nb\n", 4);
    free(msg);
    ds_buf_free(&got);
    ds_buf_free(&want);
}

static void test_lf_to_space(void)
{
    char s[] = "\na\nb\n\nc\n";
    ds_frame_lf_to_space((uint8_t *)s, strlen(s));
    ASSERT_STR_EQ(s, " a b  c ");
    char t[] = "no\nchange";
    ds_frame_lf_to_space((uint8_t *)t, 2);
    ASSERT_STR_EQ(t, "no\nchange");
    ds_frame_lf_to_space(NULL, 0);
}

static void test_defaults(void)
{
    ASSERT_EQ(ds_framing_default(DS_FMT_PDNS, DS_SYSLOG_NONE), DS_FRAMING_16BIT);
    ASSERT_EQ(ds_framing_default(DS_FMT_PDNS, DS_SYSLOG_RFC5424), DS_FRAMING_16BIT);
    ASSERT_EQ(ds_framing_default(DS_FMT_JSON, DS_SYSLOG_RFC5424), DS_FRAMING_OCTET);
    ASSERT_EQ(ds_framing_default(DS_FMT_BIND, DS_SYSLOG_RFC3164), DS_FRAMING_OCTET);
    ASSERT_EQ(ds_framing_default(DS_FMT_JSON, DS_SYSLOG_NONE), DS_FRAMING_NEWLINE);
    ASSERT_EQ(ds_framing_default(DS_FMT_BIND, DS_SYSLOG_NONE), DS_FRAMING_NEWLINE);
    ASSERT_STR_EQ(ds_framing_name(DS_FRAMING_OCTET), "octet-counting");
    ASSERT_STR_EQ(ds_framing_name(DS_FRAMING_32BIT), "32bit");
}

DS_TEST_MAIN(DS_TEST(test_5424_header), DS_TEST(test_5424_escapes_and_nil),
             DS_TEST(test_3164_header), DS_TEST(test_octet_counting),
             DS_TEST(test_newline_replaces_lf), DS_TEST(test_length_prefixes),
             DS_TEST(test_defaults), DS_TEST(test_5424_matches_printf), DS_TEST(test_hdr_5424),
             DS_TEST(test_hdr_3164), DS_TEST(test_frame_in_place), DS_TEST(test_lf_to_space))
