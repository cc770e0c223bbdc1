/*
 * ds_enc_pdns.c - the stored PowerDNS protobuf bytes behind a big-endian length prefix
 * (2 bytes, as RemoteLogger sends them, or 4 bytes).  See docs/formats.md.
 */
#include "ds_enc.h"

#include "ds_err.h"

int ds_enc_pdns(struct ds_buf *out, const struct ds_rec *rec, int bits)
{
    if (rec->kind != DS_REC_PDNS)
        return DS_ENOTSUP;
    if (bits != 16 && bits != 32)
        return DS_EINVAL;
    uint32_t n = rec->len;
    if (bits == 16 && n > 0xffffu)
        return DS_ERANGE;
    uint8_t hdr[4];
    size_t hl = 0;
    if (bits == 32) {
        hdr[hl++] = (uint8_t)(n >> 24);
        hdr[hl++] = (uint8_t)(n >> 16);
    }
    hdr[hl++] = (uint8_t)(n >> 8);
    hdr[hl++] = (uint8_t)n;
    ds_buf_grow(out, hl + n);
    ds_buf_append(out, hdr, hl);
    ds_buf_append(out, rec->data, n);
    return DS_OK;
}
