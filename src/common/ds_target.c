/* ds_target.c - one forwarder target.  See ds_target.h. */
#include "ds_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_buf.h"
#include "ds_err.h"
#include "ds_log.h"
#include "ds_net.h"

#define KEEPALIVE_IDLE_S 10
#define KEEPALIVE_INTVL_S 5
#define KEEPALIVE_CNT 3

int ds_target_init(struct ds_target *t, const struct ds_forwarder_cfg *fc, unsigned backoff_min_ms,
                   unsigned backoff_max_ms, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->sock = DS_SOCK_INVALID;
    t->host = ds_xstrdup(fc->host);
    t->server_name = ds_xstrdup(fc->tls_server_name ? fc->tls_server_name : fc->host);
    t->port = fc->port;
    t->family = fc->family;
    t->tls = fc->tls;
    t->connect_timeout_ms = fc->connect_timeout_ms ? fc->connect_timeout_ms : 5000;
    t->write_timeout_ms = fc->write_timeout_ms ? fc->write_timeout_ms : 5000;
    t->backoff_min_ms = backoff_min_ms ? backoff_min_ms : 1;
    t->backoff_max_ms = backoff_max_ms < t->backoff_min_ms ? t->backoff_min_ms : backoff_max_ms;
    snprintf(t->name, sizeof t->name, "%s:%u", fc->host, fc->port);
    t->rng = (ds_time_now_us() ^ ((uint64_t)(uintptr_t)t << 16)) | 1;
    if (t->tls) {
        int rc = ds_tls_ctx_create(fc, &t->tls_ctx, err, errlen);
        if (rc != DS_OK) {
            ds_target_deinit(t);
            return rc;
        }
    }
    return DS_OK;
}

void ds_target_deinit(struct ds_target *t)
{
    if (ds_target_connected(t))
        ds_target_close(t, false, 0);
    ds_tls_ctx_destroy(&t->tls_ctx);
    free(t->host);
    free(t->server_name);
    t->host = t->server_name = NULL;
}

static const char *attempt_result(int rc)
{
    switch (rc) {
    case DS_OK:
        return "connected";
    case DS_ECONNREFUSED:
        return "refused";
    case DS_ETIMEDOUT:
        return "timed out";
    default:
        return ds_strerror(rc);
    }
}

int ds_target_connect(struct ds_target *t, const atomic_bool *stop)
{
    struct ds_addr addrs[DS_TARGET_MAX_ADDRS];
    int n = ds_addr_resolve(t->host, t->port, t->family, addrs, DS_TARGET_MAX_ADDRS);
    if (n < 0) {
        ds_log_warn("forwarder", "%s: cannot resolve %s: %s", t->name, t->host, ds_strerror(n));
        return n;
    }
    if (n > 1 || ds_addr_parse(t->host, t->port, &addrs[DS_TARGET_MAX_ADDRS - 1]) != DS_OK) {
        struct ds_buf list = {0};
        for (int i = 0; i < n; i++) {
            char a[64];
            ds_addr_format(&addrs[i], a, sizeof a);
            ds_buf_printf(&list, "%s%s", i ? ", " : "", a);
        }
        ds_buf_putc(&list, '\0');
        ds_log_info("forwarder", "%s: %s resolves to %s", t->name, t->host, (char *)list.data);
        ds_buf_free(&list);
    }
    int rc = DS_ECONNREFUSED;
    for (int i = 0; i < n; i++) {
        if (stop && atomic_load(stop))
            return DS_ECLOSED;
        char a[64];
        ds_addr_format(&addrs[i], a, sizeof a);
        ds_sock s;
        rc = ds_sock_connect(&addrs[i], t->connect_timeout_ms, &s);
        if (rc == DS_OK) {
            ds_sock_set_keepalive(s, KEEPALIVE_IDLE_S, KEEPALIVE_INTVL_S, KEEPALIVE_CNT);
            ds_sock_set_timeouts(s, t->connect_timeout_ms, t->connect_timeout_ms);
            if (t->tls) {
                char err[256];
                rc = ds_tls_connect(t->tls_ctx, s, t->server_name, &t->session, err, sizeof err);
                if (rc != DS_OK) {
                    ds_log_warn("forwarder", "%s: attempt %s -> TLS failed: %s", t->name, a, err);
                    ds_sock_close(s);
                    continue;
                }
            }
            ds_sock_set_timeouts(s, t->write_timeout_ms, t->write_timeout_ms);
            t->sock = s;
            t->wire_out = 0;
            snprintf(t->addr, sizeof t->addr, "%s", a);
            if (t->session) {
                char d[96];
                ds_tls_describe(t->session, d, sizeof d);
                ds_log_info("forwarder", "%s: attempt %s -> connected (%s)", t->name, a, d);
            } else {
                ds_log_info("forwarder", "%s: attempt %s -> connected", t->name, a);
            }
            if (i + 1 < n)
                ds_log_debug("forwarder", "%s: %d other address(es) not contacted", t->name,
                             n - i - 1);
            return DS_OK;
        }
        ds_log_warn("forwarder", "%s: attempt %s -> %s", t->name, a, attempt_result(rc));
    }
    return rc;
}

