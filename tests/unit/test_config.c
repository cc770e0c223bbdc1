/*
 * test_config.c - the dnsstream.conf loader: defaults, every directive, both line
 * forms, comments and quoting, and every error with its exact "FILE:LINE: reason".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_config.h"
#include "ds_config_lex.h"
#include "ds_err.h"
#include "ds_log.h"
#include "ds_plat.h"
#include "ds_test.h"

#define MIN_CONF "input pdns 127.0.0.1 6000\noutput stdout\n"

static char err[1024];

/* Load text that must be accepted; the caller frees cfg. */
#define LOAD_OK(text, cfg)                                                       \
    do {                                                                         \
        int rc_ = ds_config_load_string("t.conf", (text), (cfg), err, sizeof(err)); \
        if (rc_ != DS_OK)                                                        \
            DS_FAIL_AT("load failed (%d): %s", rc_, err);                        \
        ASSERT_STR_EQ(err, "");                                                  \
    } while (0)

/* Load text that must be refused with exactly this message. */
#define LOAD_ERR(text, msg)                                                      \
    do {                                                                         \
        struct ds_config c_;                                                     \
        int rc_ = ds_config_load_string("t.conf", (text), &c_, err, sizeof(err)); \
        ASSERT_EQ(rc_, DS_EINVAL);                                               \
        ASSERT_STR_EQ(err, (msg));                                               \
        ASSERT_TRUE(c_.source == NULL && c_.n_inputs == 0 && c_.inputs == NULL);  \
        ASSERT_TRUE(c_.n_outputs == 0 && c_.n_forwarders == 0);                  \
    } while (0)

static void test_embedded_default(void)
{
    struct ds_config cfg;
    int rc = ds_config_load_string("<embedded>", ds_default_config, &cfg, err, sizeof(err));
    ASSERT_EQ(rc, DS_OK);
    ASSERT_STR_EQ(cfg.source, "<embedded>");
    ASSERT_EQ(cfg.n_inputs, 1);
    ASSERT_EQ(cfg.inputs[0].kind, DS_INPUT_PDNS);
    ASSERT_STR_EQ(cfg.inputs[0].address, "127.0.0.1");
    ASSERT_EQ(cfg.inputs[0].port, 6000);
    ASSERT_EQ(cfg.inputs[0].framing, DS_FRAMING_16BIT);
    ASSERT_EQ(cfg.inputs[0].max_connections, 64);
    ASSERT_EQ(cfg.inputs[0].max_frame, 65535);
    ASSERT_EQ(cfg.n_outputs, 1);
    ASSERT_EQ(cfg.outputs[0].kind, DS_OUTPUT_FILE);
    ASSERT_STR_EQ(cfg.outputs[0].path, "dnsstream-events.jsonl");
    ASSERT_EQ(cfg.outputs[0].format, DS_FMT_JSON);
    ASSERT_EQ(cfg.n_forwarders, 0);
    ASSERT_U64_EQ(cfg.queue_size, 104857600);
    ASSERT_EQ(cfg.queue_recovery, 0);
    ASSERT_EQ(cfg.log_level, DS_LOG_INFO);
    ASSERT_EQ(cfg.log_format, DS_LOG_TEXT);
    ASSERT_EQ(cfg.metrics_interval_ms, 60000);
    ds_config_free(&cfg);
    ASSERT_TRUE(cfg.source == NULL && cfg.inputs == NULL && cfg.outputs == NULL);
}

static void test_shipped_file_equals_embedded(void)
{
    struct ds_config cfg;
    const char *path = DS_SOURCE_DIR "/conf/dnsstream.conf";
    ASSERT_EQ(ds_config_load_file(path, &cfg, err, sizeof(err)), DS_OK);
    ASSERT_STR_EQ(cfg.source, path);
    ASSERT_EQ(cfg.n_inputs, 1);
    ASSERT_EQ(cfg.inputs[0].line, 8);
    ASSERT_EQ(cfg.n_outputs, 1);
    ASSERT_EQ(cfg.outputs[0].line, 12);
    ASSERT_STR_EQ(cfg.outputs[0].path, "dnsstream-events.jsonl");
    ds_config_free(&cfg);
}

static void test_every_default(void)
{
    struct ds_config cfg;
    LOAD_OK(MIN_CONF, &cfg);
    char host[256];
    ASSERT_OK(ds_hostname(host, sizeof(host)));
    ASSERT_STR_EQ(cfg.source, "t.conf");
    ASSERT_STR_EQ(cfg.instance_name, host);
    ASSERT_STR_EQ(cfg.state_dir, ds_default_state_dir());
    ASSERT_EQ(cfg.n_inputs, 1);
    ASSERT_EQ(cfg.inputs[0].line, 1);
    ASSERT_EQ(cfg.n_outputs, 1);
    ASSERT_EQ(cfg.outputs[0].kind, DS_OUTPUT_STDOUT);
    ASSERT_TRUE(cfg.outputs[0].path == NULL);
    ASSERT_EQ(cfg.outputs[0].format, DS_FMT_JSON);
    ASSERT_EQ(cfg.outputs[0].line, 2);
    ASSERT_U64_EQ(cfg.queue_size, 104857600);
    ASSERT_EQ(cfg.queue_recovery, 0);
    ASSERT_STR_EQ(cfg.queue_filename, "dnsstream.queue");
    ASSERT_EQ(cfg.queue_sync_ms, 1000);
    ASSERT_EQ(cfg.queue_overflow, DS_OVERFLOW_DROP_NEWEST);
    ASSERT_EQ(cfg.forwarder_recovery, DS_RECOVERY_DURABLE);
    ASSERT_EQ(cfg.forwarder_mode, DS_FWD_BROADCAST);
    ASSERT_EQ(cfg.forwarder_batch_size, 512);
    ASSERT_EQ(cfg.backoff_min_ms, 200);
    ASSERT_EQ(cfg.backoff_max_ms, 30000);
    ASSERT_EQ(cfg.metrics_interval_ms, 60000);
    ASSERT_EQ(cfg.log_level, DS_LOG_INFO);
    ASSERT_EQ(cfg.log_format, DS_LOG_TEXT);
    ds_config_free(&cfg);
}

