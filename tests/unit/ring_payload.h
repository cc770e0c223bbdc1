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
#include "ds_ring.h"

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

/* Append ids [first, first+n) in batches of up to 256; returns the accepted count.
 * The header fields are derived from the id too: input id % 7, route mask
 * id ^ 0x5a5a5a5a, capture time 1000000 + id. */
static inline size_t pay_put(struct ds_ring *r, uint64_t first, size_t n)
{
    struct ds_rec_in in[256];
    static uint8_t bufs[256][160];
    size_t done = 0;
    while (done < n) {
        size_t m = n - done < 256 ? n - done : 256;
        for (size_t i = 0; i < m; i++) {
            uint64_t id = first + done + i;
            uint32_t len = pay_len(id);
            pay_fill(bufs[i], id, len);
            in[i] = (struct ds_rec_in){bufs[i], len, DS_REC_PDNS, (uint16_t)(id % 7),
                                       (uint32_t)id ^ 0x5a5a5a5au, 1000000u + id};
        }
        size_t k = ds_ring_append(r, in, m);
        done += k;
        if (k < m)
            break;
    }
    return done;
}

#endif
