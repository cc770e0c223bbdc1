/*
 * plat_posix.c - the platform layer (ds_plat.h) for Linux and other POSIX systems.
 *
 * Opaque storage in ds_plat.h is checked against the real sizes below.  Sockets are
 * file descriptors carried in an intptr_t.  Stop and reload signals are blocked in
 * every thread (ds_signals_block before threads start) and collected by the main
 * thread with sigtimedwait, so no code runs in signal context.
 */
#define _GNU_SOURCE
#include "ds_plat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((struct ds_mutex *)0)->opaque), "mutex");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(((struct ds_cond *)0)->opaque), "cond");
_Static_assert(sizeof(pthread_t) <= sizeof(uintptr_t), "thread");
_Static_assert(sizeof(struct sockaddr_storage) <= sizeof(((struct ds_addr *)0)->storage), "addr");

static int err_from_errno(int e)
{
    switch (e) {
    case 0:
        return DS_OK;
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINPROGRESS:
        return DS_EAGAIN;
    case ETIMEDOUT:
        return DS_ETIMEDOUT;
    case ECONNREFUSED:
        return DS_ECONNREFUSED;
    case ECONNRESET:
    case EPIPE:
        return DS_ECONNRESET;
    case EADDRINUSE:
        return DS_EADDRINUSE;
    case ENOMEM:
        return DS_ENOMEM;
    case ENOSPC:
        return DS_ENOSPC;
    case ENOENT:
        return DS_ENOTFOUND;
    case EACCES:
    case EPERM:
        return DS_EPERM;
    case EINVAL:
        return DS_EINVAL;
    default:
        return DS_EIO;
    }
}

/* ---- time ---------------------------------------------------------------- */
uint64_t ds_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t ds_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ds_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void tm_copy(const struct tm *t, struct ds_tm *out)
{
    out->year = t->tm_year + 1900;
    out->mon = t->tm_mon + 1;
    out->mday = t->tm_mday;
    out->hour = t->tm_hour;
    out->min = t->tm_min;
    out->sec = t->tm_sec;
}

void ds_time_utc(int64_t unix_sec, struct ds_tm *out)
{
    time_t t = (time_t)unix_sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    tm_copy(&tm, out);
}

void ds_time_local(int64_t unix_sec, struct ds_tm *out)
{
    time_t t = (time_t)unix_sec;
    struct tm tm;
    localtime_r(&t, &tm);
    tm_copy(&tm, out);
}

/* ---- locks and threads --------------------------------------------------- */
#define MTX(m) ((pthread_mutex_t *)(void *)(m)->opaque)
#define CND(c) ((pthread_cond_t *)(void *)(c)->opaque)

int ds_mutex_init(struct ds_mutex *m)
{
    return pthread_mutex_init(MTX(m), NULL) == 0 ? DS_OK : DS_ENOMEM;
}
void ds_mutex_destroy(struct ds_mutex *m) { pthread_mutex_destroy(MTX(m)); }
void ds_mutex_lock(struct ds_mutex *m) { pthread_mutex_lock(MTX(m)); }
void ds_mutex_unlock(struct ds_mutex *m) { pthread_mutex_unlock(MTX(m)); }

int ds_cond_init(struct ds_cond *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(CND(c), &a);
    pthread_condattr_destroy(&a);
    return rc == 0 ? DS_OK : DS_ENOMEM;
}
void ds_cond_destroy(struct ds_cond *c) { pthread_cond_destroy(CND(c)); }
void ds_cond_signal(struct ds_cond *c) { pthread_cond_signal(CND(c)); }
void ds_cond_broadcast(struct ds_cond *c) { pthread_cond_broadcast(CND(c)); }
void ds_cond_wait(struct ds_cond *c, struct ds_mutex *m) { pthread_cond_wait(CND(c), MTX(m)); }

int ds_cond_timedwait_ms(struct ds_cond *c, struct ds_mutex *m, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = pthread_cond_timedwait(CND(c), MTX(m), &ts);
    return rc == ETIMEDOUT ? DS_ETIMEDOUT : DS_OK;
}

struct thread_start {
    ds_thread_fn fn;
    void *arg;
    char name[16];
};

static void *thread_trampoline(void *p)
{
    struct thread_start s = *(struct thread_start *)p;
    free(p);
    if (s.name[0])
        pthread_setname_np(pthread_self(), s.name);
    s.fn(s.arg);
    return NULL;
}