static void test_every_global_directive(void)
{
    struct ds_config cfg;
    LOAD_OK(MIN_CONF "forwarder-recovery best-effort\n"
                     "forwarder-mode failover\n"
                     "forwarder-batch-size 64\n"
                     "forwarder-backoff 500ms 2m\n"
                     "queue-size 1G\n"
                     "queue-recovery on\n"
                     "queue-filename spool.q\n"
                     "queue-sync 250ms\n"
                     "queue-overflow drop-oldest\n"
                     "metrics-interval 0\n"
                     "log-level debug\n"
                     "log-format json\n"
                     "instance-name dns-01\n"
                     "state-directory /var/lib/dnsstream\n",
            &cfg);
    ASSERT_EQ(cfg.forwarder_recovery, DS_RECOVERY_BEST_EFFORT);
    ASSERT_EQ(cfg.forwarder_mode, DS_FWD_FAILOVER);
    ASSERT_EQ(cfg.forwarder_batch_size, 64);
    ASSERT_EQ(cfg.backoff_min_ms, 500);
    ASSERT_EQ(cfg.backoff_max_ms, 120000);
    ASSERT_U64_EQ(cfg.queue_size, 1073741824);
    ASSERT_EQ(cfg.queue_recovery, 1);
    ASSERT_STR_EQ(cfg.queue_filename, "spool.q");
    ASSERT_EQ(cfg.queue_sync_ms, 250);
    ASSERT_EQ(cfg.queue_overflow, DS_OVERFLOW_DROP_OLDEST);
    ASSERT_EQ(cfg.metrics_interval_ms, 0);
    ASSERT_EQ(cfg.log_level, DS_LOG_DEBUG);
    ASSERT_EQ(cfg.log_format, DS_LOG_JSON);
    ASSERT_STR_EQ(cfg.instance_name, "dns-01");
    ASSERT_STR_EQ(cfg.state_dir, "/var/lib/dnsstream");
    ds_config_free(&cfg);
}

static void test_keyword_values(void)
{
    static const struct {
        const char *line;
        int want;
    } recov[] = {{"forwarder-recovery drop\n", DS_RECOVERY_DROP},
                 {"forwarder-recovery durable\n", DS_RECOVERY_DURABLE},
                 {"forwarder-mode roundrobin\n", DS_FWD_ROUNDROBIN},
                 {"forwarder-mode sharded\n", DS_FWD_SHARDED},
                 {"forwarder-mode broadcast\n", DS_FWD_BROADCAST},
                 {"queue-overflow drop-newest\n", DS_OVERFLOW_DROP_NEWEST},
                 {"log-level error\n", DS_LOG_ERROR},
                 {"log-level warn\n", DS_LOG_WARN},
                 {"log-level warning\n", DS_LOG_WARN},
                 {"log-level info\n", DS_LOG_INFO},
                 {"log-format text\n", DS_LOG_TEXT}};
    for (size_t i = 0; i < sizeof(recov) / sizeof(recov[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), MIN_CONF "%s", recov[i].line);
        struct ds_config cfg;
        LOAD_OK(text, &cfg);
        int got = i < 2   ? (int)cfg.forwarder_recovery
                  : i < 5 ? (int)cfg.forwarder_mode
                  : i < 6 ? (int)cfg.queue_overflow
                  : i < 10 ? cfg.log_level
                           : cfg.log_format;
        ds_config_free(&cfg);
        if (got != recov[i].want)
            DS_FAIL_AT("%s gave %d, expected %d", recov[i].line, got, recov[i].want);
    }
}

static void test_queue_size_forms(void)
{
    static const struct {
        const char *v;
        uint64_t want;
    } cases[] = {{"104857600", 104857600},  {"65536", 65536},
                 {"64k", 65536},            {"64K", 65536},
                 {"256M", 268435456},       {"2G", 2147483648ull},
                 {"1099511627776", 1ull << 40}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), MIN_CONF "queue-size %s\n", cases[i].v);
        struct ds_config cfg;
        LOAD_OK(text, &cfg);
        uint64_t got = cfg.queue_size;
        ds_config_free(&cfg);
        ASSERT_U64_EQ(got, cases[i].want);
    }
}

static void test_value_parsers(void)
{
    unsigned ms = 7;
    ASSERT_EQ(ds_cfg_parse_duration_ms("0", &ms), DS_OK);
    ASSERT_EQ(ms, 0);
    ASSERT_EQ(ds_cfg_parse_duration_ms("5", &ms), DS_OK);
    ASSERT_EQ(ms, 5000);
    ASSERT_EQ(ds_cfg_parse_duration_ms("5s", &ms), DS_OK);
    ASSERT_EQ(ms, 5000);
    ASSERT_EQ(ds_cfg_parse_duration_ms("250ms", &ms), DS_OK);
    ASSERT_EQ(ms, 250);
    ASSERT_EQ(ds_cfg_parse_duration_ms("2m", &ms), DS_OK);
    ASSERT_EQ(ms, 120000);
    ASSERT_EQ(ds_cfg_parse_duration_ms("1h", &ms), DS_OK);
    ASSERT_EQ(ms, 3600000);
    ASSERT_EQ(ds_cfg_parse_duration_ms("1193h", &ms), DS_OK);
    ASSERT_EQ(ds_cfg_parse_duration_ms("1194h", &ms), DS_ERANGE);
    ASSERT_EQ(ds_cfg_parse_duration_ms("99999999999999999999999", &ms), DS_ERANGE);
    ASSERT_EQ(ds_cfg_parse_duration_ms("1.5", &ms), DS_EINVAL);
    ASSERT_EQ(ds_cfg_parse_duration_ms("5x", &ms), DS_EINVAL);
    ASSERT_EQ(ds_cfg_parse_duration_ms("-1", &ms), DS_EINVAL);
    ASSERT_EQ(ds_cfg_parse_duration_ms("", &ms), DS_EINVAL);
    ASSERT_EQ(ds_cfg_parse_duration_ms("s", &ms), DS_EINVAL);

    uint64_t v = 0;
    ASSERT_EQ(ds_cfg_parse_size("1k", &v), DS_OK);
    ASSERT_U64_EQ(v, 1024);
    ASSERT_EQ(ds_cfg_parse_size("3M", &v), DS_OK);
    ASSERT_U64_EQ(v, 3145728);
    ASSERT_EQ(ds_cfg_parse_size("1m", &v), DS_EINVAL);
    ASSERT_EQ(ds_cfg_parse_size("1T", &v), DS_EINVAL);
    ASSERT_EQ(ds_cfg_parse_size("1 k", &v), DS_EINVAL);
    ASSERT_EQ(ds_cfg_parse_size("17179869184G", &v), DS_ERANGE);
    ASSERT_EQ(ds_cfg_parse_uint("65535", 65535, &v), DS_OK);
    ASSERT_U64_EQ(v, 65535);
    ASSERT_EQ(ds_cfg_parse_uint("65536", 65535, &v), DS_ERANGE);
    ASSERT_EQ(ds_cfg_parse_uint("+1", 65535, &v), DS_EINVAL);

    bool b = false;
    const char *yes[] = {"on", "yes", "true"}, *no[] = {"off", "no", "false"};
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(ds_cfg_parse_bool(yes[i], &b), DS_OK);
        ASSERT_EQ(b, 1);
        ASSERT_EQ(ds_cfg_parse_bool(no[i], &b), DS_OK);
        ASSERT_EQ(b, 0);
    }
    ASSERT_EQ(ds_cfg_parse_bool("On", &b), DS_EINVAL);
    ASSERT_EQ(ds_cfg_parse_bool("1", &b), DS_EINVAL);
}

