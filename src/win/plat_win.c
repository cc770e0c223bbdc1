/*
 * plat_win.c - the platform layer (ds_plat.h) for Windows.
 *
 * Implemented: clocks, SRW locks, condition variables, threads.  Not yet written
 * (return DS_ENOTSUP): sockets (Winsock), mapped files, stop signals (service
 * control).  See src/win/README.md.
 */
#include "ds_plat.h"

#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

_Static_assert(sizeof(SRWLOCK) <= sizeof(((struct ds_mutex *)0)->opaque), "mutex");
_Static_assert(sizeof(CONDITION_VARIABLE) <= sizeof(((struct ds_cond *)0)->opaque), "cond");

uint64_t ds_time_now_us(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (t - 116444736000000000ULL) / 10; /* 100 ns ticks since 1601 -> us since 1970 */
}

uint64_t ds_time_mono_ms(void) { return GetTickCount64(); }
void ds_sleep_ms(unsigned ms) { Sleep(ms); }

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
    __time64_t t = unix_sec;
    struct tm tm;
    _gmtime64_s(&tm, &t);
    tm_copy(&tm, out);
}

void ds_time_local(int64_t unix_sec, struct ds_tm *out)
{
    __time64_t t = unix_sec;
    struct tm tm;
    _localtime64_s(&tm, &t);
    tm_copy(&tm, out);
}

#define LOCK(m) ((SRWLOCK *)(void *)(m)->opaque)
#define CV(c) ((CONDITION_VARIABLE *)(void *)(c)->opaque)

int ds_mutex_init(struct ds_mutex *m)
{
    InitializeSRWLock(LOCK(m));
    return DS_OK;
}
void ds_mutex_destroy(struct ds_mutex *m) { (void)m; }
void ds_mutex_lock(struct ds_mutex *m) { AcquireSRWLockExclusive(LOCK(m)); }
void ds_mutex_unlock(struct ds_mutex *m) { ReleaseSRWLockExclusive(LOCK(m)); }
int ds_cond_init(struct ds_cond *c)
{
    InitializeConditionVariable(CV(c));
    return DS_OK;
}
void ds_cond_destroy(struct ds_cond *c) { (void)c; }
void ds_cond_signal(struct ds_cond *c) { WakeConditionVariable(CV(c)); }
void ds_cond_broadcast(struct ds_cond *c) { WakeAllConditionVariable(CV(c)); }
void ds_cond_wait(struct ds_cond *c, struct ds_mutex *m)
{
    SleepConditionVariableSRW(CV(c), LOCK(m), INFINITE, 0);
}
int ds_cond_timedwait_ms(struct ds_cond *c, struct ds_mutex *m, unsigned ms)
{
    if (SleepConditionVariableSRW(CV(c), LOCK(m), ms, 0))
        return DS_OK;
    return GetLastError() == ERROR_TIMEOUT ? DS_ETIMEDOUT : DS_OK;
}

struct thread_start {
    ds_thread_fn fn;
    void *arg;
};

static DWORD WINAPI thread_trampoline(LPVOID p)
{
    struct thread_start s = *(struct thread_start *)p;
    free(p);
    s.fn(s.arg);
    return 0;
}

int ds_thread_create(struct ds_thread *t, ds_thread_fn fn, void *arg, const char *name)
{
    (void)name;
    struct thread_start *s = malloc(sizeof(*s));
    if (!s)
        return DS_ENOMEM;
    s->fn = fn;
    s->arg = arg;
    HANDLE h = CreateThread(NULL, 0, thread_trampoline, s, 0, NULL);
    if (!h) {
        free(s);
        return DS_ENOMEM;
    }
    t->handle = (uintptr_t)h;
    return DS_OK;
}

void ds_thread_join(struct ds_thread *t)
{
    WaitForSingleObject((HANDLE)t->handle, INFINITE);
    CloseHandle((HANDLE)t->handle);
    t->handle = 0;
}