int ds_thread_create(struct ds_thread *t, ds_thread_fn fn, void *arg, const char *name)
{
    struct thread_start *s = calloc(1, sizeof(*s));
    if (!s)
        return DS_ENOMEM;
    s->fn = fn;
    s->arg = arg;
    if (name)
        snprintf(s->name, sizeof(s->name), "%s", name);
    pthread_t th;
    int rc = pthread_create(&th, NULL, thread_trampoline, s);
    if (rc != 0) {
        free(s);
        return err_from_errno(rc);
    }
    t->handle = (uintptr_t)th;
    return DS_OK;
}

void ds_thread_join(struct ds_thread *t)
{
    pthread_join((pthread_t)t->handle, NULL);
    t->handle = 0;
}

/* ---- sockets ------------------------------------------------------------- */
#define SA(a) ((struct sockaddr *)(void *)(a)->storage)
#define FD(s) ((int)(s))

int ds_net_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    return DS_OK;
}

int ds_addr_parse(const char *host, unsigned port, struct ds_addr *addr)
{
    memset(addr, 0, sizeof(*addr));
    struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)addr->storage;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)addr->storage;
    if (port > 65535)
        return DS_ERANGE;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        addr->len = sizeof(*in4);
        return DS_OK;
    }
    const char *h = host;
    char tmp[INET6_ADDRSTRLEN + 2];
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(tmp)) {
        memcpy(tmp, host + 1, hl - 2);
        tmp[hl - 2] = 0;
        h = tmp;
    }
    if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        addr->len = sizeof(*in6);
        return DS_OK;
    }
    return DS_EINVAL;
}

int ds_addr_resolve(const char *host, unsigned port, int family, struct ds_addr *out, int max)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0)
        return rc == EAI_NONAME || rc == EAI_NODATA ? DS_ENOTFOUND : DS_EIO;
    int n = 0;
    for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(out[n].storage))
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        memcpy(out[n].storage, ai->ai_addr, ai->ai_addrlen);
        out[n].len = (uint32_t)ai->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    return n > 0 ? n : DS_ENOTFOUND;
}

void ds_addr_format(const struct ds_addr *addr, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    const struct sockaddr *sa = (const struct sockaddr *)(const void *)addr->storage;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const void *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(in4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "(unknown)");
    }
}

unsigned ds_addr_port(const struct ds_addr *addr)
{
    const struct sockaddr *sa = (const struct sockaddr *)(const void *)addr->storage;
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
    return 0;
}

int ds_sock_listen(const struct ds_addr *addr, int backlog, ds_sock *out)
{
    int fd = socket(SA(addr)->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_from_errno(errno);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (SA(addr)->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, SA(addr), addr->len) != 0 || listen(fd, backlog) != 0) {
        int e = errno;
        close(fd);
        return err_from_errno(e);
    }
    *out = fd;
    return DS_OK;
}

