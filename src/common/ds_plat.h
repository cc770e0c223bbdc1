/*
 * ds_plat.h - the platform layer: the only door from the portable core to the OS.
 *
 * Purpose: threads, locks, clocks, sockets, polling, files, mapped files and stop
 * signals, declared once here and implemented in src/posix/plat_posix.c and
 * src/win/plat_win.c (CMake picks one).  Nothing in src/common includes an OS
 * header; OS objects are carried in opaque storage (struct ds_mutex etc.) sized for
 * the largest platform and checked by static assertions in each implementation.
 *
 * Errors: functions return 0 (DS_OK) or a negative enum ds_err code (ds_err.h).
 * Threads: every function is safe to call from any thread unless its comment says
 * otherwise; objects are not shared unless the caller synchronises.
 */
#ifndef DS_PLAT_H
#define DS_PLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_err.h"

/* ---- time ---------------------------------------------------------------- */
uint64_t ds_time_now_us(void);   /* wall clock, microseconds since the Unix epoch */
uint64_t ds_time_mono_ms(void);  /* monotonic milliseconds, arbitrary origin */
void ds_sleep_ms(unsigned ms);
/* UTC broken-down time of a Unix second (no OS struct tm in callers). */
struct ds_tm {
    int year, mon, mday, hour, min, sec; /* mon 1..12 */
};
void ds_time_utc(int64_t unix_sec, struct ds_tm *out);
void ds_time_local(int64_t unix_sec, struct ds_tm *out);

/* ---- locks and threads --------------------------------------------------- */
struct ds_mutex {
    _Alignas(16) unsigned char opaque[64];
};
struct ds_cond {
    _Alignas(16) unsigned char opaque[64];
};
struct ds_thread {
    uintptr_t handle;
};
typedef void (*ds_thread_fn)(void *arg);

int ds_mutex_init(struct ds_mutex *m);
void ds_mutex_destroy(struct ds_mutex *m);
void ds_mutex_lock(struct ds_mutex *m);
void ds_mutex_unlock(struct ds_mutex *m);
int ds_cond_init(struct ds_cond *c);
void ds_cond_destroy(struct ds_cond *c);
void ds_cond_signal(struct ds_cond *c);
void ds_cond_broadcast(struct ds_cond *c);
void ds_cond_wait(struct ds_cond *c, struct ds_mutex *m);
/* Returns DS_OK when signalled (or spuriously woken), DS_ETIMEDOUT on timeout. */
int ds_cond_timedwait_ms(struct ds_cond *c, struct ds_mutex *m, unsigned ms);
/* name: at most 15 characters are kept (shown by top/ps). */
int ds_thread_create(struct ds_thread *t, ds_thread_fn fn, void *arg, const char *name);
void ds_thread_join(struct ds_thread *t);

/* ---- sockets ------------------------------------------------------------- */
typedef intptr_t ds_sock;
#define DS_SOCK_INVALID ((ds_sock)-1)

/* A resolved socket address, opaque to the core. */
struct ds_addr {
    _Alignas(8) unsigned char storage[128];
    uint32_t len;
};
struct ds_iov {
    const void *base;
    size_t len;
};

int ds_net_init(void); /* once, before any socket call */
/* Parse a numeric IPv4/IPv6 address and port ("127.0.0.1", "::1") into addr. */
int ds_addr_parse(const char *host, unsigned port, struct ds_addr *addr);
/* Resolve host (name or literal) for family 4, 6 or 0 (any); up to max results in
 * resolver order.  Returns the count (>= 1) or a negative error. */
int ds_addr_resolve(const char *host, unsigned port, int family, struct ds_addr *out, int max);
/* "1.2.3.4:53" or "[::1]:53" */
void ds_addr_format(const struct ds_addr *addr, char *buf, size_t len);
unsigned ds_addr_port(const struct ds_addr *addr);

