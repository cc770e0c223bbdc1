/*
 * ds_tls.h - the TLS client transport of a forwarder target (OpenSSL).
 *
 * Purpose: a client context per forwarder line (TLS 1.2 minimum, peer verification
 * on unless tls-verify=off, CA file or the system store, optional client
 * certificate and key), and a session over a connected socket: handshake with SNI
 * and host name (or IP) verification, whole-buffer writes, a non-blocking check
 * whether the peer has closed, and a graceful close (close_notify, TCP half-close,
 * drain to EOF) so that a collector never loses the tail of the stream.
 *
 * I/O goes through a BIO of our own over ds_plat.h sockets, so no SIGPIPE is raised
 * and every byte put on the wire is counted (for the durable mode's acknowledgement
 * tracking).
 *
 * tls-client-certificate=auto (Linux): the certificate and key are the files
 * client.pem and client.key in the directory named by the environment variable
 * DNSSTREAM_TLS_DIR, or /etc/dnsstream/tls when it is unset.
 *
 * Ownership: a context belongs to its target and outlives its sessions; the session
 * does not own the socket (the caller closes it after ds_tls_close).
 * Threads: a context may be shared by sessions on several threads (OpenSSL's
 * SSL_CTX is thread-safe once built); a session belongs to one thread.
 */
#ifndef DS_TLS_H
#define DS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_config.h"
#include "ds_plat.h"

#define DS_TLS_AUTO_DIR "/etc/dnsstream/tls"

struct ds_tls_ctx;
struct ds_tls;

/* Build the client context of one forwarder line.  Errors (unreadable CA, certificate
 * or key, key not matching the certificate) are described in err. */
int ds_tls_ctx_create(const struct ds_forwarder_cfg *fc, struct ds_tls_ctx **out, char *err,
                      size_t errlen);
void ds_tls_ctx_destroy(struct ds_tls_ctx **c);

/* Handshake over the connected, blocking socket s (whose send/receive timeouts bound
 * each step).  server_name is sent as SNI (not when it is an IP literal) and, with
 * verification on, checked against the certificate. */
int ds_tls_connect(struct ds_tls_ctx *c, ds_sock s, const char *server_name, struct ds_tls **out,
                   char *err, size_t errlen);

/* Write all n bytes (one SSL_write).  DS_ETIMEDOUT when the socket's send timeout
 * expired, DS_ECONNRESET / DS_ECLOSED / DS_ETLS otherwise. */
int ds_tls_write(struct ds_tls *t, const void *p, size_t n);

/* Without blocking: DS_OK while the peer is alive (any data it sent is read and
 * discarded), DS_ECLOSED after its close_notify or EOF, another error otherwise. */
int ds_tls_check_peer(struct ds_tls *t);

/* Bytes written to the socket by this session (records, handshake included). */
uint64_t ds_tls_wire_out(const struct ds_tls *t);

/* Protocol and cipher of the session, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384". */
void ds_tls_describe(const struct ds_tls *t, char *buf, size_t len);

/* Send close_notify (once) without waiting for the peer's; the session stays usable for
 * reading.  Used when the peer closed first, before waiting for its acknowledgements. */
void ds_tls_notify_close(struct ds_tls *t);

/* End the session.  graceful: send close_notify, half-close the socket and read until
 * EOF for at most drain_ms; returns DS_OK when the peer closed its side in time.  Not
 * graceful: drop the session silently.  *t becomes NULL; the socket stays open. */
int ds_tls_close(struct ds_tls **t, bool graceful, unsigned drain_ms);

#endif
