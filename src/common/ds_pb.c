/* ds_pb.c - PBDNSMessage wire scanner.  See ds_pb.h. */
#include "ds_pb.h"

/* ---- the schema, as far as the wire is concerned -------------------------------- */

/* How a known field must look on the wire.  Unknown fields may use any wire type. */
enum pb_kind {
    K_UNK = 0,
    K_VARINT, /* wire type 0: integers, enums, bools */
    K_LEN,    /* wire type 2: strings, bytes */
    K_PACKED, /* repeated integer: wire type 0, or 2 holding packed varints */
    K_MSG_Q,  /* wire type 2 holding a sub-message of this kind ... */
    K_MSG_R,
    K_MSG_RR,
    K_MSG_META,
    K_MSG_MV,
    K_MSG_EV,
};

struct pb_desc {
    const uint8_t *kind; /* indexed by field number */
    uint32_t n;          /* entries in kind[] */
    uint64_t required;   /* bit n: field n is required */
};

static const uint8_t kind_top[34] = {
    [1] = K_VARINT,  [2] = K_LEN,       [3] = K_LEN,       [4] = K_VARINT,   [5] = K_VARINT,
    [6] = K_LEN,     [7] = K_LEN,       [8] = K_VARINT,    [9] = K_VARINT,   [10] = K_VARINT,
    [11] = K_VARINT, [12] = K_MSG_Q,    [13] = K_MSG_R,    [14] = K_LEN,     [15] = K_LEN,
    [16] = K_LEN,    [17] = K_LEN,      [18] = K_VARINT,   [19] = K_LEN,     [20] = K_VARINT,
    [21] = K_VARINT, [22] = K_MSG_META, [23] = K_MSG_EV,   [24] = K_VARINT,  [25] = K_VARINT,
    [26] = K_VARINT, [27] = K_VARINT,   [28] = K_VARINT,   [29] = K_VARINT,  [30] = K_LEN,
    [31] = K_VARINT, [32] = K_LEN,      [33] = K_LEN,
};
static const uint8_t kind_q[4] = {[1] = K_LEN, [2] = K_VARINT, [3] = K_VARINT};
static const uint8_t kind_r[12] = {
    [1] = K_VARINT, [2] = K_MSG_RR, [3] = K_LEN,    [4] = K_LEN,    [5] = K_VARINT, [6] = K_VARINT,
    [7] = K_VARINT, [8] = K_LEN,    [9] = K_LEN,    [10] = K_VARINT, [11] = K_VARINT,
};
static const uint8_t kind_rr[7] = {[1] = K_LEN,    [2] = K_VARINT, [3] = K_VARINT,
                                   [4] = K_VARINT, [5] = K_LEN,    [6] = K_VARINT};
static const uint8_t kind_meta[3] = {[1] = K_LEN, [2] = K_MSG_MV};
static const uint8_t kind_mv[3] = {[1] = K_LEN, [2] = K_PACKED};
static const uint8_t kind_ev[9] = {[1] = K_VARINT, [2] = K_VARINT, [3] = K_VARINT, [4] = K_VARINT,
                                   [5] = K_VARINT, [6] = K_LEN,    [7] = K_LEN,    [8] = K_LEN};

static const struct pb_desc pb_descs[] = {
    [K_UNK] = {kind_top, 34, 1u << 1}, /* slot 0 doubles as PBDNSMessage */
    [K_MSG_Q] = {kind_q, 4, 0},
    [K_MSG_R] = {kind_r, 12, 0},
    [K_MSG_RR] = {kind_rr, 7, 0},
    [K_MSG_META] = {kind_meta, 3, (1u << 1) | (1u << 2)},
    [K_MSG_MV] = {kind_mv, 3, 0},
    [K_MSG_EV] = {kind_ev, 9, (1u << 1) | (1u << 2) | (1u << 3)},
};

static int pb_check_packed(const uint8_t *p, uint32_t pos, uint32_t end)
{
    uint64_t v;
    while (pos < end)
        if (ds_pb_varint(p, &pos, end, 10, &v) != DS_OK)
            return DS_EPROTO;
    return DS_OK;
}

/* Checks that a known field has the wire type its kind needs, and recurses into
 * sub-messages (at most three levels deep: the schema has no recursion). */
static int pb_check_msg(const struct pb_desc *d, const uint8_t *p, uint32_t pos, uint32_t end);

