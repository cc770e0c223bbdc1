/*
 * faultcollector.c - a TCP/TLS collector for the forwarder tests that can misbehave.
 *
 * It accepts connections one after the other, splits the stream into messages
 * (newline, octet-counting, 16bit or 32bit framing), and writes one line per
 * message, "CONN SEQ", to --out (SEQ from the RFC 5424 SD parameter seq="N" or the
 * JSON member "seq":N; -1 when the message has neither).  Each --fault applies to one
 * connection, in order (the first --fault to the first connection, ...); later
 * connections are served normally:
 *   reset:N      after N messages, close with a TCP reset (unread data is lost)
 *   close:N      after N messages, close() without reading what is queued
 *   halfclose:N  after N messages, half-close (TLS: close_notify first) and keep
 *                reading to EOF, then close
 *   stall:N      after N messages, stop reading for --stall-ms, then reset
 *   none:0       serve normally
 * --rcvbuf makes the receive buffer small, so that little is acknowledged without
 * being read.  --tls CERT KEY serves TLS; with --ca CA, a client certificate signed
 * by CA is required (mTLS).  --port-file receives the bound port (for --port 0).
 * --raw FILE receives every message as read (without its framing), one per line.
 *
 * Usage: faultcollector --port P [--addr A] [--framing F] --out FILE [--fault M:N]...
 *        [--stall-ms MS] [--rcvbuf BYTES] [--tls CERT KEY [--ca CA]] [--port-file F]
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_err.h"
#include "ds_plat.h"

enum fault { F_NONE = 0, F_RESET, F_CLOSE, F_HALFCLOSE, F_STALL };
enum framing { FR_NEWLINE, FR_OCTET, FR_16, FR_32 };

struct opts {
    const char *addr, *out, *port_file, *cert, *key, *ca, *raw;
    unsigned port;
    enum framing framing;
    enum fault faults[64];
    long fault_after[64];
    int nfaults;
    unsigned stall_ms;
    int rcvbuf;
};

struct conn {
    ds_sock s;
    SSL *ssl;
    int index;
    FILE *out, *raw;
    long messages;
    struct ds_buf in;
};

static long parse_seq(const uint8_t *m, size_t len)
{
    static const char *keys[] = {"seq=\"", "\"seq\":"};
    for (int k = 0; k < 2; k++) {
        size_t kl = strlen(keys[k]);
        for (size_t i = 0; i + kl < len; i++) {
            if (memcmp(m + i, keys[k], kl) != 0)
                continue;
            long v = 0;
            size_t j = i + kl;
            if (j >= len || m[j] < '0' || m[j] > '9')
                continue;
            while (j < len && m[j] >= '0' && m[j] <= '9')
                v = v * 10 + (m[j++] - '0');
            return v;
        }
    }
    return -1;
}

/* Take every complete message from c->in; returns how many bytes were consumed. */
static size_t split(struct conn *c, enum framing fr, long limit)
{
    size_t i = 0;
    const uint8_t *d = c->in.data;
    size_t n = c->in.len;
    while (i < n && (limit < 0 || c->messages < limit)) {
        size_t start, len;
        if (fr == FR_NEWLINE) {
            const uint8_t *nl = memchr(d + i, '\n', n - i);
            if (!nl)
                break;
            start = i;
            len = (size_t)(nl - (d + i));
            i += len + 1;
        } else if (fr == FR_OCTET) {
            size_t j = i, v = 0;
            while (j < n && d[j] >= '0' && d[j] <= '9')
                v = v * 10 + (size_t)(d[j++] - '0');
            if (j >= n)
                break;
            if (d[j] != ' ' || j == i) {
                fprintf(stderr, "faultcollector: bad octet count at offset %zu\n", i);
                exit(3);
            }
            if (n - j - 1 < v)
                break;
            start = j + 1;
            len = v;
            i = start + len;
        } else {
            size_t pl = fr == FR_16 ? 2 : 4;
            if (n - i < pl)
                break;
            size_t v = fr == FR_16 ? ((size_t)d[i] << 8 | d[i + 1])
                                   : ((size_t)d[i] << 24 | (size_t)d[i + 1] << 16 |
                                      (size_t)d[i + 2] << 8 | d[i + 3]);
            if (n - i - pl < v)
                break;
            start = i + pl;
            len = v;
            i = start + len;
        }
        fprintf(c->out, "%d %ld\n", c->index, parse_seq(d + start, len));
        if (c->raw) {
            fwrite(d + start, 1, len, c->raw);
            fputc('\n', c->raw);
        }
        c->messages++;
    }
    return i;
}

