/*
 * pbsink.c - counting sink: listens on 127.0.0.1:PORT, accepts many connections,
 * splits each stream into events and reads back pbgen's sequence tag.
 *
 * Usage: pbsink PORT --framing 16bit|32bit|newline|octet [--expect N] [--stay]
 *               [--report FILE] [--progress FILE] [--port-file FILE] [--counter FILE]
 *               [--tls CERT KEY]
 *
 * The tag is messageId = d55e9a7e7062676e + SEQ (big-endian), see pbgen.c: taken from
 * the protobuf (field 2) for 16bit/32bit framing and from the JSON member "messageId"
 * (32 hex digits) for newline/octet framing (syslog headers in front are fine).
 * It tracks events, bytes, tagged/untagged events, distinct seqs, duplicates, gaps
 * (seqs missing between the lowest and the highest seen), and out-of-order events (a
 * seq lower than the one before it on the same connection).
 *
 * The report is one JSON line:
 *   {"events":..,"bytes":..,"tagged":..,"untagged":..,"distinct":..,"duplicates":..,
 *    "gaps":..,"out_of_order":..,"min_seq":..,"max_seq":..,"connections":..,
 *    "bad_frames":..,"first_us":..,"last_us":..}
 * written (atomically: temp file + rename) to --report FILE and stdout on SIGTERM or
 * SIGINT, or as soon as --expect N distinct seqs were seen; then pbsink exits 0.  With
 * --stay it writes that report but keeps counting until SIGTERM (and reports again).
 * --progress FILE is rewritten with the same line every 100 ms while counts change.
 * PORT 0 picks a free port; --port-file receives it.  Test tool: Linux.
 *
 * For the benchmark (bench/run): first_us and last_us are the wall-clock times
 * (microseconds since the epoch, taken once per read) of the first event and of the
 * latest one (with --expect: the read that completed the expected set).  --counter
 * FILE keeps the number of distinct seqs seen as a uint64 at offset 0 of a shared
 * 4 KiB mapping of FILE, updated after every read, so pbgen --window can keep a
 * bounded number of events in flight without polling the report.  --tls CERT KEY
 * serves TLS (OpenSSL, any version the library allows, no client certificate) on every
 * connection; the handshake runs non-blocking inside the same poll loop.
 */
#include <inttypes.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_err.h"
#include "ds_plat.h"
#include "pbtag.h"

#define MAX_CONNS 256
#define READ_CHUNK (1 << 18)
#define MAX_SEQ_BITS (1ull << 31) /* bitmap of at most 256 MiB */

enum framing { FR_16, FR_32, FR_NEWLINE, FR_OCTET };

struct conn {
    ds_sock s;
    struct ds_buf in;
    uint64_t last_seq;
    SSL *ssl;        /* --tls only */
    bool hs_done;    /* TLS handshake finished */
    bool want_write; /* OpenSSL needs the socket writable to go on */
};

struct sink {
    enum framing framing;
    uint64_t expect;
    bool stay, expect_reported;
    const char *report, *progress;
    uint64_t events, bytes, tagged, untagged, distinct, dups, ooo, bad, conns_total;
    uint64_t min_seq, max_seq, out_of_range;
    uint64_t first_us, last_us;
    _Atomic uint64_t *counter;
    uint8_t *bits;
    uint64_t nbits;
    struct conn conns[MAX_CONNS];
    int nconns;
};

static atomic_bool stop_flag;
static struct ds_wakeup wake;

static void signal_thread(void *arg)
{
    (void)arg;
    for (;;) {
        enum ds_sig s = ds_signals_wait(-1);
        if (s == DS_SIG_STOP) {
            atomic_store(&stop_flag, true);
            ds_wakeup_signal(&wake);
            return;
        }
    }
}

/* ---- tags -------------------------------------------------------------------------- */

/* The last top-level field 2 of 16 bytes (protobuf: the last value wins). */
static bool pb_tag(const uint8_t *p, size_t len, uint64_t *seq)
{
    size_t i = 0;
    bool found = false;
    while (i < len) {
        size_t val = 0, vlen = 0;
        uint64_t field;
        if (!pbtag_next_field(p, len, &i, &field, &val, &vlen))
            return false;
        if (field == 2 && vlen == 16)
            found = pbtag_seq(p + val, seq) || found;
    }
    return found;
}

