/* test_fwd_target.c - one forwarder target (ds_target.h) and its TLS transport
 * (ds_tls.h) against listeners in this process: connect, refuse, write, peer-close
 * and reset detection, acknowledged bytes, backoff bounds, TLS verification, mTLS
 * and close_notify. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_err.h"
#include "ds_log.h"
#include "ds_plat.h"
#include "ds_target.h"
#include "ds_test.h"

/* ---- helpers --------------------------------------------------------------- */
static ds_sock listen_any(unsigned *port)
{
    struct ds_addr a;
    ds_sock l = DS_SOCK_INVALID;
    if (ds_addr_parse("127.0.0.1", 0, &a) != DS_OK || ds_sock_listen(&a, 16, &l) != DS_OK)
        return DS_SOCK_INVALID;
    struct ds_addr b;
    ds_sock_local_addr(l, &b);
    *port = ds_addr_port(&b);
    return l;
}

static ds_sock accept_wait(ds_sock l, int ms)
{
    struct ds_pollfd p = {l, DS_POLLIN, 0};
    if (ds_poll(&p, 1, ms) <= 0)
        return DS_SOCK_INVALID;
    ds_sock s;
    if (ds_sock_accept(l, &s, NULL) != DS_OK)
        return DS_SOCK_INVALID;
    ds_sock_set_nonblock(s, false);
    ds_sock_set_timeouts(s, 5000, 5000);
    return s;
}

static struct ds_forwarder_cfg plain_cfg(const char *host, unsigned port)
{
    struct ds_forwarder_cfg fc;
    memset(&fc, 0, sizeof fc);
    fc.family = 4;
    fc.host = (char *)host;
    fc.port = port;
    fc.recovery = -1;
    fc.tls_verify = true;
    fc.connect_timeout_ms = 2000;
    fc.write_timeout_ms = 2000;
    return fc;
}

