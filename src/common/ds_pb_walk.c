/*
 * ds_pb_walk.c - the walks over a PBDNSMessage that need only the wire reader of ds_pb.h
 * (ds_pb_next): the client address for sharding (ds_pb_get_from), the iterators over the
 * repeated parts of a scanned message, and the Meta decoder with its value iterator.
 * The schema tables, the validator, the scan and the RR and Event decoders are in ds_pb.c.
 *
 * Ownership: spans point into the caller's bytes.  Threads: no state; any thread.
 */
#include "ds_pb.h"

int ds_pb_get_from(const uint8_t *p, size_t len, struct ds_pb_span *from)
{
    if ((!p && len) || len > UINT32_MAX)
        return DS_EPROTO;
    uint32_t pos = 0, end = (uint32_t)len;
    struct ds_pb_field f;
    int rc, found = 0;
    while ((rc = ds_pb_next(p, &pos, end, &f)) == 1) {
        if (f.num == DS_PB_FROM && f.wt == DS_PB_WT_LEN) {
            *from = f.data;
            found = 1;
        }
    }
    if (rc < 0)
        return DS_EPROTO;
    return found ? DS_OK : DS_ENOTFOUND;
}

/* ---- iterators --------------------------------------------------------------------- */

static void iter_init(struct ds_pb_iter *it, const uint8_t *p, size_t len, uint32_t start,
                      uint32_t parent, uint32_t field, uint32_t count)
{
    it->p = p;
    it->pos = start;
    it->end = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    it->in_pos = it->in_end = 0;
    it->parent = parent;
    it->field = field;
    it->left = count;
}

void ds_pb_iter_rrs(struct ds_pb_iter *it, const uint8_t *p, size_t len, const struct ds_pb_msg *m)
{
    iter_init(it, p, len, m->resp_at, DS_PB_RESPONSE, DS_PB_R_RRS, m->rr_count);
}

void ds_pb_iter_tags(struct ds_pb_iter *it, const uint8_t *p, size_t len, const struct ds_pb_msg *m)
{
    iter_init(it, p, len, m->resp_at, DS_PB_RESPONSE, DS_PB_R_TAGS, m->tag_count);
}

void ds_pb_iter_meta(struct ds_pb_iter *it, const uint8_t *p, size_t len, const struct ds_pb_msg *m)
{
    iter_init(it, p, len, m->meta_at, 0, DS_PB_META, m->meta_count);
}

void ds_pb_iter_trace(struct ds_pb_iter *it, const uint8_t *p, size_t len,
                      const struct ds_pb_msg *m)
{
    iter_init(it, p, len, m->trace_at, 0, DS_PB_TRACE, m->trace_count);
}

bool ds_pb_iter_next(struct ds_pb_iter *it, struct ds_pb_span *item)
{
    struct ds_pb_field f;
    while (it->left > 0) {
        if (it->parent == 0) {
            if (ds_pb_next(it->p, &it->pos, it->end, &f) != 1)
                break;
            if (f.num == it->field && f.wt == DS_PB_WT_LEN) {
                *item = f.data;
                it->left--;
                return true;
            }
            continue;
        }
        if (it->in_pos < it->in_end) {
            if (ds_pb_next(it->p, &it->in_pos, it->in_end, &f) != 1) {
                it->in_pos = it->in_end;
                continue;
            }
            if (f.num == it->field && f.wt == DS_PB_WT_LEN) {
                *item = f.data;
                it->left--;
                return true;
            }
            continue;
        }
        if (ds_pb_next(it->p, &it->pos, it->end, &f) != 1)
            break;
        if (f.num == it->parent && f.wt == DS_PB_WT_LEN) {
            it->in_pos = f.data.off;
            it->in_end = f.data.off + f.data.len;
        }
    }
    it->left = 0;
    return false;
}