/* Hex digit values (0-15), 0xff for anything else. */
static uint8_t hex_tab[256];

static void hex_tab_init(void)
{
    memset(hex_tab, 0xff, sizeof(hex_tab));
    for (int i = 0; i < 10; i++)
        hex_tab['0' + i] = (uint8_t)i;
    for (int i = 0; i < 6; i++)
        hex_tab['a' + i] = hex_tab['A' + i] = (uint8_t)(10 + i);
}

/* The 16 bytes of 32 hex digits at s, with dashes skipped (s[0..len)).  Returns the index
 * after the digits, or 0 when there are fewer than 32 or something else comes first.  The
 * common form (32 digits in a row, as dnsstream writes it) is read without a byte loop
 * over the output array: two words of 16 digits, one table load per digit. */
static size_t hex_id(const uint8_t *s, size_t len, uint8_t id[16])
{
    if (len >= 32) {
        uint64_t w[2] = {0, 0}, bad = 0;
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 16; i++) {
                uint8_t v = hex_tab[s[16 * h + i]];
                bad |= v;
                w[h] = w[h] << 4 | (v & 15u);
            }
        if (!(bad & 0xf0)) {
            for (int i = 0; i < 8; i++) {
                id[i] = (uint8_t)(w[0] >> (56 - 8 * i));
                id[8 + i] = (uint8_t)(w[1] >> (56 - 8 * i));
            }
            return 32;
        }
    }
    size_t j = 0;
    int nd = 0;
    for (; j < len && nd < 32; j++) {
        if (s[j] == '-')
            continue;
        uint8_t v = hex_tab[s[j]];
        if (v > 15)
            return 0;
        if (nd % 2 == 0)
            id[nd / 2] = (uint8_t)(v << 4);
        else
            id[nd / 2] |= v;
        nd++;
    }
    return nd == 32 ? j : 0;
}

/* "messageId":"<32 hex digits, dashes allowed>" anywhere in a text event. */
static bool text_tag(const uint8_t *p, size_t len, uint64_t *seq)
{
    static const char key[] = "\"messageId\"";
    size_t kl = sizeof(key) - 1;
    for (size_t i = 0; i + kl < len; i++) {
        /* Hop with memchr (vectorised; this runs for every event) to the next 'I', the
         * rarest letter of the key, and look for the key around it. */
        const uint8_t *q = memchr(p + i + 8, 'I', len - kl - i);
        if (!q)
            return false;
        i = (size_t)(q - p) - 8;
        if (memcmp(p + i, key, kl) != 0)
            continue;
        size_t j = i + kl;
        while (j < len && (p[j] == ' ' || p[j] == ':'))
            j++;
        if (j >= len || p[j] != '"')
            return false;
        j++;
        /* the common form: the magic as dnsstream writes it (lowercase, no dashes), then
         * the sequence number: only the last 16 digits need reading */
        if (len - j > 32 && p[j + 32] == '"' && memcmp(p + j, PBTAG_MAGIC_HEX, 16) == 0) {
            uint64_t v = 0;
            unsigned bad = 0;
            for (int d = 16; d < 32; d++) {
                uint8_t h = hex_tab[p[j + d]];
                bad |= h;
                v = v << 4 | (h & 15u);
            }
            if (!(bad & 0xf0)) {
                *seq = v;
                return v != 0;
            }
        }
        uint8_t id[16];
        size_t n = hex_id(p + j, len - j, id);
        return n && j + n < len && p[j + n] == '"' && pbtag_seq(id, seq);
    }
    return false;
}

/* ---- counting ------------------------------------------------------------------------ */