/* Read exactly n bytes (blocking socket with a timeout). */
static int read_n(ds_sock s, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int64_t r = ds_sock_recv(s, buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* ---- plain TCP -------------------------------------------------------------- */
static void test_connect_write_and_peer_close(void)
{
    /* the forwarder logs every attempt: keep the output to errors unless asked */
    ds_log_threshold = getenv("DS_TEST_VERBOSE") ? DS_LOG_DEBUG : DS_LOG_ERROR;
    unsigned port = 0;
    ds_sock l = listen_any(&port);
    ASSERT_TRUE(l != DS_SOCK_INVALID);
    struct ds_forwarder_cfg fc = plain_cfg("127.0.0.1", port);
    struct ds_target t;
    char err[256];
    ASSERT_OK(ds_target_init(&t, &fc, 100, 1000, err, sizeof err));
    ASSERT_OK(ds_target_connect(&t, NULL));
    ASSERT_TRUE(ds_target_connected(&t));
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%u", port);
    ASSERT_STR_EQ(t.addr, want);
    ds_sock s = accept_wait(l, 2000);
    ASSERT_TRUE(s != DS_SOCK_INVALID);

    ASSERT_OK(ds_target_write(&t, "hello world\n", 12));
    ASSERT_U64_EQ(ds_target_wire_out(&t), 12);
    char buf[32] = {0};
    ASSERT_OK(read_n(s, buf, 12));
    ASSERT_MEM_EQ(buf, "hello world\n", 12);
    ASSERT_OK(ds_target_check(&t));

    /* every byte read by the peer is acknowledged by its TCP */
    uint64_t acked = 0;
    uint64_t deadline = ds_time_mono_ms() + 2000;
    while (ds_target_acked(&t, &acked) == DS_OK && acked < 12 && ds_time_mono_ms() < deadline)
        ds_sleep_ms(5);
    ASSERT_U64_EQ(acked, 12);

    /* the peer closes: the next check says so */
    ds_sock_close(s);
    int rc = DS_OK;
    deadline = ds_time_mono_ms() + 2000;
    while ((rc = ds_target_check(&t)) == DS_OK && ds_time_mono_ms() < deadline)
        ds_sleep_ms(5);
    ASSERT_EQ(rc, DS_ECLOSED);
    ds_target_close(&t, false, 0);
    ASSERT_TRUE(!ds_target_connected(&t));
    ASSERT_STR_EQ(t.addr, "");
    ds_target_deinit(&t);
    ds_sock_close(l);
}

static void test_reset_is_detected(void)
{
    unsigned port = 0;
    ds_sock l = listen_any(&port);
    struct ds_forwarder_cfg fc = plain_cfg("127.0.0.1", port);
    struct ds_target t;
    char err[256];
    ASSERT_OK(ds_target_init(&t, &fc, 100, 1000, err, sizeof err));
    ASSERT_OK(ds_target_connect(&t, NULL));
    ds_sock s = accept_wait(l, 2000);
    ASSERT_TRUE(s != DS_SOCK_INVALID);
    ds_sock_abort(s);
    /* a reset shows up either in the check or in the next write */
    int rc = DS_OK;
    uint64_t deadline = ds_time_mono_ms() + 2000;
    char chunk[1024];
    memset(chunk, 'x', sizeof chunk);
    while (rc == DS_OK && ds_time_mono_ms() < deadline) {
        rc = ds_target_check(&t);
        if (rc == DS_OK)
            rc = ds_target_write(&t, chunk, sizeof chunk);
    }
    ASSERT_TRUE(rc == DS_ECONNRESET || rc == DS_ECLOSED);
    ds_target_deinit(&t);
    ds_sock_close(l);
}

static void test_refused_then_first_address_again(void)
{
    unsigned port = 0;
    ds_sock l = listen_any(&port);
    ds_sock_close(l); /* nothing listens there now */
    struct ds_forwarder_cfg fc = plain_cfg("127.0.0.1", port);
    struct ds_target t;
    char err[256];
    ASSERT_OK(ds_target_init(&t, &fc, 100, 1000, err, sizeof err));
    ASSERT_EQ(ds_target_connect(&t, NULL), DS_ECONNREFUSED);
    ASSERT_TRUE(!ds_target_connected(&t));
    /* the same target connects once something listens */
    struct ds_addr a;
    ASSERT_OK(ds_addr_parse("127.0.0.1", port, &a));
    ASSERT_OK(ds_sock_listen(&a, 4, &l));
    ASSERT_OK(ds_target_connect(&t, NULL));
    ds_sock s = accept_wait(l, 2000);
    ASSERT_TRUE(s != DS_SOCK_INVALID);
    /* graceful close: half-close, the peer sees EOF and closes, drain ends at its EOF */
    char c;
    ASSERT_OK(ds_target_write(&t, "z", 1));
    ASSERT_EQ(ds_sock_recv(s, &c, 1), 1);
    ds_sock_shutdown_wr(s);
    ASSERT_OK(ds_target_close(&t, true, 2000));
    ASSERT_EQ(ds_sock_recv(s, &c, 1), 0);
    ds_sock_close(s);
    ds_target_deinit(&t);
    ds_sock_close(l);
}

static void test_stop_flag_stops_attempts(void)
{
    struct ds_forwarder_cfg fc = plain_cfg("127.0.0.1", 9);
    struct ds_target t;
    char err[256];
    ASSERT_OK(ds_target_init(&t, &fc, 100, 1000, err, sizeof err));
    atomic_bool stop = true;
    ASSERT_EQ(ds_target_connect(&t, &stop), DS_ECLOSED);
    ds_target_deinit(&t);
}

static void test_backoff_bounds(void)
{
    struct ds_forwarder_cfg fc = plain_cfg("127.0.0.1", 9);
    struct ds_target t;
    char err[256];
    ASSERT_OK(ds_target_init(&t, &fc, 100, 1000, err, sizeof err));
    for (int round = 0; round < 20; round++) {
        unsigned d = 100;
        for (int i = 0; i < 8; i++) {
            unsigned b = ds_target_backoff(&t);
            ASSERT_TRUE(b >= d / 2 && b <= d);
            d = d * 2 > 1000 ? 1000 : d * 2;
        }
        ds_target_backoff_reset(&t);
    }
    ds_target_deinit(&t);
}

/* ---- TLS ------------------------------------------------------------------ */
static char g_dir[256];

static EVP_PKEY *gen_key(void) { return EVP_RSA_gen(2048); }

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       bool ca, const char *san, const char *eku)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : (long)(ds_time_now_us() & 0xffffff));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    struct {
        int nid;
        const char *val;
    } exts[] = {{NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE"},
                {NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "digitalSignature,keyEncipherment"},
                {NID_subject_alt_name, san},
                {NID_ext_key_usage, eku}};
    for (size_t i = 0; i < 4; i++) {
        if (!exts[i].val)
            continue;
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].val);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
    return x;
}