static inline int pb_check_field(uint8_t kind, const uint8_t *p, const struct ds_pb_field *f)
{
    switch (kind) {
    case K_UNK:
        return DS_OK;
    case K_VARINT:
        return f->wt == DS_PB_WT_VARINT ? DS_OK : DS_EPROTO;
    case K_LEN:
        return f->wt == DS_PB_WT_LEN ? DS_OK : DS_EPROTO;
    case K_PACKED:
        if (f->wt == DS_PB_WT_VARINT)
            return DS_OK;
        if (f->wt != DS_PB_WT_LEN)
            return DS_EPROTO;
        return pb_check_packed(p, f->data.off, f->data.off + f->data.len);
    default:
        if (f->wt != DS_PB_WT_LEN)
            return DS_EPROTO;
        return pb_check_msg(&pb_descs[kind], p, f->data.off, f->data.off + f->data.len);
    }
}

/* The validator's own walk: it needs no values, so varints are skipped rather than
 * decoded.  Accepts exactly what ds_pb_next() plus pb_check_field() accept. */
static int pb_check_msg(const struct pb_desc *d, const uint8_t *p, uint32_t pos, uint32_t end)
{
    uint64_t seen = 0;
    while (pos < end) {
        uint64_t key;
        if (p[pos] < 0x80) {
            key = p[pos++];
        } else if (!(pos = ds_pb_varint_at(p, pos, end, 5, &key))) {
            return DS_EPROTO;
        }
        uint64_t num = key >> 3;
        if (num == 0)
            return DS_EPROTO;
        uint8_t kind = num < d->n ? d->kind[num] : K_UNK;
        switch (key & 7) {
        case DS_PB_WT_VARINT: {
            if (kind != K_UNK && kind != K_VARINT && kind != K_PACKED)
                return DS_EPROTO;
            uint32_t lim = end - pos > 10 ? pos + 10 : end;
            while (pos < lim && (p[pos] & 0x80))
                pos++;
            if (pos == lim)
                return DS_EPROTO;
            pos++;
            break;
        }
        case DS_PB_WT_LEN: {
            uint64_t len;
            if (pos < end && p[pos] < 0x80)
                len = p[pos++];
            else if (pos >= end || !(pos = ds_pb_varint_at(p, pos, end, 5, &len)))
                return DS_EPROTO;
            if (len > end - pos)
                return DS_EPROTO;
            uint32_t body = pos;
            pos += (uint32_t)len;
            if (kind == K_VARINT)
                return DS_EPROTO;
            if (kind == K_PACKED) {
                if (pb_check_packed(p, body, pos) != DS_OK)
                    return DS_EPROTO;
            } else if (kind >= K_MSG_Q) {
                if (pb_check_msg(&pb_descs[kind], p, body, pos) != DS_OK)
                    return DS_EPROTO;
            }
            break;
        }
        case DS_PB_WT_I64:
            if (kind != K_UNK || end - pos < 8)
                return DS_EPROTO;
            pos += 8;
            break;
        case DS_PB_WT_I32:
            if (kind != K_UNK || end - pos < 4)
                return DS_EPROTO;
            pos += 4;
            break;
        default:
            return DS_EPROTO;
        }
        if (kind != K_UNK)
            seen |= (uint64_t)1 << num;
    }
    return (seen & d->required) == d->required ? DS_OK : DS_EPROTO;
}

int ds_pb_validate(const uint8_t *p, size_t len)
{
    if (!p && len)
        return DS_EPROTO;
    if (len > UINT32_MAX)
        return DS_EPROTO;
    return pb_check_msg(&pb_descs[K_UNK], p, 0, (uint32_t)len);
}

/* ---- scan ------------------------------------------------------------------------ */

static int scan_question(const uint8_t *p, struct ds_pb_span body, struct ds_pb_msg *m)
{
    uint32_t pos = body.off, end = body.off + body.len;
    struct ds_pb_field f;
    int rc;
    while ((rc = ds_pb_next(p, &pos, end, &f)) == 1) {
        if (f.num >= 4 || kind_q[f.num] == K_UNK)
            continue;
        if (pb_check_field(kind_q[f.num], p, &f) != DS_OK)
            return DS_EPROTO;
        m->q_has |= 1u << f.num;
        switch (f.num) {
        case DS_PB_Q_NAME:
            m->qname = f.data;
            break;
        case DS_PB_Q_TYPE:
            m->qtype = (uint32_t)f.v;
            break;
        default:
            m->qclass = (uint32_t)f.v;
            break;
        }
    }
    return rc < 0 ? DS_EPROTO : DS_OK;
}