static void test_input_options(void)
{
    struct ds_config cfg;
    LOAD_OK("input pdns 0.0.0.0 6000\n"
            "input pdns ::1 6001 framing=32bit\n"
            "input pdns [2001:db8::5] 6002 framing=16bit max-connections=8 max-frame=4k\n"
            "input pdns 127.0.0.1 0\n"
            "input pdns 127.0.0.1 0 framing=32bit max-frame=64M\n"
            "output stdout\n",
            &cfg);
    ASSERT_EQ(cfg.n_inputs, 5);
    ASSERT_STR_EQ(cfg.inputs[0].address, "0.0.0.0");
    ASSERT_STR_EQ(cfg.inputs[1].address, "::1");
    ASSERT_EQ(cfg.inputs[1].port, 6001);
    ASSERT_EQ(cfg.inputs[1].framing, DS_FRAMING_32BIT);
    ASSERT_EQ(cfg.inputs[1].max_frame, 1048576);
    ASSERT_EQ(cfg.inputs[1].max_connections, 64);
    ASSERT_STR_EQ(cfg.inputs[2].address, "2001:db8::5");
    ASSERT_EQ(cfg.inputs[2].framing, DS_FRAMING_16BIT);
    ASSERT_EQ(cfg.inputs[2].max_connections, 8);
    ASSERT_EQ(cfg.inputs[2].max_frame, 4096);
    ASSERT_EQ(cfg.inputs[2].line, 3);
    ASSERT_EQ(cfg.inputs[3].port, 0);
    ASSERT_EQ(cfg.inputs[4].max_frame, 67108864);
    ds_config_free(&cfg);
}

static void test_outputs(void)
{
    struct ds_config cfg;
    LOAD_OK("input pdns 127.0.0.1 6000\n"
            "output file a.jsonl\n"
            "output file /var/log/dns/b.log format=bind\n"
            "output file c.pb format=pdns\n"
            "output stdout format=json\n",
            &cfg);
    ASSERT_EQ(cfg.n_outputs, 4);
    ASSERT_EQ(cfg.outputs[0].kind, DS_OUTPUT_FILE);
    ASSERT_STR_EQ(cfg.outputs[0].path, "a.jsonl");
    ASSERT_EQ(cfg.outputs[0].format, DS_FMT_JSON);
    ASSERT_STR_EQ(cfg.outputs[1].path, "/var/log/dns/b.log");
    ASSERT_EQ(cfg.outputs[1].format, DS_FMT_BIND);
    ASSERT_EQ(cfg.outputs[2].format, DS_FMT_PDNS);
    ASSERT_EQ(cfg.outputs[3].kind, DS_OUTPUT_STDOUT);
    ASSERT_EQ(cfg.outputs[3].line, 5);
    ds_config_free(&cfg);
}

static void test_product_document_lines(void)
{
    struct ds_config cfg;
    LOAD_OK("input pdns 127.0.0.1 6000\n"
            "forwarder ipv4 siem.corp.local 514\n"
            "forwarder ipv6 siem-v6.corp.local 6514 tls=on tls-client-certificate=auto\n"
            "queue-size 104857600\n"
            "queue-recovery on\n"
            "queue-filename dnsstream.queue\n"
            "forwarder-recovery durable\n",
            &cfg);
    ASSERT_EQ(cfg.n_outputs, 0);
    ASSERT_EQ(cfg.n_forwarders, 2);
    const struct ds_forwarder_cfg *f = &cfg.forwarders[0];
    ASSERT_EQ(f->family, 4);
    ASSERT_STR_EQ(f->host, "siem.corp.local");
    ASSERT_EQ(f->port, 514);
    ASSERT_EQ(f->format, DS_FMT_JSON);
    ASSERT_EQ(f->syslog, DS_SYSLOG_RFC5424);
    ASSERT_EQ(f->framing, DS_FRAMING_OCTET);
    ASSERT_EQ(f->recovery, -1);
    ASSERT_EQ(f->tls, 0);
    ASSERT_TRUE(f->tls_ca_file == NULL && f->tls_client_cert == NULL);
    ASSERT_TRUE(f->tls_client_key == NULL && f->tls_server_name == NULL);
    ASSERT_EQ(f->tls_verify, 1);
    ASSERT_EQ(f->connect_timeout_ms, 5000);
    ASSERT_EQ(f->write_timeout_ms, 5000);
    ASSERT_EQ(f->encode_threads, 1);
    ASSERT_EQ(f->line, 2);
    f = &cfg.forwarders[1];
    ASSERT_EQ(f->family, 6);
    ASSERT_STR_EQ(f->host, "siem-v6.corp.local");
    ASSERT_EQ(f->port, 6514);
    ASSERT_EQ(f->tls, 1);
    ASSERT_STR_EQ(f->tls_client_cert, "auto");
    ASSERT_TRUE(f->tls_client_key == NULL);
    ASSERT_EQ(f->syslog, DS_SYSLOG_RFC5424);
    ASSERT_EQ(f->framing, DS_FRAMING_OCTET);
    ASSERT_EQ(f->line, 3);
    ASSERT_U64_EQ(cfg.queue_size, 104857600);
    ASSERT_EQ(cfg.queue_recovery, 1);
    ASSERT_STR_EQ(cfg.queue_filename, "dnsstream.queue");
    ASSERT_EQ(cfg.forwarder_recovery, DS_RECOVERY_DURABLE);
    ds_config_free(&cfg);
}

