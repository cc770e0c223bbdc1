/*
 * ds_target.h - one forwarder target: resolution, connection, backoff, batch writes
 * and dead-connection detection, over plain TCP or TLS.
 *
 * Purpose: a connection attempt resolves HOST (a name is resolved at every attempt),
 * tries the addresses in resolver order and stops at the first that connects; that
 * one connection carries everything while healthy.  After a failure the caller
 * pauses for ds_target_backoff() (exponential, full jitter, bounded by
 * backoff-min/backoff-max), and the next attempt re-resolves and starts again from
 * the first address.  Writes are whole batches with a write timeout (the longest a
 * write may make no progress); between batches ds_target_check() notices a peer that
 * closed or reset; TCP keepalive covers a silent peer.
 *
 * Ownership: the target copies the strings it needs from the configuration and owns
 * its socket and TLS session.  Threads: a target belongs to one delivery thread;
 * ds_target_describe() may be called from others under the caller's lock.
 */
#ifndef DS_TARGET_H
#define DS_TARGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_config.h"
#include "ds_plat.h"
#include "ds_tls.h"

#define DS_TARGET_MAX_ADDRS 16

struct ds_target {
    char name[300];        /* "HOST:PORT" as configured (for logs and cursor names) */
    char *host;            /* owned copy */
    char *server_name;     /* owned: tls-server-name or host */
    unsigned port;
    int family;            /* 4 or 6 */
    bool tls;
    unsigned connect_timeout_ms, write_timeout_ms;
    unsigned backoff_min_ms, backoff_max_ms;
    struct ds_tls_ctx *tls_ctx;

    ds_sock sock;          /* DS_SOCK_INVALID while disconnected */
    struct ds_tls *session;
    char addr[64];         /* the connected address, "" when disconnected */
    uint64_t wire_out;     /* bytes written on this connection (plain TCP) */
    bool ack_unknown;      /* the platform cannot report unacknowledged bytes */

    unsigned failures_in_row;
    uint64_t rng;
};

/* Prepare a target (no network activity); builds the TLS context when tls=on. */
int ds_target_init(struct ds_target *t, const struct ds_forwarder_cfg *fc, unsigned backoff_min_ms,
                   unsigned backoff_max_ms, char *err, size_t errlen);
void ds_target_deinit(struct ds_target *t);

/* Resolve and try the addresses in order; DS_OK when connected (and, with TLS, the
 * handshake done).  Each attempt is logged.  *stop (may be NULL) is checked between
 * addresses. */
int ds_target_connect(struct ds_target *t, const atomic_bool *stop);
static inline bool ds_target_connected(const struct ds_target *t)
{
    return t->sock != DS_SOCK_INVALID;
}

/* Write the whole buffer.  DS_OK or a negative error (the connection is then dead and
 * the caller closes it). */
int ds_target_write(struct ds_target *t, const void *p, size_t n);

/* Without blocking: DS_OK while the connection looks alive, DS_ECLOSED when the peer
 * closed (EOF or close_notify), another negative error when it failed. */
int ds_target_check(struct ds_target *t);

/* Bytes of this connection acknowledged by the peer's TCP: DS_OK with *acked, or
 * DS_ENOTSUP when the platform cannot tell. */
int ds_target_acked(struct ds_target *t, uint64_t *acked);
/* Bytes put on the wire on this connection. */
uint64_t ds_target_wire_out(const struct ds_target *t);

/* The peer closed its side: send our close (close_notify, TCP half-close) and wait until
 * the peer's TCP acknowledged every byte written, so that the caller's recovery sees what
 * really arrived.  The wait ends early when acknowledgements make no progress for
 * no_progress_ms, and after max_ms in any case.  The connection must still be closed. */
void ds_target_half_close(struct ds_target *t, unsigned no_progress_ms, unsigned max_ms);

/* Close the connection.  graceful: close_notify (TLS), half-close, read to EOF for at
 * most drain_ms; DS_OK when the peer closed its side in time.  Otherwise a reset. */
int ds_target_close(struct ds_target *t, bool graceful, unsigned drain_ms);

/* The pause before the next attempt: a random value in [d/2, d] where d doubles from
 * backoff-min with every failure in a row, up to backoff-max. */
unsigned ds_target_backoff(struct ds_target *t);
/* A connection carried data: the next failure starts the backoff again from the minimum. */
void ds_target_backoff_reset(struct ds_target *t);

#endif