static int scan_response(const uint8_t *p, struct ds_pb_span body, struct ds_pb_msg *m)
{
    uint32_t pos = body.off, end = body.off + body.len;
    struct ds_pb_field f;
    int rc;
    while ((rc = ds_pb_next(p, &pos, end, &f)) == 1) {
        if (f.num >= 12 || kind_r[f.num] == K_UNK)
            continue;
        if (pb_check_field(kind_r[f.num], p, &f) != DS_OK)
            return DS_EPROTO;
        m->r_has |= 1u << f.num;
        uint32_t v32 = (uint32_t)f.v;
        switch (f.num) {
        case DS_PB_R_RCODE:
            m->rcode = v32;
            break;
        case DS_PB_R_RRS:
            m->rr_count++;
            break;
        case DS_PB_R_APPLIED_POLICY:
            m->applied_policy = f.data;
            break;
        case DS_PB_R_TAGS:
            m->tag_count++;
            break;
        case DS_PB_R_QUERY_TIME_SEC:
            m->query_time_sec = v32;
            break;
        case DS_PB_R_QUERY_TIME_USEC:
            m->query_time_usec = v32;
            break;
        case DS_PB_R_APPLIED_POLICY_TYPE:
            m->applied_policy_type = v32;
            break;
        case DS_PB_R_APPLIED_POLICY_TRIGGER:
            m->applied_policy_trigger = f.data;
            break;
        case DS_PB_R_APPLIED_POLICY_HIT:
            m->applied_policy_hit = f.data;
            break;
        case DS_PB_R_APPLIED_POLICY_KIND:
            m->applied_policy_kind = v32;
            break;
        default:
            m->validation_state = v32;
            break;
        }
    }
    return rc < 0 ? DS_EPROTO : DS_OK;
}

int ds_pb_scan(const uint8_t *p, size_t len, struct ds_pb_msg *m)
{
    *m = (struct ds_pb_msg){0};
    if ((!p && len) || len > UINT32_MAX)
        return DS_EPROTO;
    uint32_t pos = 0, end = (uint32_t)len;
    struct ds_pb_field f;
    bool seen_resp = false;
    int rc;
    while (1) {
        uint32_t at = pos;
        rc = ds_pb_next(p, &pos, end, &f);
        if (rc != 1)
            break;
        if (f.num >= 34 || kind_top[f.num] == K_UNK)
            continue;
        uint8_t kind = kind_top[f.num];
        uint32_t v32 = (uint32_t)f.v;
        /* sub-messages are checked below while they are read */
        if (kind < K_MSG_Q) {
            if (pb_check_field(kind, p, &f) != DS_OK)
                return DS_EPROTO;
        } else if (f.wt != DS_PB_WT_LEN) {
            return DS_EPROTO;
        }
        m->has |= (uint64_t)1 << f.num;
        switch (f.num) {
        case DS_PB_TYPE: m->type = v32; break;
        case DS_PB_MESSAGE_ID: m->message_id = f.data; break;
        case DS_PB_SERVER_IDENTITY: m->server_identity = f.data; break;
        case DS_PB_SOCKET_FAMILY: m->socket_family = v32; break;
        case DS_PB_SOCKET_PROTOCOL: m->socket_protocol = v32; break;
        case DS_PB_FROM: m->from = f.data; break;
        case DS_PB_TO: m->to = f.data; break;
        case DS_PB_IN_BYTES: m->in_bytes = f.v; break;
        case DS_PB_TIME_SEC: m->time_sec = v32; break;
        case DS_PB_TIME_USEC: m->time_usec = v32; break;
        case DS_PB_ID: m->id = v32; break;
        case DS_PB_QUESTION:
            if (scan_question(p, f.data, m) != DS_OK)
                return DS_EPROTO;
            break;
        case DS_PB_RESPONSE:
            if (!seen_resp)
                m->resp_at = at; /* the iterators start at the first occurrence */
            seen_resp = true;
            if (scan_response(p, f.data, m) != DS_OK)
                return DS_EPROTO;
            break;
        case DS_PB_ORIGINAL_REQUESTOR_SUBNET: m->original_requestor_subnet = f.data; break;
        case DS_PB_REQUESTOR_ID: m->requestor_id = f.data; break;
        case DS_PB_INITIAL_REQUEST_ID: m->initial_request_id = f.data; break;
        case DS_PB_DEVICE_ID: m->device_id = f.data; break;
        case DS_PB_NEWLY_OBSERVED_DOMAIN: m->newly_observed_domain = ds_pb_bool(p, &f); break;
        case DS_PB_DEVICE_NAME: m->device_name = f.data; break;
        case DS_PB_FROM_PORT: m->from_port = v32; break;
        case DS_PB_TO_PORT: m->to_port = v32; break;
        case DS_PB_META:
            if (pb_check_msg(&pb_descs[K_MSG_META], p, f.data.off, f.data.off + f.data.len))
                return DS_EPROTO;
            if (m->meta_count++ == 0)
                m->meta_at = at;
            break;
        case DS_PB_TRACE:
            if (pb_check_msg(&pb_descs[K_MSG_EV], p, f.data.off, f.data.off + f.data.len))
                return DS_EPROTO;
            if (m->trace_count++ == 0)
                m->trace_at = at;
            break;
        case DS_PB_HTTP_VERSION: m->http_version = v32; break;
        case DS_PB_WORKER_ID: m->worker_id = f.v; break;
        case DS_PB_PACKET_CACHE_HIT: m->packet_cache_hit = ds_pb_bool(p, &f); break;
        case DS_PB_OUTGOING_QUERIES: m->outgoing_queries = v32; break;
        case DS_PB_HEADER_FLAGS: m->header_flags = v32; break;
        case DS_PB_EDNS_VERSION: m->edns_version = v32; break;
        case DS_PB_OPEN_TELEMETRY_DATA: m->open_telemetry_data = f.data; break;
        case DS_PB_EDE: m->ede = v32; break;
        case DS_PB_EDE_TEXT: m->ede_text = f.data; break;
        default: m->open_telemetry_trace_id = f.data; break;
        }
    }
    if (rc < 0 || !ds_pb_has(m, DS_PB_TYPE))
        return DS_EPROTO;
    return DS_OK;
}

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