static void test_forwarder_all_options(void)
{
    /* Every option, over two forwarders (one line would pass the line limit). */
    struct ds_config cfg;
    LOAD_OK("input pdns 127.0.0.1 6000\n"
            "forwarder ipv6 2001:db8::1 6514 format=bind syslog=rfc3164 framing=newline "
            "recovery=drop connect-timeout=2500ms write-timeout=1m encode-threads=4\n"
            "forwarder ipv4 siem.corp.local 6514 tls=on tls-ca-file=/etc/ssl/ca.pem "
            "tls-client-certificate=c.pem tls-client-key=k.pem tls-server-name=siem.corp.local "
            "tls-verify=off durable-hold=2M\n",
            &cfg);
    ASSERT_EQ(cfg.n_forwarders, 2);
    const struct ds_forwarder_cfg *f = &cfg.forwarders[0];
    ASSERT_EQ(f->family, 6);
    ASSERT_STR_EQ(f->host, "2001:db8::1");
    ASSERT_EQ(f->port, 6514);
    ASSERT_EQ(f->format, DS_FMT_BIND);
    ASSERT_EQ(f->syslog, DS_SYSLOG_RFC3164);
    ASSERT_EQ(f->framing, DS_FRAMING_NEWLINE);
    ASSERT_EQ(f->recovery, DS_RECOVERY_DROP);
    ASSERT_EQ(f->tls, 0);
    ASSERT_EQ(f->connect_timeout_ms, 2500);
    ASSERT_EQ(f->write_timeout_ms, 60000);
    ASSERT_EQ(f->encode_threads, 4);
    f = &cfg.forwarders[1];
    ASSERT_EQ(f->family, 4);
    ASSERT_EQ(f->tls, 1);
    ASSERT_STR_EQ(f->tls_ca_file, "/etc/ssl/ca.pem");
    ASSERT_STR_EQ(f->tls_client_cert, "c.pem");
    ASSERT_STR_EQ(f->tls_client_key, "k.pem");
    ASSERT_STR_EQ(f->tls_server_name, "siem.corp.local");
    ASSERT_EQ(f->tls_verify, 0);
    ASSERT_EQ(f->recovery, -1);
    ASSERT_U64_EQ(f->durable_hold, 2u << 20);
    ASSERT_U64_EQ(cfg.forwarders[0].durable_hold, 0); /* the default */
    ds_config_free(&cfg);
}

static void test_forwarder_framing_defaults(void)
{
    static const struct {
        const char *opts;
        enum ds_format format;
        enum ds_syslog syslog;
        enum ds_framing framing;
    } cases[] = {
        {"", DS_FMT_JSON, DS_SYSLOG_RFC5424, DS_FRAMING_OCTET},
        {"format=bind", DS_FMT_BIND, DS_SYSLOG_RFC5424, DS_FRAMING_OCTET},
        {"syslog=rfc3164", DS_FMT_JSON, DS_SYSLOG_RFC3164, DS_FRAMING_OCTET},
        {"syslog=none", DS_FMT_JSON, DS_SYSLOG_NONE, DS_FRAMING_NEWLINE},
        {"format=bind syslog=none", DS_FMT_BIND, DS_SYSLOG_NONE, DS_FRAMING_NEWLINE},
        {"framing=newline", DS_FMT_JSON, DS_SYSLOG_RFC5424, DS_FRAMING_NEWLINE},
        {"format=pdns", DS_FMT_PDNS, DS_SYSLOG_NONE, DS_FRAMING_16BIT},
        {"format=pdns syslog=none", DS_FMT_PDNS, DS_SYSLOG_NONE, DS_FRAMING_16BIT},
        {"format=pdns framing=32bit", DS_FMT_PDNS, DS_SYSLOG_NONE, DS_FRAMING_32BIT},
        {"framing=octet-counting format=json", DS_FMT_JSON, DS_SYSLOG_RFC5424, DS_FRAMING_OCTET},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "input pdns 127.0.0.1 6000\nforwarder ipv4 10.1.2.3 514 %s\n",
                 cases[i].opts);
        struct ds_config cfg;
        LOAD_OK(text, &cfg);
        struct ds_forwarder_cfg f = cfg.forwarders[0];
        ds_config_free(&cfg);
        if (f.format != cases[i].format || f.syslog != cases[i].syslog ||
            f.framing != cases[i].framing)
            DS_FAIL_AT("'%s': format %d syslog %d framing %d", cases[i].opts, f.format, f.syslog,
                       f.framing);
    }
}

static void test_name_equals_value_form(void)
{
    struct ds_config cfg;
    LOAD_OK("input = pdns ::1 6000\n"
            "forwarder = ipv6 2001:db8::1 514 format=bind\n"
            "queue-size = 1M\n"
            "log-level=debug\n"
            "instance-name =dns-02\n"
            "metrics-interval= 30\n",
            &cfg);
    ASSERT_STR_EQ(cfg.inputs[0].address, "::1");
    ASSERT_STR_EQ(cfg.forwarders[0].host, "2001:db8::1");
    ASSERT_EQ(cfg.forwarders[0].format, DS_FMT_BIND);
    ASSERT_U64_EQ(cfg.queue_size, 1048576);
    ASSERT_EQ(cfg.log_level, DS_LOG_DEBUG);
    ASSERT_STR_EQ(cfg.instance_name, "dns-02");
    ASSERT_EQ(cfg.metrics_interval_ms, 30000);
    ds_config_free(&cfg);
}

static void test_comments_blanks_and_quotes(void)
{
    struct ds_config cfg;
    LOAD_OK("\xEF\xBB\xBF# a comment\r\n"
            "; another comment\r\n"
            "\r\n"
            "   \t\r\n"
            "  input pdns 127.0.0.1 6000   # listen here\r\n"
            "\tlog-level debug ; inline\r\n"
            "output file \"C:\\\\Program Files\\\\dns events.jsonl\" format=json\n"
            "instance-name \"dns #1; \\\"east\\\"\"\n"
            "state-directory /srv/a#b;c\n"
            "forwarder ipv4 10.0.0.1 514 tls=on tls-ca-file=\"/etc/my certs/ca.pem\"\n"
            "queue-filename C:\\queue\\dnsstream.queue",
            &cfg);
    ASSERT_EQ(cfg.inputs[0].line, 5);
    ASSERT_EQ(cfg.log_level, DS_LOG_DEBUG);
    ASSERT_STR_EQ(cfg.outputs[0].path, "C:\\Program Files\\dns events.jsonl");
    ASSERT_EQ(cfg.outputs[0].line, 7);
    ASSERT_STR_EQ(cfg.instance_name, "dns #1; \"east\"");
    ASSERT_STR_EQ(cfg.state_dir, "/srv/a#b;c");
    ASSERT_STR_EQ(cfg.forwarders[0].tls_ca_file, "/etc/my certs/ca.pem");
    ASSERT_EQ(cfg.forwarders[0].line, 10);
    ASSERT_STR_EQ(cfg.queue_filename, "C:\\queue\\dnsstream.queue");
    ds_config_free(&cfg);
}