static void count_seq(struct sink *k, struct conn *c, uint64_t seq)
{
    k->tagged++;
    if (seq >= MAX_SEQ_BITS) {
        k->out_of_range++;
        return;
    }
    if (seq >= k->nbits) {
        uint64_t n = k->nbits ? k->nbits : (1u << 20);
        while (n <= seq)
            n *= 2;
        k->bits = ds_xrealloc(k->bits, (size_t)(n / 8));
        memset(k->bits + k->nbits / 8, 0, (size_t)((n - k->nbits) / 8));
        k->nbits = n;
    }
    uint8_t m = (uint8_t)(1u << (seq & 7));
    if (k->bits[seq / 8] & m) {
        k->dups++;
    } else {
        k->bits[seq / 8] |= m;
        k->distinct++;
        if (k->distinct == 1 || seq < k->min_seq)
            k->min_seq = seq;
        if (seq > k->max_seq)
            k->max_seq = seq;
    }
    if (seq < c->last_seq)
        k->ooo++;
    c->last_seq = seq;
}

static void count_event(struct sink *k, struct conn *c, const uint8_t *p, size_t len,
                        size_t framed)
{
    k->events++;
    k->bytes += framed;
    uint64_t seq;
    bool ok = k->framing == FR_16 || k->framing == FR_32 ? pb_tag(p, len, &seq)
                                                          : text_tag(p, len, &seq);
    if (ok)
        count_seq(k, c, seq);
    else
        k->untagged++;
}

/* Split the connection's buffer; false when the stream cannot be framed. */
static bool consume(struct sink *k, struct conn *c)
{
    const uint8_t *p = c->in.data;
    size_t n = c->in.len, off = 0;
    bool ok = true;
    while (off < n) {
        const uint8_t *q = p + off;
        size_t rest = n - off;
        if (k->framing == FR_16 || k->framing == FR_32) {
            size_t h = k->framing == FR_16 ? 2 : 4;
            if (rest < h)
                break;
            size_t len = h == 2 ? (size_t)q[0] << 8 | q[1]
                                : (size_t)q[0] << 24 | (size_t)q[1] << 16 |
                                      (size_t)q[2] << 8 | q[3];
            if (len > (16u << 20)) {
                ok = false;
                break;
            }
            if (rest < h + len)
                break;
            count_event(k, c, q + h, len, h + len);
            off += h + len;
        } else if (k->framing == FR_NEWLINE) {
            const uint8_t *nl = memchr(q, '\n', rest);
            if (!nl)
                break;
            size_t len = (size_t)(nl - q);
            count_event(k, c, q, len, len + 1);
            off += len + 1;
        } else {
            size_t i = 0, len = 0;
            while (i < rest && q[i] >= '0' && q[i] <= '9' && i < 10)
                len = len * 10 + (size_t)(q[i++] - '0');
            if (i == rest)
                break;
            if (i == 0 || q[i] != ' ' || len > (16u << 20)) {
                ok = false;
                break;
            }
            if (rest < i + 1 + len)
                break;
            count_event(k, c, q + i + 1, len, i + 1 + len);
            off += i + 1 + len;
        }
    }
    if (!ok)
        k->bad++;
    memmove(c->in.data, c->in.data + off, n - off);
    c->in.len = n - off;
    return ok;
}

static void write_line(const char *path, const char *line)
{
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fputs(line, f);
    if (fclose(f) == 0)
        ds_file_rename(tmp, path);
}

static void format_report(const struct sink *k, char *line, size_t len)
{
    uint64_t span = k->distinct ? k->max_seq - k->min_seq + 1 : 0;
    snprintf(line, len,
             "{\"events\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"tagged\":%" PRIu64
             ",\"untagged\":%" PRIu64 ",\"distinct\":%" PRIu64 ",\"duplicates\":%" PRIu64
             ",\"gaps\":%" PRIu64 ",\"out_of_order\":%" PRIu64 ",\"min_seq\":%" PRIu64
             ",\"max_seq\":%" PRIu64 ",\"connections\":%" PRIu64 ",\"bad_frames\":%" PRIu64
             ",\"first_us\":%" PRIu64 ",\"last_us\":%" PRIu64 "}\n",
             k->events, k->bytes, k->tagged, k->untagged + k->out_of_range, k->distinct,
             k->dups, span - k->distinct, k->ooo, k->min_seq, k->max_seq, k->conns_total,
             k->bad, k->first_us, k->last_us);
}

static void report(const struct sink *k)
{
    char line[1024];
    format_report(k, line, sizeof(line));
    fputs(line, stdout);
    fflush(stdout);
    if (k->report)
        write_line(k->report, line);
}

