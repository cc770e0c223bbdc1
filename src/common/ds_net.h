/*
 * ds_net.h - small socket routines built on the platform layer and shared by the
 * plain-TCP and TLS transports.  No state; any thread, on a socket it owns.
 */
#ifndef DS_NET_H
#define DS_NET_H

#include "ds_plat.h"

/* Half-close s (no more writes) and read until the peer's end of stream, for at
 * most drain_ms, so that the peer sees our close only after it has read what we
 * sent.  DS_OK at end of stream, DS_ETIMEDOUT, or the read error. */
int ds_net_drain_to_eof(ds_sock s, unsigned drain_ms);

#endif