int ds_pb_meta_decode(const uint8_t *p, struct ds_pb_span item, struct ds_pb_meta *meta)
{
    *meta = (struct ds_pb_meta){.body = item};
    uint32_t pos = item.off, end = item.off + item.len;
    struct ds_pb_field f, g;
    int rc, rc2;
    while ((rc = ds_pb_next(p, &pos, end, &f)) == 1) {
        if (f.num == 1 && f.wt == DS_PB_WT_LEN) {
            meta->key = f.data;
        } else if (f.num == 2 && f.wt == DS_PB_WT_LEN) {
            uint32_t ipos = f.data.off, iend = f.data.off + f.data.len;
            while ((rc2 = ds_pb_next(p, &ipos, iend, &g)) == 1) {
                if (g.num == 1 && g.wt == DS_PB_WT_LEN) {
                    meta->n_str++;
                } else if (g.num == 2 && g.wt == DS_PB_WT_VARINT) {
                    meta->n_int++;
                } else if (g.num == 2 && g.wt == DS_PB_WT_LEN) {
                    uint32_t kpos = g.data.off, kend = g.data.off + g.data.len;
                    uint64_t v;
                    while (kpos < kend) {
                        if (ds_pb_varint(p, &kpos, kend, 10, &v) != DS_OK)
                            return DS_EPROTO;
                        meta->n_int++;
                    }
                } else if (g.num <= 2) {
                    return DS_EPROTO;
                }
            }
            if (rc2 < 0)
                return DS_EPROTO;
        } else if (f.num <= 2) {
            return DS_EPROTO;
        }
    }
    return rc < 0 ? DS_EPROTO : DS_OK;
}

void ds_pb_metaval_iter_init(struct ds_pb_metaval_iter *it, const uint8_t *p,
                             const struct ds_pb_meta *meta)
{
    it->p = p;
    it->pos = meta->body.off;
    it->end = meta->body.off + meta->body.len;
    it->in_pos = it->in_end = it->pk_pos = it->pk_end = 0;
}

/* Steps to the next field of the current MetaValue, entering the next MetaValue of the
 * Meta when the current one is done.  1 with *f, 0 when the Meta is exhausted. */
static int metaval_step(struct ds_pb_metaval_iter *it, struct ds_pb_field *f)
{
    for (;;) {
        if (it->in_pos < it->in_end) {
            if (ds_pb_next(it->p, &it->in_pos, it->in_end, f) == 1)
                return 1;
            it->in_pos = it->in_end;
            continue;
        }
        if (ds_pb_next(it->p, &it->pos, it->end, f) != 1)
            return 0;
        if (f->num == 2 && f->wt == DS_PB_WT_LEN) {
            it->in_pos = f->data.off;
            it->in_end = f->data.off + f->data.len;
        }
    }
}

bool ds_pb_metaval_next_str(struct ds_pb_metaval_iter *it, struct ds_pb_span *s)
{
    struct ds_pb_field f;
    while (metaval_step(it, &f) == 1) {
        if (f.num == 1 && f.wt == DS_PB_WT_LEN) {
            *s = f.data;
            return true;
        }
    }
    return false;
}

bool ds_pb_metaval_next_int(struct ds_pb_metaval_iter *it, int64_t *v)
{
    struct ds_pb_field f;
    uint64_t u;
    for (;;) {
        if (it->pk_pos < it->pk_end) {
            if (ds_pb_varint(it->p, &it->pk_pos, it->pk_end, 10, &u) == DS_OK) {
                *v = (int64_t)u;
                return true;
            }
            it->pk_pos = it->pk_end;
            continue;
        }
        if (metaval_step(it, &f) != 1)
            return false;
        if (f.num != 2)
            continue;
        if (f.wt == DS_PB_WT_VARINT) {
            *v = (int64_t)f.v;
            return true;
        }
        if (f.wt == DS_PB_WT_LEN) {
            it->pk_pos = f.data.off;
            it->pk_end = f.data.off + f.data.len;
        }
    }
}
