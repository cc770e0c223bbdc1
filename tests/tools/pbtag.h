/*
 * pbtag.h - the sequence tag pbgen writes and pbsink reads back, and the protobuf field
 * walker both use.
 *
 * The tag is a PBDNSMessage's messageId (field 2, 16 bytes): the magic bytes
 * d5 5e 9a 7e 70 62 67 6e ("..pbgn") and then the sequence number, big-endian.  JSON
 * output shows it as 32 hex digits.  Header-only (static inline), no state; test tools
 * only.
 */
#ifndef PBTAG_H
#define PBTAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const uint8_t PBTAG_MAGIC[8] = {0xd5, 0x5e, 0x9a, 0x7e, 0x70, 0x62, 0x67, 0x6e};
/* The same as JSON writes it (lowercase hex). */
#define PBTAG_MAGIC_HEX "d55e9a7e7062676e"

/* The 18-byte field: key 0x12, length 16, magic, seq. */
static inline void pbtag_field(uint8_t out[18], uint64_t seq)
{
    out[0] = 0x12;
    out[1] = 0x10;
    memcpy(out + 2, PBTAG_MAGIC, 8);
    for (int i = 0; i < 8; i++)
        out[10 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

/* The seq of a 16-byte messageId, false when it is not a pbgen tag. */
static inline bool pbtag_seq(const uint8_t id[16], uint64_t *seq)
{
    if (memcmp(id, PBTAG_MAGIC, 8) != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | id[8 + i];
    *seq = v;
    return v != 0;
}

static inline bool pbtag_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *i < len; shift += 7) {
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* One top-level field at *i: its number, and for length-delimited fields (wire type 2)
 * the value's span [*val, *val + *vlen) (else *vlen = 0).  *i moves past the field.
 * False on a malformed message. */
static inline bool pbtag_next_field(const uint8_t *p, size_t len, size_t *i, uint64_t *field,
                                    size_t *val, size_t *vlen)
{
    uint64_t key, v;
    *vlen = 0;
    if (!pbtag_varint(p, len, i, &key))
        return false;
    *field = key >> 3;
    switch (key & 7) {
    case 0:
        return pbtag_varint(p, len, i, &v);
    case 1:
        *i += 8;
        break;
    case 2:
        if (!pbtag_varint(p, len, i, &v) || v > len - *i)
            return false;
        *val = *i;
        *vlen = (size_t)v;
        *i += v;
        break;
    case 5:
        *i += 4;
        break;
    default:
        return false;
    }
    return *i <= len;
}

#endif
