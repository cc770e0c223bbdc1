/*
 * ring_payload.h - test payloads for the ring tests (test_ring.c, test_qfile.c): each
 * carries its own id (8 bytes) and a pattern derived from it, so a reader can check
 * every byte it gets back.  Header-only, no state.
 */
#ifndef RING_PAYLOAD_H
#define RING_PAYLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ds_rec.h"

static inline uint32_t pay_len(uint64_t id)
{
    return 8 + (uint32_t)((id * 7919u) % 120u);
}

static inline void pay_fill(uint8_t *buf, uint64_t id, uint32_t len)
{
    memcpy(buf, &id, 8);
    for (uint32_t i = 8; i < len; i++)
        buf[i] = (uint8_t)(id * 31u + i);
}

/* rec holds exactly payload id (length, id and every pattern byte). */
static inline bool pay_ok(const struct ds_rec *rec, uint64_t id)
{
    if (rec->len != pay_len(id))
        return false;
    uint64_t got;
    memcpy(&got, rec->data, 8);
    if (got != id)
        return false;
    for (uint32_t i = 8; i < rec->len; i++)
        if (rec->data[i] != (uint8_t)(id * 31u + i))
            return false;
    return true;
}

#endif