static void write_pem(const char *name, X509 *x, EVP_PKEY *k)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    if (x)
        PEM_write_X509(f, x);
    if (k)
        PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static void make_pki(void)
{
    if (g_dir[0])
        return;
    snprintf(g_dir, sizeof g_dir, "/tmp/ds-test-fwd-pki-%d", ds_getpid());
    ds_mkdir_p(g_dir);
    EVP_PKEY *cak = gen_key(), *sk = gen_key(), *ck = gen_key();
    X509 *ca = make_cert(cak, "test-ca", NULL, NULL, true, NULL, NULL);
    X509 *srv = make_cert(sk, "localhost", ca, cak, false, "DNS:localhost,IP:127.0.0.1",
                          "serverAuth");
    X509 *cli = make_cert(ck, "client", ca, cak, false, NULL, "clientAuth");
    write_pem("ca.pem", ca, NULL);
    write_pem("server.pem", srv, NULL);
    write_pem("server.key", NULL, sk);
    write_pem("client.pem", cli, NULL);
    write_pem("client.key", NULL, ck);
    X509_free(ca);
    X509_free(srv);
    X509_free(cli);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(sk);
    EVP_PKEY_free(ck);
}

static void remove_pki(void)
{
    const char *names[] = {"ca.pem", "server.pem", "server.key", "client.pem", "client.key"};
    char path[512];
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", g_dir, names[i]);
        ds_file_remove(path);
    }
}

struct tls_server {
    ds_sock l;
    bool require_client_cert;
    /* results */
    bool handshake_ok;
    bool got_close_notify;
    bool client_cert_seen;
    char data[256];
    size_t len;
};