static void test_indented_line_is_not_a_continuation(void)
{
    /* inih (INI_ALLOW_MULTILINE) would append an indented line to the previous
     * value; the reader strips the indentation, so it is a directive of its own. */
    struct ds_config cfg;
    LOAD_OK(MIN_CONF "log-level debug\n    log-format json\n", &cfg);
    ASSERT_EQ(cfg.log_level, DS_LOG_DEBUG);
    ASSERT_EQ(cfg.log_format, DS_LOG_JSON);
    ds_config_free(&cfg);
}

static void test_line_length_limit(void)
{
    /* inih (200-byte buffer in Debian's build) only sees the directive name, so long
     * lines work up to our own limit of 4096 characters. */
    static char text[9000], blanks[5000];
    size_t nb = 4096 - strlen("log-level") - strlen("debug");
    memset(blanks, ' ', nb);
    blanks[nb] = 0; /* "log-level" + blanks + "debug" = 4096 characters */
    snprintf(text, sizeof(text), MIN_CONF "log-level%sdebug\n", blanks);
    struct ds_config cfg;
    LOAD_OK(text, &cfg);
    ASSERT_EQ(cfg.log_level, DS_LOG_DEBUG);
    ds_config_free(&cfg);

    blanks[nb] = ' ';
    blanks[nb + 1] = 0;
    snprintf(text, sizeof(text), MIN_CONF "log-level%sdebug\nlog-format json\n", blanks);
    LOAD_ERR(text, "t.conf:3: line too long (4097 characters, at most 4096)");

    /* A long forwarder line (210 characters) that inih alone would have split. */
    snprintf(text, sizeof(text),
             "input pdns 127.0.0.1 6000\n"
             "forwarder ipv4 siem.corp.local 6514 tls=on tls-ca-file=/etc/dnsstream/tls/ca.pem "
             "tls-client-certificate=/etc/dnsstream/tls/client.pem "
             "tls-client-key=/etc/dnsstream/tls/client.key tls-server-name=siem.corp.local\n");
    LOAD_OK(text, &cfg);
    ASSERT_EQ(cfg.n_forwarders, 1);
    ASSERT_STR_EQ(cfg.forwarders[0].tls_client_key, "/etc/dnsstream/tls/client.key");
    ASSERT_STR_EQ(cfg.forwarders[0].tls_server_name, "siem.corp.local");
    ds_config_free(&cfg);

    /* The same limit with CRLF: the '\r' is not counted. */
    snprintf(text, sizeof(text), MIN_CONF "\r\n\r\nlog-level%sdebug\r\n", blanks);
    LOAD_ERR(text, "t.conf:5: line too long (4097 characters, at most 4096)");
}

static void test_errors_directive(void)
{
    LOAD_ERR(MIN_CONF "queue-sise 1000000\n", "t.conf:3: unknown directive 'queue-sise'");
    LOAD_ERR(MIN_CONF "Queue-Size 1000000\n", "t.conf:3: unknown directive 'Queue-Size'");
    LOAD_ERR(MIN_CONF "queue-size: 1000000\n", "t.conf:3: unknown directive 'queue-size:'");
    LOAD_ERR(MIN_CONF "= 5\n", "t.conf:3: missing directive name before '='");
    LOAD_ERR(MIN_CONF "[main]\nlog-level info\n",
             "t.conf:3: sections are not used in dnsstream.conf: '[main]'");
    LOAD_ERR(MIN_CONF "log-level \x01info\n", "t.conf:3: control character 0x01 in line");
    LOAD_ERR(MIN_CONF "log-level debug\nlog-level info\n",
             "t.conf:4: log-level: 'info' repeats the setting on line 3 (each setting may "
             "appear once)");
    LOAD_ERR(MIN_CONF "instance-name \"dns 1\n",
             "t.conf:3: instance-name: unterminated quote in '\"dns 1'");
}

static void test_errors_arguments(void)
{
    LOAD_ERR(MIN_CONF "queue-size\n",
             "t.conf:3: queue-size: missing BYTES (usage: queue-size BYTES)");
    LOAD_ERR(MIN_CONF "queue-size 1M 2M\n",
             "t.conf:3: queue-size: too many arguments: '2M' (usage: queue-size BYTES)");
    LOAD_ERR(MIN_CONF "queue-size # 1M\n",
             "t.conf:3: queue-size: missing BYTES (usage: queue-size BYTES)");
    LOAD_ERR(MIN_CONF "forwarder-backoff 1s\n",
             "t.conf:3: forwarder-backoff: missing MAX (usage: forwarder-backoff MIN MAX)");
    LOAD_ERR(MIN_CONF "forwarder ipv4 siem.corp.local\n",
             "t.conf:3: forwarder: missing PORT (usage: forwarder ipv4|ipv6 HOST PORT "
             "[key=value ...])");
    LOAD_ERR(MIN_CONF "forwarder ipv4 siem.corp.local tls=on\n",
             "t.conf:3: forwarder: missing PORT (usage: forwarder ipv4|ipv6 HOST PORT "
             "[key=value ...])");
    LOAD_ERR(MIN_CONF "forwarder\n",
             "t.conf:3: forwarder: missing ipv4|ipv6 (usage: forwarder ipv4|ipv6 HOST PORT "
             "[key=value ...])");
    LOAD_ERR(MIN_CONF "forwarder ipv4 siem.corp.local 514 515\n",
             "t.conf:3: forwarder: too many arguments: '515' (usage: forwarder ipv4|ipv6 HOST "
             "PORT [key=value ...])");
    LOAD_ERR(MIN_CONF "forwarder ipv4 siem.corp.local 514 tls=on extra\n",
             "t.conf:3: forwarder: too many arguments: 'extra' (usage: forwarder ipv4|ipv6 HOST "
             "PORT [key=value ...])");
    LOAD_ERR("input pdns 127.0.0.1\noutput stdout\n",
             "t.conf:1: input: missing PORT (usage: input pdns ADDRESS PORT [framing=16bit|32bit]"
             " [max-connections=N] [max-frame=BYTES])");
    LOAD_ERR(MIN_CONF "input\n",
             "t.conf:3: input: missing TYPE (usage: input pdns ADDRESS PORT "
             "[framing=16bit|32bit] [max-connections=N] [max-frame=BYTES])");
    LOAD_ERR(MIN_CONF "output file\n",
             "t.conf:3: output: missing PATH (usage: output file PATH [format=json|bind|pdns] | "
             "output stdout [format=json|bind|pdns])");
    LOAD_ERR(MIN_CONF "output file \"\"\n", "t.conf:3: output: empty PATH");
    LOAD_ERR(MIN_CONF "output stdout x.log\n",
             "t.conf:3: output: too many arguments: 'x.log' (usage: output file PATH "
             "[format=json|bind|pdns] | output stdout [format=json|bind|pdns])");
    LOAD_ERR(MIN_CONF "log-level\n",
             "t.conf:3: log-level: missing LEVEL (usage: log-level error|warn|info|debug)");
    LOAD_ERR(MIN_CONF "instance-name \"\"\n", "t.conf:3: instance-name: empty NAME");
}

