/* test_syslog.c - syslog headers and stream framings (ds_syslog.h). */
#include "ds_err.h"
#include "ds_plat.h"
#include "ds_syslog.h"
#include "ds_test.h"

#include <stdio.h>
#include <stdlib.h>

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
             DS_TEST(test_defaults))