static void tls_server_thread(void *arg)
{
    struct tls_server *ts = arg;
    char path[512], key[512];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    snprintf(path, sizeof path, "%s/server.pem", g_dir);
    snprintf(key, sizeof key, "%s/server.key", g_dir);
    SSL_CTX_use_certificate_chain_file(ctx, path);
    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
    if (ts->require_client_cert) {
        snprintf(path, sizeof path, "%s/ca.pem", g_dir);
        SSL_CTX_load_verify_locations(ctx, path, NULL);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    ds_sock s = accept_wait(ts->l, 5000);
    if (s == DS_SOCK_INVALID) {
        SSL_CTX_free(ctx);
        return;
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, (int)s);
    if (SSL_accept(ssl) == 1) {
        ts->handshake_ok = true;
        X509 *pc = SSL_get1_peer_certificate(ssl);
        ts->client_cert_seen = pc != NULL;
        X509_free(pc);
        for (;;) {
            int r = SSL_read(ssl, ts->data + ts->len, (int)(sizeof ts->data - ts->len));
            if (r > 0) {
                ts->len += (size_t)r;
                continue;
            }
            ts->got_close_notify = SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN;
            break;
        }
        if (ts->got_close_notify)
            SSL_shutdown(ssl);
    }
    ERR_clear_error();
    SSL_free(ssl);
    ds_sock_close(s);
    SSL_CTX_free(ctx);
}

static void tls_round(struct ds_forwarder_cfg *fc, struct tls_server *ts, unsigned port,
                      int *connect_rc, int *close_rc)
{
    struct ds_thread th;
    fc->port = port;
    ds_thread_create(&th, tls_server_thread, ts, "tls-srv");
    struct ds_target t;
    char err[512];
    *connect_rc = ds_target_init(&t, fc, 100, 1000, err, sizeof err);
    *close_rc = DS_EINVAL;
    if (*connect_rc == DS_OK) {
        *connect_rc = ds_target_connect(&t, NULL);
        if (*connect_rc == DS_OK) {
            ds_target_write(&t, "secret\n", 7);
            *close_rc = ds_target_close(&t, true, 3000);
        }
        ds_target_deinit(&t);
    } else {
        fprintf(stderr, "  init: %s\n", err);
    }
    ds_thread_join(&th);
}

static void test_tls_verified_and_close_notify(void)
{
    make_pki();
    unsigned port = 0;
    struct tls_server ts = {.l = listen_any(&port)};
    char ca[512];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    struct ds_forwarder_cfg fc = plain_cfg("127.0.0.1", port);
    fc.tls = true;
    fc.tls_ca_file = ca;
    fc.tls_server_name = "localhost";
    int crc, clrc;
    tls_round(&fc, &ts, port, &crc, &clrc);
    ASSERT_OK(crc);
    ASSERT_TRUE(ts.handshake_ok);
    ASSERT_EQ(ts.len, 7);
    ASSERT_MEM_EQ(ts.data, "secret\n", 7);
    ASSERT_TRUE(ts.got_close_notify);
    ASSERT_OK(clrc);
    ds_sock_close(ts.l);
}

static void test_tls_ip_literal_verified(void)
{
    make_pki();
    unsigned port = 0;
    struct tls_server ts = {.l = listen_any(&port)};
    char ca[512];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    struct ds_forwarder_cfg fc = plain_cfg("127.0.0.1", port);
    fc.tls = true;
    fc.tls_ca_file = ca; /* server name defaults to the host: the IP SAN is checked */
    int crc, clrc;
    tls_round(&fc, &ts, port, &crc, &clrc);
    ASSERT_OK(crc);
    ASSERT_TRUE(ts.got_close_notify);
    ds_sock_close(ts.l);
}

static void test_tls_wrong_name_refused_unless_verify_off(void)
{
    make_pki();
    unsigned port = 0;
    struct tls_server ts = {.l = listen_any(&port)};
    char ca[512];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    struct ds_forwarder_cfg fc = plain_cfg("127.0.0.1", port);
    fc.tls = true;
    fc.tls_ca_file = ca;
    fc.tls_server_name = "collector.example";
    int crc, clrc;
    tls_round(&fc, &ts, port, &crc, &clrc);
    ASSERT_EQ(crc, DS_ETLS);
    ASSERT_EQ(ts.len, 0);

    struct tls_server ts2 = {.l = ts.l};
    fc.tls_verify = false;
    fc.tls_ca_file = NULL;
    tls_round(&fc, &ts2, port, &crc, &clrc);
    ASSERT_OK(crc);
    ASSERT_EQ(ts2.len, 7);
    ds_sock_close(ts.l);
}

static void test_mtls_client_certificate(void)
{
    make_pki();
    unsigned port = 0;
    struct tls_server ts = {.l = listen_any(&port), .require_client_cert = true};
    char ca[512], cert[512], key[512];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    snprintf(cert, sizeof cert, "%s/client.pem", g_dir);
    snprintf(key, sizeof key, "%s/client.key", g_dir);
    struct ds_forwarder_cfg fc = plain_cfg("127.0.0.1", port);
    fc.tls = true;
    fc.tls_ca_file = ca;
    fc.tls_client_cert = cert;
    fc.tls_client_key = key;
    int crc, clrc;
    tls_round(&fc, &ts, port, &crc, &clrc);
    ASSERT_OK(crc);
    ASSERT_TRUE(ts.client_cert_seen);
    ASSERT_EQ(ts.len, 7);

    /* auto: client.pem and client.key from DNSSTREAM_TLS_DIR */
    struct tls_server ts2 = {.l = ts.l, .require_client_cert = true};
    fc.tls_client_cert = "auto";
    fc.tls_client_key = NULL;
    setenv("DNSSTREAM_TLS_DIR", g_dir, 1);
    tls_round(&fc, &ts2, port, &crc, &clrc);
    ASSERT_OK(crc);
    ASSERT_TRUE(ts2.client_cert_seen);
    ASSERT_EQ(ts2.len, 7);

    /* auto with nothing there: the context cannot be built */
    setenv("DNSSTREAM_TLS_DIR", "/nonexistent-ds-dir", 1);
    struct ds_target t;
    char err[512];
    ASSERT_EQ(ds_target_init(&t, &fc, 100, 1000, err, sizeof err), DS_ETLS);
    ASSERT_TRUE(strstr(err, "/nonexistent-ds-dir/client.pem") != NULL);
    unsetenv("DNSSTREAM_TLS_DIR");
    ds_sock_close(ts.l);
    remove_pki();
}

DS_TEST_MAIN(DS_TEST(test_connect_write_and_peer_close), DS_TEST(test_reset_is_detected),
             DS_TEST(test_refused_then_first_address_again), DS_TEST(test_stop_flag_stops_attempts),
             DS_TEST(test_backoff_bounds), DS_TEST(test_tls_verified_and_close_notify),
             DS_TEST(test_tls_ip_literal_verified),
             DS_TEST(test_tls_wrong_name_refused_unless_verify_off),
             DS_TEST(test_mtls_client_certificate))