static void test_errors_values(void)
{
    LOAD_ERR(MIN_CONF "queue-size 12x\n",
             "t.conf:3: queue-size: bad size '12x' (use bytes, or a number with k, M or G)");
    LOAD_ERR(MIN_CONF "queue-size 65535\n",
             "t.conf:3: queue-size: size '65535' is below the minimum 65536");
    LOAD_ERR(MIN_CONF "queue-size 2048G\n",
             "t.conf:3: queue-size: size '2048G' is above the maximum 1099511627776 (1024G)");
    LOAD_ERR(MIN_CONF "queue-recovery maybe\n",
             "t.conf:3: queue-recovery: bad value 'maybe' (use on or off)");
    LOAD_ERR(MIN_CONF "queue-sync soon\n",
             "t.conf:3: queue-sync: bad DURATION 'soon' (use seconds, or a number with ms, s, m "
             "or h)");
    LOAD_ERR(MIN_CONF "queue-overflow drop-all\n",
             "t.conf:3: queue-overflow: bad policy 'drop-all' (use drop-newest or drop-oldest)");
    LOAD_ERR(MIN_CONF "metrics-interval 5000h\n",
             "t.conf:3: metrics-interval: DURATION '5000h' is too long");
    LOAD_ERR(MIN_CONF "log-level loud\n",
             "t.conf:3: log-level: bad level 'loud' (use error, warn, info or debug)");
    LOAD_ERR(MIN_CONF "log-format xml\n",
             "t.conf:3: log-format: bad format 'xml' (use text or json)");
    LOAD_ERR(MIN_CONF "forwarder-recovery maybe\n",
             "t.conf:3: forwarder-recovery: bad mode 'maybe' (use drop, best-effort or durable)");
    LOAD_ERR(MIN_CONF "forwarder-mode random\n",
             "t.conf:3: forwarder-mode: bad mode 'random' (use broadcast, failover, roundrobin "
             "or sharded)");
    LOAD_ERR(MIN_CONF "forwarder-batch-size 0\n",
             "t.conf:3: forwarder-batch-size: bad N '0' (use 1 to 65536)");
    LOAD_ERR(MIN_CONF "forwarder-backoff 0 1s\n",
             "t.conf:3: forwarder-backoff: MIN '0' must be at least 1ms");
    LOAD_ERR(MIN_CONF "forwarder-backoff 10s 1s\n",
             "t.conf:3: forwarder-backoff: MAX '1s' is shorter than MIN '10s'");
    static char text[5000], name[4200];
    memset(name, 'n', 4100);
    name[4100] = 0;
    snprintf(text, sizeof(text), MIN_CONF "instance-name = %s\n", name);
    LOAD_ERR(text, "t.conf:3: line too long (4116 characters, at most 4096)");
}

static void test_errors_input(void)
{
    LOAD_ERR("input pdns localhost 6000\noutput stdout\n",
             "t.conf:1: input: bad ADDRESS 'localhost' (use a numeric IPv4 or IPv6 address)");
    LOAD_ERR("input pdns 1.2.3 6000\noutput stdout\n",
             "t.conf:1: input: bad ADDRESS '1.2.3' (use a numeric IPv4 or IPv6 address)");
    LOAD_ERR("input pdns 127.0.0.1 65536\noutput stdout\n",
             "t.conf:1: input: bad PORT '65536' (use 0 to 65535)");
    LOAD_ERR("input pdns 127.0.0.1 -1\noutput stdout\n",
             "t.conf:1: input: bad PORT '-1' (use 0 to 65535)");
    LOAD_ERR("input dnstap unix /run/dnstap.sock\noutput stdout\n",
             "t.conf:1: input: type 'dnstap' is not yet supported");
    LOAD_ERR("input etw\noutput stdout\n", "t.conf:1: input: unknown type 'etw' (use pdns)");
    LOAD_ERR("input pdns 127.0.0.1 6000 framing=8bit\noutput stdout\n",
             "t.conf:1: input: bad framing '8bit' (use 16bit or 32bit)");
    LOAD_ERR("input pdns 127.0.0.1 6000 max-connections=0\noutput stdout\n",
             "t.conf:1: input: bad max-connections '0' (use 1 to 65535)");
    LOAD_ERR("input pdns 127.0.0.1 6000 max-frame=100000\noutput stdout\n",
             "t.conf:1: input: max-frame '100000' is above 65535, the most framing=16bit allows");
    LOAD_ERR("input pdns 127.0.0.1 6000 max-frame=big\noutput stdout\n",
             "t.conf:1: input: bad max-frame 'big' (use bytes, or a number with k or M)");
    LOAD_ERR("input pdns 127.0.0.1 6000 backlog=5\noutput stdout\n",
             "t.conf:1: input: unknown option 'backlog=5'");
    LOAD_ERR("input pdns 127.0.0.1 6000 framing=16bit framing=32bit\noutput stdout\n",
             "t.conf:1: input: option framing given twice ('framing=32bit')");
    LOAD_ERR("input pdns 127.0.0.1 6000\noutput stdout\ninput pdns 127.0.0.1 6000\n",
             "t.conf:3: input: 127.0.0.1 port 6000 is already an input on line 1");
}

static void test_errors_output(void)
{
    LOAD_ERR(MIN_CONF "output syslog\n",
             "t.conf:3: output: unknown type 'syslog' (use file or stdout)");
    LOAD_ERR(MIN_CONF "output file x.log format=csv\n",
             "t.conf:3: output: bad format 'csv' (use json, bind or pdns)");
    LOAD_ERR(MIN_CONF "output file x.log colour=red\n",
             "t.conf:3: output: unknown option 'colour=red'");
    LOAD_ERR(MIN_CONF "output stdout format=bind\n",
             "t.conf:3: output: stdout is already an output on line 2");
    LOAD_ERR(MIN_CONF "output file x.log\noutput file x.log format=bind\n",
             "t.conf:4: output: file 'x.log' is already an output on line 3");
}