/* Like ds_sock_recv (bytes, 0 at EOF, DS_EAGAIN, or another negative error), through
 * TLS when the connection has it. */
static int64_t conn_recv(struct conn *c, uint8_t *buf, size_t len)
{
    if (!c->ssl)
        return ds_sock_recv(c->s, buf, len);
    c->want_write = false;
    int r = 0;
    if (!c->hs_done) {
        r = SSL_do_handshake(c->ssl);
        if (r == 1)
            c->hs_done = true;
    }
    if (c->hs_done) {
        r = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
        if (r > 0)
            return r;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        return DS_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        c->want_write = true;
        return DS_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        return DS_EIO;
    }
}

static void close_conn(struct sink *k, int i)
{
    if (k->conns[i].ssl) {
        if (k->conns[i].hs_done)
            SSL_shutdown(k->conns[i].ssl); /* our close_notify; we do not wait for theirs */
        SSL_free(k->conns[i].ssl);
    }
    ds_sock_close(k->conns[i].s);
    ds_buf_free(&k->conns[i].in);
    k->conns[i] = k->conns[--k->nconns];
}

static void usage(void)
{
    fprintf(stderr, "usage: pbsink PORT --framing 16bit|32bit|newline|octet [--expect N] "
                    "[--stay]\n              [--report FILE] [--progress FILE] "
                    "[--port-file FILE] [--counter FILE]\n              [--tls CERT KEY]\n");
    exit(64);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    hex_tab_init();
    static struct sink k;
    k.framing = (enum framing)-1;
    const char *port_file = NULL, *counter_file = NULL, *cert = NULL, *key = NULL;
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--stay") == 0) {
            k.stay = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(a, "--framing") == 0)
            k.framing = strcmp(v, "16bit") == 0     ? FR_16
                        : strcmp(v, "32bit") == 0   ? FR_32
                        : strcmp(v, "newline") == 0 ? FR_NEWLINE
                        : strcmp(v, "octet") == 0   ? FR_OCTET
                                                    : (enum framing)-1;
        else if (strcmp(a, "--expect") == 0)
            k.expect = strtoull(v, NULL, 10);
        else if (strcmp(a, "--report") == 0)
            k.report = v;
        else if (strcmp(a, "--progress") == 0)
            k.progress = v;
        else if (strcmp(a, "--port-file") == 0)
            port_file = v;
        else if (strcmp(a, "--counter") == 0)
            counter_file = v;
        else if (strcmp(a, "--tls") == 0 && i + 1 < argc) {
            cert = v;
            key = argv[++i];
        } else
            usage();
    }
    if ((int)k.framing < 0)
        usage();
    SSL_CTX *tls = NULL;
    if (cert) {
        tls = SSL_CTX_new(TLS_server_method());
        if (!tls || SSL_CTX_use_certificate_chain_file(tls, cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(tls, key, SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "pbsink: cannot load %s / %s\n", cert, key);
            return 1;
        }
    }
    struct ds_mmap counter_map = {0};
    if (counter_file) {
        if (ds_mmap_open(counter_file, 4096, &counter_map, NULL, NULL) != DS_OK) {
            fprintf(stderr, "pbsink: cannot map %s\n", counter_file);
            return 1;
        }
        k.counter = counter_map.base;
        atomic_store(k.counter, 0);
    }
    ds_signals_block();
    ds_net_init();
    struct ds_addr addr;
    ds_sock l;
    if (ds_addr_parse("127.0.0.1", port, &addr) != DS_OK ||
        ds_sock_listen(&addr, 128, &l) != DS_OK) {
        fprintf(stderr, "pbsink: cannot listen on 127.0.0.1:%u\n", port);
        return 1;
    }
    struct ds_addr bound;
    ds_sock_local_addr(l, &bound);
    if (port_file) {
        char pl[32];
        snprintf(pl, sizeof(pl), "%u\n", ds_addr_port(&bound));
        write_line(port_file, pl);
    }
    if (ds_wakeup_init(&wake) != DS_OK)
        return 1;
    struct ds_thread sig;
    ds_thread_create(&sig, signal_thread, NULL, "pbsink-sig");

    uint64_t last_progress = 0, progress_events = UINT64_MAX;
    struct ds_pollfd pf[MAX_CONNS + 2];
    bool expect_done = false;
    while (!atomic_load(&stop_flag) && !expect_done) {
        pf[0] = (struct ds_pollfd){wake.rd, DS_POLLIN, 0};
        pf[1] = (struct ds_pollfd){l, (short)(k.nconns < MAX_CONNS ? DS_POLLIN : 0), 0};
        for (int i = 0; i < k.nconns; i++)
            pf[2 + i] = (struct ds_pollfd){
                k.conns[i].s, (short)(DS_POLLIN | (k.conns[i].want_write ? DS_POLLOUT : 0)), 0};
        int nready = ds_poll(pf, 2 + k.nconns, k.progress ? 100 : -1);
        if (nready < 0)
            break;
        if (pf[1].revents & DS_POLLIN) {
            ds_sock s;
            while (k.nconns < MAX_CONNS && ds_sock_accept(l, &s, NULL) == DS_OK) {
                ds_sock_set_nonblock(s, true);
                ds_sock_set_rcvbuf(s, 1 << 20);
                struct conn *c = &k.conns[k.nconns++];
                *c = (struct conn){s, {0}, 0, NULL, false, false};
                if (tls) {
                    c->ssl = SSL_new(tls);
                    SSL_set_fd(c->ssl, (int)s);
                    SSL_set_accept_state(c->ssl);
                }
                k.conns_total++;
            }
        }
        for (int i = k.nconns - 1; i >= 0; i--) {
            if (!(pf[2 + i].revents & (DS_POLLIN | DS_POLLOUT | DS_POLLHUP | DS_POLLERR)))
                continue;
            struct conn *c = &k.conns[i];
            bool closed = false;
            for (int rounds = 0; rounds < 16; rounds++) {
                ds_buf_grow(&c->in, READ_CHUNK); /* read straight into the stream buffer */
                int64_t n = conn_recv(c, c->in.data + c->in.len, READ_CHUNK);
                if (n == DS_EAGAIN)
                    break;
                if (n <= 0) {
                    closed = true;
                    break;
                }
                uint64_t before = k.events;
                c->in.len += (size_t)n;
                bool framed = consume(&k, c);
                if (k.events != before) {
                    k.last_us = ds_time_now_us();
                    if (!k.first_us)
                        k.first_us = k.last_us;
                    if (k.counter)
                        atomic_store_explicit(k.counter, k.distinct, memory_order_release);
                }
                if (!framed) {
                    closed = true;
                    break;
                }
            }
            if (closed)
                close_conn(&k, i);
        }
        if (k.expect && !k.expect_reported && k.distinct >= k.expect) {
            k.expect_reported = true;
            report(&k);
            expect_done = !k.stay;
        }
        if (k.progress && k.events != progress_events &&
            ds_time_mono_ms() - last_progress >= 100) {
            char line[1024];
            format_report(&k, line, sizeof(line));
            write_line(k.progress, line);
            progress_events = k.events;
            last_progress = ds_time_mono_ms();
        }
    }
    /* Stop: count what is already queued on the sockets, then report. */
    for (int i = k.nconns - 1; i >= 0; i--) {
        while (!expect_done) {
            struct ds_buf *in = &k.conns[i].in;
            ds_buf_grow(in, READ_CHUNK);
            int64_t n = conn_recv(&k.conns[i], in->data + in->len, READ_CHUNK);
            if (n <= 0)
                break;
            in->len += (size_t)n;
            if (!consume(&k, &k.conns[i]))
                break;
        }
        close_conn(&k, i);
    }
    if (k.progress) {
        char line[1024];
        format_report(&k, line, sizeof(line));
        write_line(k.progress, line);
    }
    if (!expect_done)
        report(&k);
    ds_sock_close(l);
    if (!expect_done)
        ds_thread_join(&sig); /* it returned after the stop signal */
    free(k.bits);
    if (k.counter)
        ds_mmap_close(&counter_map);
    SSL_CTX_free(tls);
    return 0;
}