static void consume(struct conn *c, size_t k)
{
    memmove(c->in.data, c->in.data + k, c->in.len - k);
    c->in.len -= k;
}

/* Read once: > 0 bytes appended, 0 EOF, < 0 error. */
static int64_t read_some(struct conn *c)
{
    ds_buf_grow(&c->in, 65536);
    if (c->ssl) {
        int r = SSL_read(c->ssl, c->in.data + c->in.len, 65536);
        if (r > 0) {
            c->in.len += (size_t)r;
            return r;
        }
        int e = SSL_get_error(c->ssl, r);
        ERR_clear_error();
        return e == SSL_ERROR_ZERO_RETURN ? 0 : (e == SSL_ERROR_SYSCALL ? 0 : -1);
    }
    int64_t r = ds_sock_recv(c->s, c->in.data + c->in.len, 65536);
    if (r > 0)
        c->in.len += (size_t)r;
    return r;
}

static const char *fault_name(enum fault f)
{
    static const char *names[] = {"none", "reset", "close", "halfclose", "stall"};
    return names[f];
}

static void serve(struct conn *c, const struct opts *o, enum fault f, long after)
{
    long limit = f == F_NONE ? -1 : after;
    const char *end = "EOF";
    for (;;) {
        if (limit >= 0 && c->messages >= limit)
            break;
        int64_t r = read_some(c);
        if (r <= 0) {
            end = r == 0 ? "EOF" : "error";
            limit = -2;
            break;
        }
        consume(c, split(c, o->framing, limit));
        fflush(c->out);
        if (c->raw)
            fflush(c->raw);
    }
    if (limit >= 0) {
        fprintf(stderr, "faultcollector: connection %d: %s after %ld messages\n", c->index,
                fault_name(f), c->messages);
        switch (f) {
        case F_RESET:
            if (c->ssl)
                SSL_free(c->ssl);
            ds_sock_abort(c->s);
            end = "reset";
            break;
        case F_CLOSE:
            if (c->ssl)
                SSL_free(c->ssl);
            ds_sock_close(c->s);
            end = "closed";
            break;
        case F_STALL:
            ds_sleep_ms(o->stall_ms);
            if (c->ssl)
                SSL_free(c->ssl);
            ds_sock_abort(c->s);
            end = "stalled, reset";
            break;
        case F_HALFCLOSE:
            if (c->ssl)
                SSL_shutdown(c->ssl);
            ds_sock_shutdown_wr(c->s);
            for (;;) {
                consume(c, split(c, o->framing, -1));
                fflush(c->out);
                if (read_some(c) <= 0)
                    break;
            }
            consume(c, split(c, o->framing, -1));
            if (c->ssl)
                SSL_free(c->ssl);
            ds_sock_close(c->s);
            end = "half-closed, then EOF";
            break;
        case F_NONE:
            break;
        }
    } else {
        if (c->ssl) {
            SSL_shutdown(c->ssl);
            SSL_free(c->ssl);
        }
        ds_sock_close(c->s);
    }
    fflush(c->out);
    if (c->raw)
        fflush(c->raw);
    fprintf(stderr, "faultcollector: connection %d: %ld messages, %s, %zu bytes unparsed\n",
            c->index, c->messages, end, c->in.len);
}

static void usage(void)
{
    fprintf(stderr, "usage: faultcollector --port P [--addr A] [--framing "
                    "newline|octet|16bit|32bit] --out FILE [--fault MODE:N]... [--stall-ms MS] "
                    "[--rcvbuf BYTES] [--tls CERT KEY [--ca CA]] [--port-file F] [--raw FILE]\n");
    exit(2);
}

static enum fault parse_fault(const char *s, long *after)
{
    static const char *names[] = {"none", "reset", "close", "halfclose", "stall"};
    const char *colon = strchr(s, ':');
    if (!colon)
        usage();
    *after = atol(colon + 1);
    for (int i = 0; i < 5; i++)
        if (strncmp(s, names[i], (size_t)(colon - s)) == 0 && strlen(names[i]) == (size_t)(colon - s))
            return (enum fault)i;
    usage();
    return F_NONE;
}