/* ---- not yet written: sockets, files, service control ------------------------ */
int ds_net_init(void) { return DS_ENOTSUP; }
int ds_addr_parse(const char *h, unsigned p, struct ds_addr *a) { (void)h, (void)p, (void)a; return DS_ENOTSUP; }
int ds_addr_resolve(const char *h, unsigned p, int f, struct ds_addr *o, int m)
{
    (void)h, (void)p, (void)f, (void)o, (void)m;
    return DS_ENOTSUP;
}
void ds_addr_format(const struct ds_addr *a, char *b, size_t l) { (void)a; snprintf(b, l, "?"); }
unsigned ds_addr_port(const struct ds_addr *a) { (void)a; return 0; }
int ds_sock_listen(const struct ds_addr *a, int b, ds_sock *o) { (void)a, (void)b, (void)o; return DS_ENOTSUP; }
int ds_sock_accept(ds_sock l, ds_sock *o, struct ds_addr *p) { (void)l, (void)o, (void)p; return DS_ENOTSUP; }
int ds_sock_connect(const struct ds_addr *a, unsigned t, ds_sock *o) { (void)a, (void)t, (void)o; return DS_ENOTSUP; }
int ds_sock_set_nonblock(ds_sock s, bool on) { (void)s, (void)on; return DS_ENOTSUP; }
int ds_sock_set_keepalive(ds_sock s, unsigned a, unsigned b, unsigned c) { (void)s, (void)a, (void)b, (void)c; return DS_ENOTSUP; }
int ds_sock_set_timeouts(ds_sock s, unsigned r, unsigned w) { (void)s, (void)r, (void)w; return DS_ENOTSUP; }
int ds_sock_set_rcvbuf(ds_sock s, int b) { (void)s, (void)b; return DS_ENOTSUP; }
int ds_sock_local_addr(ds_sock s, struct ds_addr *o) { (void)s, (void)o; return DS_ENOTSUP; }
int64_t ds_sock_recv(ds_sock s, void *b, size_t l) { (void)s, (void)b, (void)l; return DS_ENOTSUP; }
int64_t ds_sock_send(ds_sock s, const void *b, size_t l) { (void)s, (void)b, (void)l; return DS_ENOTSUP; }
int64_t ds_sock_writev(ds_sock s, const struct ds_iov *v, int n) { (void)s, (void)v, (void)n; return DS_ENOTSUP; }
int ds_sock_shutdown_wr(ds_sock s) { (void)s; return DS_ENOTSUP; }
void ds_sock_close(ds_sock s) { (void)s; }
int ds_sock_unacked(ds_sock s, uint64_t *bytes) { (void)s, (void)bytes; return DS_ENOTSUP; }
void ds_sock_abort(ds_sock s) { (void)s; }
int ds_poll(struct ds_pollfd *f, int n, int t) { (void)f, (void)n, (void)t; return DS_ENOTSUP; }
int ds_wakeup_init(struct ds_wakeup *w) { (void)w; return DS_ENOTSUP; }
void ds_wakeup_signal(struct ds_wakeup *w) { (void)w; }
void ds_wakeup_drain(struct ds_wakeup *w) { (void)w; }
void ds_wakeup_close(struct ds_wakeup *w) { (void)w; }
int ds_mmap_open(const char *p, size_t l, struct ds_mmap *m, bool *e, uint64_t *o)
{
    (void)p, (void)l, (void)m, (void)e, (void)o;
    return DS_ENOTSUP;
}
int ds_mmap_sync(struct ds_mmap *m, size_t o, size_t l, bool a) { (void)m, (void)o, (void)l, (void)a; return DS_ENOTSUP; }
void ds_mmap_close(struct ds_mmap *m) { (void)m; }
int ds_mmap_allocate(struct ds_mmap *m) { (void)m; return DS_ENOTSUP; }
int ds_mmap_lock(struct ds_mmap *m) { (void)m; return DS_ENOTSUP; }
int ds_file_remove(const char *p) { return DeleteFileA(p) ? DS_OK : DS_EIO; }
int ds_file_rename(const char *f, const char *t)
{
    return MoveFileExA(f, t, MOVEFILE_REPLACE_EXISTING) ? DS_OK : DS_EIO;
}
int ds_file_size(const char *p, uint64_t *s) { (void)p, (void)s; return DS_ENOTSUP; }
int ds_file_truncate(const char *p, uint64_t s) { (void)p, (void)s; return DS_ENOTSUP; }
int ds_mkdir_p(const char *p) { (void)p; return DS_ENOTSUP; }
int ds_file_sync_fd(int fd) { (void)fd; return DS_ENOTSUP; }
int ds_signals_block(void) { return DS_OK; }
enum ds_sig ds_signals_wait(int t) { Sleep(t < 0 ? INFINITE : (DWORD)t); return DS_SIG_NONE; }
void ds_signals_request_stop(void) {}
int ds_hostname(char *b, size_t l) { snprintf(b, l, "localhost"); return DS_OK; }
int ds_getpid(void) { return (int)GetCurrentProcessId(); }
const char *ds_default_state_dir(void) { return "C:\\ProgramData\\dnsstream"; }