int ds_sock_accept(ds_sock l, ds_sock *out, struct ds_addr *peer)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(FD(l), (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return err_from_errno(errno);
    if (peer) {
        memset(peer, 0, sizeof(*peer));
        memcpy(peer->storage, &ss, sl);
        peer->len = sl;
    }
    *out = fd;
    return DS_OK;
}

int ds_sock_connect(const struct ds_addr *addr, unsigned timeout_ms, ds_sock *out)
{
    int fd = socket(SA(addr)->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_from_errno(errno);
    int rc = connect(fd, SA(addr), addr->len);
    if (rc != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return err_from_errno(e);
    }
    if (rc != 0) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n;
        do {
            n = poll(&p, 1, (int)timeout_ms);
        } while (n < 0 && errno == EINTR);
        if (n == 0) {
            close(fd);
            return DS_ETIMEDOUT;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (n < 0 || soerr != 0) {
            close(fd);
            return err_from_errno(n < 0 ? errno : soerr);
        }
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    *out = fd;
    return DS_OK;
}

int ds_sock_set_nonblock(ds_sock s, bool on)
{
    int flags = fcntl(FD(s), F_GETFL);
    if (flags < 0)
        return err_from_errno(errno);
    flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    return fcntl(FD(s), F_SETFL, flags) == 0 ? DS_OK : err_from_errno(errno);
}

int ds_sock_set_keepalive(ds_sock s, unsigned idle_s, unsigned intvl_s, unsigned cnt)
{
    int one = 1, idle = (int)idle_s, intvl = (int)intvl_s, c = (int)cnt;
    if (setsockopt(FD(s), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0)
        return err_from_errno(errno);
    setsockopt(FD(s), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(FD(s), IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(FD(s), IPPROTO_TCP, TCP_KEEPCNT, &c, sizeof(c));
    return DS_OK;
}

int ds_sock_set_timeouts(ds_sock s, unsigned recv_ms, unsigned send_ms)
{
    struct timeval rt = {.tv_sec = recv_ms / 1000, .tv_usec = (long)(recv_ms % 1000) * 1000};
    struct timeval st = {.tv_sec = send_ms / 1000, .tv_usec = (long)(send_ms % 1000) * 1000};
    if (setsockopt(FD(s), SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt)) != 0 ||
        setsockopt(FD(s), SOL_SOCKET, SO_SNDTIMEO, &st, sizeof(st)) != 0)
        return err_from_errno(errno);
    return DS_OK;
}

int ds_sock_set_rcvbuf(ds_sock s, int bytes)
{
    return setsockopt(FD(s), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) == 0
               ? DS_OK
               : err_from_errno(errno);
}

int ds_sock_local_addr(ds_sock s, struct ds_addr *out)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(FD(s), (struct sockaddr *)&ss, &sl) != 0)
        return err_from_errno(errno);
    memset(out, 0, sizeof(*out));
    memcpy(out->storage, &ss, sl);
    out->len = sl;
    return DS_OK;
}

int64_t ds_sock_recv(ds_sock s, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(FD(s), buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? DS_EAGAIN : err_from_errno(errno);
    }
}

int64_t ds_sock_send(ds_sock s, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(FD(s), buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? DS_EAGAIN : err_from_errno(errno);
    }
}

int64_t ds_sock_writev(ds_sock s, const struct ds_iov *iov, int n)
{
    struct iovec v[64];
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++) {
        v[i].iov_base = (void *)(uintptr_t)iov[i].base;
        v[i].iov_len = iov[i].len;
    }
    struct msghdr mh = {.msg_iov = v, .msg_iovlen = (size_t)n};
    for (;;) {
        ssize_t w = sendmsg(FD(s), &mh, MSG_NOSIGNAL);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? DS_EAGAIN : err_from_errno(errno);
    }
}

int ds_sock_shutdown_wr(ds_sock s)
{
    return shutdown(FD(s), SHUT_WR) == 0 ? DS_OK : err_from_errno(errno);
}

void ds_sock_close(ds_sock s)
{
    if (s != DS_SOCK_INVALID)
        close(FD(s));
}

int ds_poll(struct ds_pollfd *fds, int n, int timeout_ms)
{
    struct pollfd stackp[64];
    struct pollfd *p = n <= 64 ? stackp : malloc(sizeof(*p) * (size_t)n);
    if (!p)
        return DS_ENOMEM;
    for (int i = 0; i < n; i++) {
        p[i].fd = fds[i].fd == DS_SOCK_INVALID ? -1 : FD(fds[i].fd);
        p[i].events = (short)(((fds[i].events & DS_POLLIN) ? POLLIN : 0) |
                              ((fds[i].events & DS_POLLOUT) ? POLLOUT : 0));
        p[i].revents = 0;
    }
    int rc;
    do {
        rc = poll(p, (nfds_t)n, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        rc = err_from_errno(errno);
    } else {
        for (int i = 0; i < n; i++) {
            short r = p[i].revents;
            fds[i].revents = (short)(((r & POLLIN) ? DS_POLLIN : 0) |
                                     ((r & POLLOUT) ? DS_POLLOUT : 0) |
                                     ((r & (POLLERR | POLLNVAL)) ? DS_POLLERR : 0) |
                                     ((r & (POLLHUP | POLLRDHUP)) ? DS_POLLHUP : 0));
        }
    }
    if (p != stackp)
        free(p);
    return rc;
}

int ds_wakeup_init(struct ds_wakeup *w)
{
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return err_from_errno(errno);
    w->rd = fds[0];
    w->wr = fds[1];
    return DS_OK;
}

void ds_wakeup_signal(struct ds_wakeup *w)
{
    char c = 1;
    ssize_t n = write(FD(w->wr), &c, 1);
    (void)n;
}

void ds_wakeup_drain(struct ds_wakeup *w)
{
    char buf[64];
    while (read(FD(w->rd), buf, sizeof(buf)) > 0) {
    }
}

void ds_wakeup_close(struct ds_wakeup *w)
{
    ds_sock_close(w->rd);
    ds_sock_close(w->wr);
    w->rd = w->wr = DS_SOCK_INVALID;
}

/* ---- files ---------------------------------------------------------------- */
int ds_mmap_open(const char *path, size_t len, struct ds_mmap *m, bool *existed,
                 uint64_t *old_len)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_from_errno(errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return err_from_errno(e);
    }
    if (existed)
        *existed = st.st_size > 0;
    if (old_len)
        *old_len = (uint64_t)st.st_size;
    if ((uint64_t)st.st_size != len && ftruncate(fd, (off_t)len) != 0) {
        int e = errno;
        close(fd);
        return err_from_errno(e);
    }
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        close(fd);
        return err_from_errno(e);
    }
    m->base = base;
    m->len = len;
    m->fd = fd;
    return DS_OK;
}

int ds_mmap_sync(struct ds_mmap *m, size_t off, size_t len, bool async)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t start = off - off % (size_t)pg;
    if (start + (len + (off - start)) > m->len)
        len = m->len - off;
    if (msync((char *)m->base + start, len + (off - start), async ? MS_ASYNC : MS_SYNC) != 0)
        return err_from_errno(errno);
    return DS_OK;
}