int ds_target_write(struct ds_target *t, const void *p, size_t n)
{
    if (!ds_target_connected(t))
        return DS_ECLOSED;
    if (t->session)
        return ds_tls_write(t->session, p, n);
    const uint8_t *b = p;
    while (n > 0) {
        int64_t w = ds_sock_send(t->sock, b, n);
        if (w < 0)
            return w == DS_EAGAIN ? DS_ETIMEDOUT : (int)w;
        t->wire_out += (uint64_t)w;
        b += w;
        n -= (size_t)w;
    }
    return DS_OK;
}

int ds_target_check(struct ds_target *t)
{
    if (!ds_target_connected(t))
        return DS_ECLOSED;
    if (t->session)
        return ds_tls_check_peer(t->session);
    char scratch[4096];
    for (int i = 0; i < 64; i++) {
        struct ds_pollfd p = {t->sock, DS_POLLIN, 0};
        if (ds_poll(&p, 1, 0) <= 0)
            return DS_OK;
        int64_t r = ds_sock_recv(t->sock, scratch, sizeof scratch);
        if (r == 0)
            return DS_ECLOSED;
        if (r < 0)
            return r == DS_EAGAIN ? DS_OK : (int)r;
    }
    return DS_OK;
}

uint64_t ds_target_wire_out(const struct ds_target *t)
{
    return t->session ? ds_tls_wire_out(t->session) : t->wire_out;
}

int ds_target_acked(struct ds_target *t, uint64_t *acked)
{
    if (!ds_target_connected(t) || t->ack_unknown)
        return DS_ENOTSUP;
    uint64_t unacked = 0;
    int rc = ds_sock_unacked(t->sock, &unacked);
    if (rc == DS_ENOTSUP)
        t->ack_unknown = true;
    if (rc != DS_OK)
        return DS_ENOTSUP;
    uint64_t out = ds_target_wire_out(t);
    *acked = unacked > out ? 0 : out - unacked;
    return DS_OK;
}

void ds_target_half_close(struct ds_target *t, unsigned no_progress_ms, unsigned max_ms)
{
    if (!ds_target_connected(t))
        return;
    if (t->session)
        ds_tls_notify_close(t->session);
    ds_sock_shutdown_wr(t->sock);
    uint64_t now = ds_time_mono_ms(), end = now + max_ms, stall = now + no_progress_ms;
    uint64_t acked, last = 0;
    while (ds_target_acked(t, &acked) == DS_OK && acked < ds_target_wire_out(t)) {
        now = ds_time_mono_ms();
        if (acked > last) {
            last = acked;
            stall = now + no_progress_ms;
        }
        if (now >= stall || now >= end)
            break;
        ds_sleep_ms(5);
    }
}

int ds_target_close(struct ds_target *t, bool graceful, unsigned drain_ms)
{
    if (!ds_target_connected(t))
        return DS_OK;
    int rc = DS_OK;
    if (t->session)
        rc = ds_tls_close(&t->session, graceful, drain_ms);
    else if (graceful)
        rc = ds_net_drain_to_eof(t->sock, drain_ms);
    if (graceful)
        ds_sock_close(t->sock);
    else
        ds_sock_abort(t->sock);
    t->sock = DS_SOCK_INVALID;
    t->addr[0] = 0;
    t->ack_unknown = false;
    return rc;
}

static uint64_t next_rand(struct ds_target *t)
{
    /* xorshift64*: jitter only, no security role */
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

unsigned ds_target_backoff(struct ds_target *t)
{
    uint64_t d = t->backoff_min_ms;
    for (unsigned i = 0; i < t->failures_in_row && d < t->backoff_max_ms; i++)
        d *= 2;
    if (d > t->backoff_max_ms)
        d = t->backoff_max_ms;
    if (t->failures_in_row < 64)
        t->failures_in_row++;
    uint64_t half = d / 2;
    return (unsigned)(half + (half ? next_rand(t) % (d - half + 1) : d));
}

void ds_target_backoff_reset(struct ds_target *t) { t->failures_in_row = 0; }