/* Bind and listen on a TCP address; the socket is non-blocking. */
int ds_sock_listen(const struct ds_addr *addr, int backlog, ds_sock *out);
/* Non-blocking accept: DS_EAGAIN when nothing is pending.  peer may be NULL. */
int ds_sock_accept(ds_sock l, ds_sock *out, struct ds_addr *peer);
/* Connect with a timeout; the returned socket is blocking with TCP_NODELAY off. */
int ds_sock_connect(const struct ds_addr *addr, unsigned timeout_ms, ds_sock *out);
int ds_sock_set_nonblock(ds_sock s, bool on);
int ds_sock_set_keepalive(ds_sock s, unsigned idle_s, unsigned intvl_s, unsigned cnt);
int ds_sock_set_timeouts(ds_sock s, unsigned recv_ms, unsigned send_ms);
int ds_sock_set_rcvbuf(ds_sock s, int bytes);
/* Local address of a socket (for listeners bound to port 0). */
int ds_sock_local_addr(ds_sock s, struct ds_addr *out);
/* > 0 bytes, 0 on orderly EOF, DS_EAGAIN, DS_ETIMEDOUT, or another negative error. */
int64_t ds_sock_recv(ds_sock s, void *buf, size_t len);
int64_t ds_sock_send(ds_sock s, const void *buf, size_t len);
int64_t ds_sock_writev(ds_sock s, const struct ds_iov *iov, int n);
int ds_sock_shutdown_wr(ds_sock s);
void ds_sock_close(ds_sock s);
/* Bytes written to a connected TCP socket that the peer's TCP has not acknowledged
 * yet (Linux: SIOCOUTQ).  DS_ENOTSUP where the platform cannot tell. */
int ds_sock_unacked(ds_sock s, uint64_t *bytes);
/* Close with a reset (SO_LINGER 0): unsent and unread data are discarded. */
void ds_sock_abort(ds_sock s);

enum { DS_POLLIN = 1, DS_POLLOUT = 2, DS_POLLERR = 4, DS_POLLHUP = 8 };
struct ds_pollfd {
    ds_sock fd;
    short events;
    short revents;
};
/* Returns the number of ready entries, 0 on timeout (timeout_ms < 0: forever). */
int ds_poll(struct ds_pollfd *fds, int n, int timeout_ms);

/* A wakeup handle another thread can signal to break a ds_poll. */
struct ds_wakeup {
    ds_sock rd, wr;
};
int ds_wakeup_init(struct ds_wakeup *w);
void ds_wakeup_signal(struct ds_wakeup *w);
void ds_wakeup_drain(struct ds_wakeup *w);
void ds_wakeup_close(struct ds_wakeup *w);

/* ---- files ---------------------------------------------------------------- */
/* A shared, writable mapping of a file, created or extended to len bytes. */
struct ds_mmap {
    void *base;
    size_t len;
    intptr_t fd;     /* platform file handle */
    intptr_t extra;  /* platform mapping handle (Windows) */
};
/* *existed reports whether the file was there before (with its old size in *old_len). */
int ds_mmap_open(const char *path, size_t len, struct ds_mmap *m, bool *existed, uint64_t *old_len);
/* Flush a range to stable storage; async=true only schedules the write-back. */
int ds_mmap_sync(struct ds_mmap *m, size_t off, size_t len, bool async);
void ds_mmap_close(struct ds_mmap *m);
/* Reserve disk blocks for the whole mapping, so that a store into it can never fault
 * for lack of space later (a sparse file would raise SIGBUS on a full disk).
 * DS_ENOSPC when the space is not there. */
int ds_mmap_allocate(struct ds_mmap *m);
/* Take an exclusive advisory lock on the mapped file without waiting (one process
 * per queue file).  DS_EAGAIN when another open of the file holds it; released by
 * ds_mmap_close or when the process dies. */
int ds_mmap_lock(struct ds_mmap *m);
int ds_file_remove(const char *path);
int ds_file_rename(const char *from, const char *to);
int ds_file_size(const char *path, uint64_t *size);
int ds_file_truncate(const char *path, uint64_t size);
int ds_mkdir_p(const char *path);
/* fsync of a stdio-style descriptor number obtained from the C library (fileno). */
int ds_file_sync_fd(int fd);

/* ---- process -------------------------------------------------------------- */
/* Block stop/reload signals in the calling thread; call before creating threads. */
int ds_signals_block(void);
enum ds_sig { DS_SIG_NONE = 0, DS_SIG_STOP = 1, DS_SIG_RELOAD = 2 };
/* Wait up to timeout_ms for a stop (SIGTERM/SIGINT, service stop) or reload (SIGHUP). */
enum ds_sig ds_signals_wait(int timeout_ms);
/* Ask ds_signals_wait to return DS_SIG_STOP (service control, tests). */
void ds_signals_request_stop(void);
int ds_hostname(char *buf, size_t len);
int ds_getpid(void);
const char *ds_default_state_dir(void);

#endif