void ds_mmap_close(struct ds_mmap *m)
{
    if (m->base)
        munmap(m->base, m->len);
    if (m->fd >= 0)
        close((int)m->fd);
    m->base = NULL;
    m->fd = -1;
}

int ds_file_remove(const char *path)
{
    return unlink(path) == 0 ? DS_OK : err_from_errno(errno);
}

int ds_file_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? DS_OK : err_from_errno(errno);
}

int ds_file_size(const char *path, uint64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return err_from_errno(errno);
    *size = (uint64_t)st.st_size;
    return DS_OK;
}

int ds_file_truncate(const char *path, uint64_t size)
{
    return truncate(path, (off_t)size) == 0 ? DS_OK : err_from_errno(errno);
}

int ds_mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp))
        return DS_EINVAL;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == 0) {
            char c = tmp[i];
            tmp[i] = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return err_from_errno(errno);
            tmp[i] = c;
        }
    }
    return DS_OK;
}

int ds_file_sync_fd(int fd)
{
    return fsync(fd) == 0 ? DS_OK : err_from_errno(errno);
}

/* ---- process -------------------------------------------------------------- */
static atomic_int stop_requested;

static void stop_signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1); /* used by ds_signals_request_stop */
}

int ds_signals_block(void)
{
    sigset_t set;
    stop_signal_set(&set);
    return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? DS_OK : DS_EIO;
}

enum ds_sig ds_signals_wait(int timeout_ms)
{
    if (atomic_load(&stop_requested))
        return DS_SIG_STOP;
    sigset_t set;
    stop_signal_set(&set);
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
    int sig = timeout_ms < 0 ? sigwaitinfo(&set, NULL) : sigtimedwait(&set, NULL, &ts);
    if (atomic_load(&stop_requested))
        return DS_SIG_STOP;
    switch (sig) {
    case SIGTERM:
    case SIGINT:
    case SIGUSR1:
        return DS_SIG_STOP;
    case SIGHUP:
        return DS_SIG_RELOAD;
    default:
        return DS_SIG_NONE;
    }
}

void ds_signals_request_stop(void)
{
    atomic_store(&stop_requested, 1);
    kill(getpid(), SIGUSR1);
}

int ds_hostname(char *buf, size_t len)
{
    if (gethostname(buf, len) != 0)
        return err_from_errno(errno);
    buf[len - 1] = 0;
    return DS_OK;
}

int ds_getpid(void) { return (int)getpid(); }

const char *ds_default_state_dir(void) { return "."; }

/* ---- appended by the forwarder: unacknowledged bytes and abortive close ---- */
#ifdef __linux__
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

int ds_sock_unacked(ds_sock s, uint64_t *bytes)
{
#ifdef __linux__
    int n = 0;
    if (ioctl(FD(s), SIOCOUTQ, &n) != 0)
        return errno == ENOTTY || errno == EINVAL ? DS_ENOTSUP : err_from_errno(errno);
    *bytes = n > 0 ? (uint64_t)n : 0;
    return DS_OK;
#else
    (void)s;
    *bytes = 0;
    return DS_ENOTSUP;
#endif
}

void ds_sock_abort(ds_sock s)
{
    if (s == DS_SOCK_INVALID)
        return;
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(FD(s), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(FD(s));
}

/* ---- appended by the ring: disk space for the queue file's mapping ---- */
int ds_mmap_allocate(struct ds_mmap *m)
{
    if (!m->base || m->fd < 0)
        return DS_EINVAL;
    int e = posix_fallocate((int)m->fd, 0, (off_t)m->len);
    return e == 0 ? DS_OK : err_from_errno(e);
}

#include <sys/file.h>

int ds_mmap_lock(struct ds_mmap *m)
{
    if (m->fd < 0)
        return DS_EINVAL;
    if (flock((int)m->fd, LOCK_EX | LOCK_NB) == 0)
        return DS_OK;
    return errno == EWOULDBLOCK ? DS_EAGAIN : err_from_errno(errno);
}
