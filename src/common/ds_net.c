/* ds_net.c - socket routines shared by the transports.  See ds_net.h. */
#include "ds_net.h"

int ds_net_drain_to_eof(ds_sock s, unsigned drain_ms)
{
    char scratch[4096];
    uint64_t deadline = ds_time_mono_ms() + drain_ms;
    ds_sock_shutdown_wr(s);
    for (;;) {
        uint64_t now = ds_time_mono_ms();
        if (now >= deadline)
            return DS_ETIMEDOUT;
        struct ds_pollfd p = {s, DS_POLLIN, 0};
        if (ds_poll(&p, 1, (int)(deadline - now)) <= 0)
            continue;
        int64_t r = ds_sock_recv(s, scratch, sizeof scratch);
        if (r == 0)
            return DS_OK;
        if (r < 0 && r != DS_EAGAIN)
            return (int)r;
    }
}