int ds_pb_rr_decode(const uint8_t *p, struct ds_pb_span item, struct ds_pb_rr *rr)
{
    *rr = (struct ds_pb_rr){0};
    uint32_t pos = item.off, end = item.off + item.len;
    struct ds_pb_field f;
    int rc;
    while ((rc = ds_pb_next(p, &pos, end, &f)) == 1) {
        if (f.num >= 7 || kind_rr[f.num] == K_UNK)
            continue;
        if (pb_check_field(kind_rr[f.num], p, &f) != DS_OK)
            return DS_EPROTO;
        rr->has |= 1u << f.num;
        switch (f.num) {
        case 1: rr->name = f.data; break;
        case 2: rr->type = (uint32_t)f.v; break;
        case 3: rr->rclass = (uint32_t)f.v; break;
        case 4: rr->ttl = (uint32_t)f.v; break;
        case 5: rr->rdata = f.data; break;
        default: rr->udr = ds_pb_bool(p, &f); break;
        }
    }
    return rc < 0 ? DS_EPROTO : DS_OK;
}

int ds_pb_event_decode(const uint8_t *p, struct ds_pb_span item, struct ds_pb_event *ev)
{
    *ev = (struct ds_pb_event){0};
    uint32_t pos = item.off, end = item.off + item.len;
    struct ds_pb_field f;
    int rc;
    while ((rc = ds_pb_next(p, &pos, end, &f)) == 1) {
        if (f.num >= 9 || kind_ev[f.num] == K_UNK)
            continue;
        if (pb_check_field(kind_ev[f.num], p, &f) != DS_OK)
            return DS_EPROTO;
        ev->has |= 1u << f.num;
        switch (f.num) {
        case 1: ev->ts = (int64_t)f.v; break;
        case 2: ev->event = (uint32_t)f.v; break;
        case 3: ev->start = ds_pb_bool(p, &f); break;
        case 4: ev->bool_val = ds_pb_bool(p, &f); break;
        case 5: ev->int_val = (int64_t)f.v; break;
        case 6: ev->string_val = f.data; break;
        case 7: ev->bytes_val = f.data; break;
        default: ev->custom = f.data; break;
        }
    }
    return rc < 0 ? DS_EPROTO : DS_OK;
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