static void test_errors_forwarder(void)
{
#define FWD "input pdns 127.0.0.1 6000\nforwarder "
    LOAD_ERR(FWD "ipv5 h 514\n",
             "t.conf:2: forwarder: bad address family 'ipv5' (use ipv4 or ipv6)");
    LOAD_ERR(FWD "ipv4 2001:db8::1 514\n",
             "t.conf:2: forwarder: '2001:db8::1' is an IPv6 address (use forwarder ipv6)");
    LOAD_ERR(FWD "ipv6 10.0.0.1 514\n",
             "t.conf:2: forwarder: '10.0.0.1' is an IPv4 address (use forwarder ipv4)");
    LOAD_ERR(FWD "ipv6 2001:db8:::1 514\n",
             "t.conf:2: forwarder: bad IPv6 address '2001:db8:::1'");
    LOAD_ERR(FWD "ipv4 10.0.0.256 514\n", "t.conf:2: forwarder: bad IPv4 address '10.0.0.256'");
    LOAD_ERR(FWD "ipv4 siem..corp 514\n",
             "t.conf:2: forwarder: bad HOST 'siem..corp' (use a DNS name or an IP address)");
    LOAD_ERR(FWD "ipv4 siem/corp 514\n",
             "t.conf:2: forwarder: bad HOST 'siem/corp' (use a DNS name or an IP address)");
    LOAD_ERR(FWD "ipv4 siem 0\n", "t.conf:2: forwarder: bad PORT '0' (use 1 to 65535)");
    LOAD_ERR(FWD "ipv4 siem 514 colour=red\n", "t.conf:2: forwarder: unknown option 'colour=red'");
    LOAD_ERR(FWD "ipv4 siem 514 TLS=on\n", "t.conf:2: forwarder: unknown option 'TLS=on'");
    LOAD_ERR(FWD "ipv4 siem 514 format=xml\n",
             "t.conf:2: forwarder: bad format 'xml' (use json, bind or pdns)");
    LOAD_ERR(FWD "ipv4 siem 514 syslog=rfc3339\n",
             "t.conf:2: forwarder: bad syslog 'rfc3339' (use rfc5424, rfc3164 or none)");
    LOAD_ERR(FWD "ipv4 siem 514 framing=crlf\n",
             "t.conf:2: forwarder: bad framing 'crlf' (use octet-counting, newline, 16bit or "
             "32bit)");
    LOAD_ERR(FWD "ipv4 siem 514 recovery=always\n",
             "t.conf:2: forwarder: bad recovery 'always' (use drop, best-effort or durable)");
    LOAD_ERR(FWD "ipv4 siem 514 tls=maybe\n",
             "t.conf:2: forwarder: bad tls 'maybe' (use on or off)");
    LOAD_ERR(FWD "ipv4 siem 514 tls=\n", "t.conf:2: forwarder: bad tls '' (use on or off)");
    LOAD_ERR(FWD "ipv4 siem 514 connect-timeout=0\n",
             "t.conf:2: forwarder: connect-timeout '0' must be at least 1ms");
    LOAD_ERR(FWD "ipv4 siem 514 write-timeout=fast\n",
             "t.conf:2: forwarder: bad write-timeout 'fast' (use seconds, or a number with ms, s, "
             "m or h)");
    LOAD_ERR(FWD "ipv4 siem 514 encode-threads=0\n",
             "t.conf:2: forwarder: bad encode-threads '0' (use 1 to 16)");
    LOAD_ERR(FWD "ipv4 siem 514 encode-threads=17\n",
             "t.conf:2: forwarder: bad encode-threads '17' (use 1 to 16)");
    LOAD_ERR(FWD "ipv4 siem 514 encode-threads=2 format=pdns\n",
             "t.conf:2: forwarder: encode-threads=2 needs format=json or format=bind "
             "(format=pdns copies the events unchanged)");
    LOAD_ERR(FWD "ipv4 siem 514 durable-hold=lots\n",
             "t.conf:2: forwarder: bad durable-hold 'lots' (use bytes, or a number with k, M or "
             "G)");
    LOAD_ERR(FWD "ipv4 siem 514 durable-hold=2G\n",
             "t.conf:2: forwarder: durable-hold '2G' is above the maximum 1G");
    LOAD_ERR(FWD "ipv4 siem 514 recovery=best-effort durable-hold=1M\n",
             "t.conf:2: forwarder: durable-hold needs durable recovery (its recovery= or "
             "forwarder-recovery)");
    LOAD_ERR(FWD "ipv4 siem 514 durable-hold=1M\nforwarder-recovery drop\n",
             "t.conf:2: forwarder: durable-hold needs durable recovery (its recovery= or "
             "forwarder-recovery)");
    LOAD_ERR(FWD "ipv4 siem 514 tls=on tls=off\n",
             "t.conf:2: forwarder: option tls given twice ('tls=off')");
    LOAD_ERR(FWD "ipv4 siem 514 tls-ca-file=/ca.pem\n",
             "t.conf:2: forwarder: tls-ca-file needs tls=on");
    LOAD_ERR(FWD "ipv4 siem 514 tls=off tls-verify=off\n",
             "t.conf:2: forwarder: tls-verify needs tls=on");
    LOAD_ERR(FWD "ipv4 siem 514 tls=on tls-client-key=/k.pem\n",
             "t.conf:2: forwarder: tls-client-key '/k.pem' needs tls-client-certificate");
    LOAD_ERR(FWD "ipv4 siem 514 tls=on tls-client-certificate=auto tls-client-key=/k.pem\n",
             "t.conf:2: forwarder: tls-client-key '/k.pem' cannot be used with "
             "tls-client-certificate=auto");
    LOAD_ERR(FWD "ipv4 siem 514 tls=on tls-server-name=bad/name\n",
             "t.conf:2: forwarder: bad tls-server-name 'bad/name' (use a DNS name or an IP "
             "address)");
    LOAD_ERR(FWD "ipv4 siem 514 format=pdns syslog=rfc5424\n",
             "t.conf:2: forwarder: syslog=rfc5424 cannot carry format=pdns (binary; use "
             "syslog=none)");
    LOAD_ERR(FWD "ipv4 siem 514 format=pdns framing=newline\n",
             "t.conf:2: forwarder: framing=newline does not fit format=pdns (use 16bit or 32bit)");
    LOAD_ERR(FWD "ipv4 siem 514 format=pdns framing=octet-counting\n",
             "t.conf:2: forwarder: framing=octet-counting does not fit format=pdns (use 16bit or "
             "32bit)");
    LOAD_ERR(FWD "ipv4 siem 514 framing=16bit\n",
             "t.conf:2: forwarder: framing=16bit does not fit format=json (use newline or "
             "octet-counting)");
    LOAD_ERR(FWD "ipv4 siem 514 format=bind framing=32bit syslog=none\n",
             "t.conf:2: forwarder: framing=32bit does not fit format=bind (use newline or "
             "octet-counting)");
    LOAD_ERR(FWD "ipv4 siem 514 syslog=none framing=octet-counting\n",
             "t.conf:2: forwarder: framing=octet-counting needs syslog=rfc5424 or "
             "syslog=rfc3164");
    LOAD_ERR(FWD "ipv4 siem 514\nforwarder ipv4 siem 514 format=bind\n",
             "t.conf:3: forwarder: 'siem' port 514 is already a forwarder on line 2");
#undef FWD
}

