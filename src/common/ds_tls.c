/* ds_tls.c - TLS client transport over ds_plat.h sockets.  See ds_tls.h. */
#include "ds_tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_err.h"
#include "ds_net.h"

struct ds_tls_ctx {
    SSL_CTX *ctx;
    BIO_METHOD *bio_method;
    bool verify;
};

struct ds_tls {
    SSL *ssl;
    ds_sock sock;
    uint64_t wire_out;
    int last_err;   /* the socket error behind a failed BIO call */
    bool nonblock;  /* reads return "retry" instead of waiting */
    bool eof;
    bool notified;  /* close_notify sent */
};

/* ---- a BIO over ds_sock ---------------------------------------------------- */
static int bio_write(BIO *b, const char *buf, int len)
{
    struct ds_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    int64_t n = ds_sock_send(t->sock, buf, (size_t)len);
    if (n >= 0) {
        t->wire_out += (uint64_t)n;
        return (int)n;
    }
    t->last_err = n == DS_EAGAIN ? DS_ETIMEDOUT : (int)n;
    return -1;
}

static int bio_read(BIO *b, char *buf, int len)
{
    struct ds_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (t->nonblock) {
        struct ds_pollfd p = {t->sock, DS_POLLIN, 0};
        if (ds_poll(&p, 1, 0) <= 0) {
            BIO_set_retry_read(b);
            return -1;
        }
    }
    int64_t n = ds_sock_recv(t->sock, buf, (size_t)len);
    if (n > 0)
        return (int)n;
    if (n == 0) {
        t->eof = true;
        return 0;
    }
    if (n == DS_EAGAIN && t->nonblock) {
        BIO_set_retry_read(b);
        return -1;
    }
    t->last_err = n == DS_EAGAIN ? DS_ETIMEDOUT : (int)n;
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* ---- errors ------------------------------------------------------------------ */
static void ssl_errors(char *err, size_t errlen, const char *what)
{
    char line[256];
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, line, sizeof line);
    else
        snprintf(line, sizeof line, "no OpenSSL error");
    snprintf(err, errlen, "%s: %s", what, line);
    ERR_clear_error();
}

static bool file_readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    fclose(f);
    return true;
}

int ds_tls_ctx_create(const struct ds_forwarder_cfg *fc, struct ds_tls_ctx **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    struct ds_tls_ctx *c = ds_xcalloc(1, sizeof(*c));
    c->verify = fc->tls_verify;
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) {
        ssl_errors(err, errlen, "SSL_CTX_new");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_AUTO_RETRY);
    if (fc->tls_verify) {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        int ok = fc->tls_ca_file
                     ? SSL_CTX_load_verify_locations(c->ctx, fc->tls_ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(c->ctx);
        if (ok != 1) {
            ssl_errors(err, errlen, fc->tls_ca_file ? fc->tls_ca_file : "system CA store");
            goto fail;
        }
    } else {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
    }

    if (fc->tls_client_cert) {
        char cert[512], key[512];
        if (strcmp(fc->tls_client_cert, "auto") == 0) {
            const char *dir = getenv("DNSSTREAM_TLS_DIR");
            if (!dir || !*dir)
                dir = DS_TLS_AUTO_DIR;
            snprintf(cert, sizeof cert, "%s/client.pem", dir);
            snprintf(key, sizeof key, "%s/client.key", dir);
            if (!file_readable(cert) || !file_readable(key)) {
                snprintf(err, errlen, "tls-client-certificate=auto: %s or %s is not readable",
                         cert, key);
                goto fail;
            }
        } else {
            snprintf(cert, sizeof cert, "%s", fc->tls_client_cert);
            snprintf(key, sizeof key, "%s", fc->tls_client_key ? fc->tls_client_key : cert);
        }
        if (fc->tls_client_key && strcmp(fc->tls_client_cert, "auto") == 0)
            snprintf(key, sizeof key, "%s", fc->tls_client_key);
        if (SSL_CTX_use_certificate_chain_file(c->ctx, cert) != 1) {
            ssl_errors(err, errlen, cert);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1) {
            ssl_errors(err, errlen, key);
            goto fail;
        }
        if (SSL_CTX_check_private_key(c->ctx) != 1) {
            ssl_errors(err, errlen, "client key does not match the certificate");
            goto fail;
        }
    }

    c->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ds_sock");
    if (!c->bio_method) {
        ssl_errors(err, errlen, "BIO_meth_new");
        goto fail;
    }
    BIO_meth_set_write(c->bio_method, bio_write);
    BIO_meth_set_read(c->bio_method, bio_read);
    BIO_meth_set_ctrl(c->bio_method, bio_ctrl);
    BIO_meth_set_create(c->bio_method, bio_create);
    *out = c;
    return DS_OK;
fail:
    ds_tls_ctx_destroy(&c);
    return DS_ETLS;
}