int main(int argc, char **argv)
{
    struct opts o = {.addr = "127.0.0.1", .framing = FR_NEWLINE, .stall_ms = 3000};
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--port"))
            o.port = (unsigned)atoi(v);
        else if (!strcmp(a, "--addr"))
            o.addr = v;
        else if (!strcmp(a, "--out"))
            o.out = v;
        else if (!strcmp(a, "--raw"))
            o.raw = v;
        else if (!strcmp(a, "--port-file"))
            o.port_file = v;
        else if (!strcmp(a, "--stall-ms"))
            o.stall_ms = (unsigned)atoi(v);
        else if (!strcmp(a, "--rcvbuf"))
            o.rcvbuf = atoi(v);
        else if (!strcmp(a, "--ca"))
            o.ca = v;
        else if (!strcmp(a, "--tls")) {
            if (i + 2 >= argc)
                usage();
            o.cert = v;
            o.key = argv[i + 2];
            i++;
        } else if (!strcmp(a, "--framing")) {
            if (!strcmp(v, "newline"))
                o.framing = FR_NEWLINE;
            else if (!strcmp(v, "octet"))
                o.framing = FR_OCTET;
            else if (!strcmp(v, "16bit"))
                o.framing = FR_16;
            else if (!strcmp(v, "32bit"))
                o.framing = FR_32;
            else
                usage();
        } else if (!strcmp(a, "--fault")) {
            if (o.nfaults == 64)
                usage();
            o.faults[o.nfaults] = parse_fault(v, &o.fault_after[o.nfaults]);
            o.nfaults++;
        } else {
            usage();
        }
    }
    if (!o.out)
        usage();
    ds_net_init();
    FILE *out = fopen(o.out, "a");
    if (!out) {
        perror(o.out);
        return 1;
    }
    FILE *raw = o.raw ? fopen(o.raw, "a") : NULL;
    if (o.raw && !raw) {
        perror(o.raw);
        return 1;
    }
    SSL_CTX *ctx = NULL;
    if (o.cert) {
        ctx = SSL_CTX_new(TLS_server_method());
        if (SSL_CTX_use_certificate_chain_file(ctx, o.cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, o.key, SSL_FILETYPE_PEM) != 1) {
            ERR_print_errors_fp(stderr);
            return 1;
        }
        if (o.ca) {
            SSL_CTX_load_verify_locations(ctx, o.ca, NULL);
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        }
    }
    struct ds_addr la;
    if (ds_addr_parse(o.addr, o.port, &la) != DS_OK) {
        fprintf(stderr, "faultcollector: bad address %s\n", o.addr);
        return 1;
    }
    ds_sock l;
    int rc = ds_sock_listen(&la, 64, &l);
    if (rc == DS_OK && o.rcvbuf > 0)
        rc = ds_sock_set_rcvbuf(l, o.rcvbuf);
    if (rc != DS_OK) {
        fprintf(stderr, "faultcollector: listen %s:%u: %s\n", o.addr, o.port, ds_strerror(rc));
        return 1;
    }
    struct ds_addr bound;
    ds_sock_local_addr(l, &bound);
    if (o.port_file) {
        FILE *pf = fopen(o.port_file, "w");
        if (pf) {
            fprintf(pf, "%u\n", ds_addr_port(&bound));
            fclose(pf);
        }
    }
    char b[64];
    ds_addr_format(&bound, b, sizeof b);
    fprintf(stderr, "faultcollector: listening on %s%s\n", b, ctx ? " (TLS)" : "");
    for (int index = 1;; index++) {
        struct ds_pollfd p = {l, DS_POLLIN, 0};
        ds_poll(&p, 1, -1);
        struct conn c = {.index = index, .out = out, .raw = raw};
        struct ds_addr peer;
        if (ds_sock_accept(l, &c.s, &peer) != DS_OK) {
            index--;
            continue;
        }
        ds_sock_set_nonblock(c.s, false);
        ds_addr_format(&peer, b, sizeof b);
        fprintf(stderr, "faultcollector: connection %d from %s\n", index, b);
        if (ctx) {
            c.ssl = SSL_new(ctx);
            SSL_set_fd(c.ssl, (int)c.s);
            if (SSL_accept(c.ssl) != 1) {
                fprintf(stderr, "faultcollector: connection %d: TLS handshake failed\n", index);
                ERR_print_errors_fp(stderr);
                SSL_free(c.ssl);
                ds_sock_close(c.s);
                continue;
            }
        }
        int k = index - 1;
        serve(&c, &o, k < o.nfaults ? o.faults[k] : F_NONE, k < o.nfaults ? o.fault_after[k] : 0);
        ds_buf_free(&c.in);
    }
}