static void test_errors_whole_file(void)
{
    LOAD_ERR("", "t.conf: no input (add a line 'input pdns ADDRESS PORT')");
    LOAD_ERR("# only comments\n\n", "t.conf: no input (add a line 'input pdns ADDRESS PORT')");
    LOAD_ERR("output stdout\n", "t.conf: no input (add a line 'input pdns ADDRESS PORT')");
    LOAD_ERR("input pdns 127.0.0.1 6000\nlog-level info\n",
             "t.conf: no destination (add an 'output' or a 'forwarder' line)");
}

static void test_load_file_errors(void)
{
    struct ds_config cfg;
    const char *missing = "test_config.does-not-exist.conf";
    ASSERT_EQ(ds_config_load_file(missing, &cfg, err, sizeof(err)), DS_ENOTFOUND);
    ASSERT_STR_EQ(err, "test_config.does-not-exist.conf: cannot open: No such file or directory");
    ASSERT_TRUE(cfg.source == NULL);

    const char *path = "test_config.tmp.conf";
    FILE *f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    fputs("input pdns 127.0.0.1 6000\n\n# x\nforwarder ipv4 siem 514 tls-verify=off\n", f);
    fclose(f);
    ASSERT_EQ(ds_config_load_file(path, &cfg, err, sizeof(err)), DS_EINVAL);
    ASSERT_STR_EQ(err, "test_config.tmp.conf:4: forwarder: tls-verify needs tls=on");

    /* A NUL byte in a file is a control character on its line. */
    f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    static const char nul[] = "input pdns 127.0.0.1 6000\noutput stdout\nlog-level info\0x\n";
    fwrite(nul, 1, sizeof(nul) - 1, f);
    fclose(f);
    ASSERT_EQ(ds_config_load_file(path, &cfg, err, sizeof(err)), DS_EINVAL);
    ASSERT_STR_EQ(err, "test_config.tmp.conf:3: control character 0x00 in line");

    /* More than 1 MiB is not a configuration file. */
    f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    for (int i = 0; i < 1024 * 1024 / 16 + 1; i++)
        fputs("# 13 more bytes\n", f);
    fclose(f);
    ASSERT_EQ(ds_config_load_file(path, &cfg, err, sizeof(err)), DS_ERANGE);
    ASSERT_STR_EQ(err, "test_config.tmp.conf: larger than 1048576 bytes");
    ASSERT_TRUE(cfg.source == NULL);
    remove(path);
}

static void test_small_error_buffer(void)
{
    struct ds_config cfg;
    char small[12];
    ASSERT_EQ(ds_config_load_string("t.conf", MIN_CONF "bogus 1\n", &cfg, small, sizeof(small)),
              DS_EINVAL);
    ASSERT_STR_EQ(small, "t.conf:3: u");
    ASSERT_EQ(ds_config_load_string("t.conf", MIN_CONF "bogus 1\n", &cfg, NULL, 0), DS_EINVAL);
}

static void test_tokenizer(void)
{
    struct ds_cfg_tokens t;
    char why[128];
    ASSERT_EQ(ds_cfg_tokenize("a  \"b c\"  k=\"v w\" \"x=y\" \"\" z\\q", &t, why, sizeof(why)),
              DS_OK);
    ASSERT_EQ(t.n, 6);
    ASSERT_STR_EQ(t.tok[0].text, "a");
    ASSERT_EQ(t.tok[0].eq, -1);
    ASSERT_STR_EQ(t.tok[1].text, "b c");
    ASSERT_STR_EQ(t.tok[2].text, "k=v w");
    ASSERT_EQ(t.tok[2].eq, 1);
    ASSERT_STR_EQ(t.tok[3].text, "x=y");
    ASSERT_EQ(t.tok[3].eq, -1);
    ASSERT_STR_EQ(t.tok[4].text, "");
    ASSERT_STR_EQ(t.tok[5].text, "z\\q");
    ds_cfg_tokens_free(&t);
    ASSERT_EQ(ds_cfg_tokenize("", &t, why, sizeof(why)), DS_OK);
    ASSERT_EQ(t.n, 0);
    ds_cfg_tokens_free(&t);
    ASSERT_EQ(ds_cfg_tokenize("a \"b\\\"", &t, why, sizeof(why)), DS_EINVAL);
    ASSERT_STR_EQ(why, "unterminated quote in '\"b\\\"'");
}

DS_TEST_MAIN(DS_TEST(test_embedded_default), DS_TEST(test_shipped_file_equals_embedded),
             DS_TEST(test_every_default), DS_TEST(test_every_global_directive),
             DS_TEST(test_keyword_values), DS_TEST(test_queue_size_forms),
             DS_TEST(test_value_parsers), DS_TEST(test_input_options), DS_TEST(test_outputs),
             DS_TEST(test_product_document_lines), DS_TEST(test_forwarder_all_options),
             DS_TEST(test_forwarder_framing_defaults), DS_TEST(test_name_equals_value_form),
             DS_TEST(test_comments_blanks_and_quotes),
             DS_TEST(test_indented_line_is_not_a_continuation), DS_TEST(test_line_length_limit),
             DS_TEST(test_errors_directive), DS_TEST(test_errors_arguments),
             DS_TEST(test_errors_values), DS_TEST(test_errors_input), DS_TEST(test_errors_output),
             DS_TEST(test_errors_forwarder), DS_TEST(test_errors_whole_file),
             DS_TEST(test_load_file_errors), DS_TEST(test_small_error_buffer),
             DS_TEST(test_tokenizer))