void ds_tls_ctx_destroy(struct ds_tls_ctx **pc)
{
    struct ds_tls_ctx *c = *pc;
    if (!c)
        return;
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    if (c->bio_method)
        BIO_meth_free(c->bio_method);
    free(c);
    *pc = NULL;
}

static int map_ssl_error(struct ds_tls *t, int rc)
{
    int e = SSL_get_error(t->ssl, rc);
    switch (e) {
    case SSL_ERROR_ZERO_RETURN:
        return DS_ECLOSED;
    case SSL_ERROR_SYSCALL:
        if (t->last_err)
            return t->last_err;
        return t->eof ? DS_ECLOSED : DS_EIO;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return t->last_err ? t->last_err : DS_ETIMEDOUT;
    default:
        return t->last_err ? t->last_err : DS_ETLS;
    }
}

int ds_tls_connect(struct ds_tls_ctx *c, ds_sock s, const char *server_name, struct ds_tls **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    struct ds_tls *t = ds_xcalloc(1, sizeof(*t));
    t->sock = s;
    t->ssl = SSL_new(c->ctx);
    BIO *bio = t->ssl ? BIO_new(c->bio_method) : NULL;
    if (!bio) {
        ssl_errors(err, errlen, "SSL_new");
        if (t->ssl)
            SSL_free(t->ssl);
        free(t);
        return DS_ETLS;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio);

    struct ds_addr probe;
    bool is_ip = ds_addr_parse(server_name, 0, &probe) == DS_OK;
    if (!is_ip)
        SSL_set_tlsext_host_name(t->ssl, server_name);
    if (c->verify) {
        if (is_ip) {
            const char *ip = server_name;
            char tmp[64];
            size_t l = strlen(server_name);
            if (l > 2 && l < sizeof tmp && server_name[0] == '[') {
                memcpy(tmp, server_name + 1, l - 2);
                tmp[l - 2] = 0;
                ip = tmp;
            }
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), ip);
        } else {
            SSL_set1_host(t->ssl, server_name);
        }
    }

    ERR_clear_error();
    int rc = SSL_connect(t->ssl);
    if (rc != 1) {
        int e = map_ssl_error(t, rc);
        long vr = SSL_get_verify_result(t->ssl);
        if (vr != X509_V_OK)
            snprintf(err, errlen, "certificate verification failed: %s",
                     X509_verify_cert_error_string(vr));
        else if (t->last_err)
            snprintf(err, errlen, "handshake: %s", ds_strerror(t->last_err));
        else
            ssl_errors(err, errlen, "handshake");
        ERR_clear_error();
        SSL_free(t->ssl);
        free(t);
        return e == DS_ECLOSED || e == DS_EIO ? DS_ETLS : (vr != X509_V_OK ? DS_ETLS : e);
    }
    *out = t;
    return DS_OK;
}

int ds_tls_write(struct ds_tls *t, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        t->last_err = 0;
        ERR_clear_error();
        int rc = SSL_write(t->ssl, b, chunk);
        if (rc <= 0) {
            int e = map_ssl_error(t, rc);
            ERR_clear_error();
            return e;
        }
        b += rc;
        n -= (size_t)rc;
    }
    return DS_OK;
}

int ds_tls_check_peer(struct ds_tls *t)
{
    char scratch[4096];
    t->nonblock = true;
    int result = DS_OK;
    for (int i = 0; i < 64; i++) {
        t->last_err = 0;
        ERR_clear_error();
        int rc = SSL_read(t->ssl, scratch, sizeof scratch);
        if (rc > 0)
            continue; /* a collector has nothing to say: discard */
        int e = SSL_get_error(t->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        result = map_ssl_error(t, rc);
        break;
    }
    ERR_clear_error();
    t->nonblock = false;
    return result;
}

uint64_t ds_tls_wire_out(const struct ds_tls *t) { return t->wire_out; }

void ds_tls_describe(const struct ds_tls *t, char *buf, size_t len)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
    snprintf(buf, len, "%s %s", SSL_get_version(t->ssl), c ? SSL_CIPHER_get_name(c) : "-");
}

void ds_tls_notify_close(struct ds_tls *t)
{
    if (t->notified)
        return;
    t->notified = true;
    t->last_err = 0;
    ERR_clear_error();
    SSL_shutdown(t->ssl);
    ERR_clear_error();
}

int ds_tls_close(struct ds_tls **pt, bool graceful, unsigned drain_ms)
{
    struct ds_tls *t = *pt;
    if (!t)
        return DS_OK;
    int rc = DS_OK;
    if (graceful) {
        ds_tls_notify_close(t); /* close_notify */
        rc = ds_net_drain_to_eof(t->sock, drain_ms);
    } else {
        SSL_set_quiet_shutdown(t->ssl, 1);
    }
    SSL_free(t->ssl);
    free(t);
    *pt = NULL;
    return rc;
}
