/* ds_qfile.c - record and queue-file layout, checksums, salvage scan.  See ds_qfile.h. */
#include "ds_qfile.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "ds_crc32.h"
#include "ds_rec.h"

uint32_t ds_qf_payload_crc(const void *data, size_t len)
{
    return ds_crc32(0, data, len);
}

uint32_t ds_qf_rec_crc(const void *rec)
{
    uint32_t len;
    memcpy(&len, (const uint8_t *)rec + offsetof(struct ds_qf_rec, len), sizeof(len));
    return ds_crc32(0, (const uint8_t *)rec + DS_QF_CRC_FROM,
                    DS_QF_REC_HDR - DS_QF_CRC_FROM + (size_t)len);
}

/* ---- superblock ----------------------------------------------------------------- */

static uint32_t super_crc(const struct ds_qf_super *sb)
{
    return ds_crc32(0, sb, offsetof(struct ds_qf_super, crc));
}

static bool super_valid(const struct ds_qf_super *sb)
{
    return memcmp(sb->magic, DS_QF_MAGIC, 8) == 0 && sb->version == DS_QF_VERSION &&
           sb->data_off == DS_QF_DATA_OFF && sb->capacity >= DS_QF_MIN_CAPACITY &&
           sb->capacity % 8 == 0 && sb->crc == super_crc(sb);
}

int ds_qf_super_load(const uint8_t *base, uint64_t avail, struct ds_qf_super *out)
{
    int valid = 0;
    struct ds_qf_super best;
    memset(&best, 0, sizeof(best));
    for (unsigned i = 0; i < 2; i++) {
        uint64_t off = (uint64_t)i * DS_QF_SUPER_STRIDE;
        if (off + sizeof(struct ds_qf_super) > avail)
            continue;
        struct ds_qf_super sb;
        memcpy(&sb, base + off, sizeof(sb));
        if (!super_valid(&sb) || (sb.gen & 1u) != i)
            continue;
        if (valid == 0 || sb.gen > best.gen)
            best = sb;
        valid++;
    }
    if (valid)
        *out = best;
    return valid;
}

uint32_t ds_qf_super_other_version(const uint8_t *base, uint64_t avail)
{
    for (unsigned i = 0; i < 2; i++) {
        uint64_t off = (uint64_t)i * DS_QF_SUPER_STRIDE;
        if (off + sizeof(struct ds_qf_super) > avail)
            continue;
        struct ds_qf_super sb;
        memcpy(&sb, base + off, sizeof(sb));
        if (memcmp(sb.magic, DS_QF_MAGIC, 8) == 0 && sb.version != DS_QF_VERSION &&
            sb.crc == super_crc(&sb))
            return sb.version;
    }
    return 0;
}

void ds_qf_super_store(uint8_t *base, struct ds_qf_super *sb)
{
    memcpy(sb->magic, DS_QF_MAGIC, 8);
    sb->version = DS_QF_VERSION;
    sb->data_off = DS_QF_DATA_OFF;
    sb->gen++;
    sb->crc = super_crc(sb);
    memcpy(base + (sb->gen & 1u) * DS_QF_SUPER_STRIDE, sb, sizeof(*sb));
}

/* ---- cursor slots --------------------------------------------------------------- */

void ds_qf_name_key(const char *name, char key[DS_QF_NAME_MAX], uint16_t *key_len)
{
    size_t n = strlen(name);
    memset(key, 0, DS_QF_NAME_MAX);
    if (n <= DS_QF_NAME_MAX) {
        memcpy(key, name, n);
        *key_len = (uint16_t)n;
        return;
    }
    /* A long name keeps its first 95 bytes and gets '#' and the crc32 of all of it. */
    char tail[10];
    snprintf(tail, sizeof(tail), "#%08lx", (unsigned long)ds_qf_payload_crc(name, n));
    memcpy(key, name, DS_QF_NAME_MAX - 9);
    memcpy(key + DS_QF_NAME_MAX - 9, tail, 9);
    *key_len = (uint16_t)DS_QF_NAME_MAX;
}

static uint32_t slot_crc(const struct ds_qf_slot *s)
{
    struct ds_qf_slot t = *s;
    t.crc = 0;
    return ds_crc32(0, &t, sizeof(t));
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

int ds_qf_slot_load(const uint8_t *base, uint64_t avail, int i, struct ds_qf_slot *out)
{
    int valid = 0, zero = 0;
    for (unsigned c = 0; c < 2; c++) {
        uint64_t off = DS_QF_SLOT_OFF + (uint64_t)i * 2 * DS_QF_SLOT_SIZE + c * DS_QF_SLOT_SIZE;
        if (off + DS_QF_SLOT_SIZE > avail) {
            zero++;
            continue;
        }
        struct ds_qf_slot s;
        memcpy(&s, base + off, sizeof(s));
        if (all_zero((const uint8_t *)&s, sizeof(s))) {
            zero++;
            continue;
        }
        if (s.crc != slot_crc(&s) || (s.gen & 1u) != c || s.name_len == 0 ||
            s.name_len > DS_QF_NAME_MAX)
            continue;
        if (valid == 0 || s.gen > out->gen)
            *out = s;
        valid++;
    }
    if (valid)
        return 1;
    return zero == 2 ? 0 : -1;
}

void ds_qf_slot_store(uint8_t *base, int i, struct ds_qf_slot *s)
{
    s->gen++;
    s->crc = 0;
    s->crc = slot_crc(s);
    uint64_t off = DS_QF_SLOT_OFF + (uint64_t)i * 2 * DS_QF_SLOT_SIZE +
                   (s->gen & 1u) * DS_QF_SLOT_SIZE;
    memcpy(base + off, s, sizeof(*s));
}

void ds_qf_slot_clear(uint8_t *base, int i)
{
    memset(base + DS_QF_SLOT_OFF + (uint64_t)i * 2 * DS_QF_SLOT_SIZE, 0, 2 * DS_QF_SLOT_SIZE);
}

/* ---- records and the scan -------------------------------------------------------- */

static uint64_t lim_of(uint64_t capacity, uint64_t avail)
{
    return avail < capacity ? avail : capacity;
}

/* Header plausibility without the checksum. */
static bool hdr_plausible(const uint8_t *data, uint64_t capacity, uint64_t lim, uint64_t phys,
                          struct ds_qf_rec *h)
{
    if (phys + DS_QF_REC_HDR > lim)
        return false;
    /* Cheap rejection first (most positions a search visits are zeros or payload). */
    const uint8_t *p = data + phys;
    if (p[31] != 0 || (p[30] != DS_REC_PDNS && p[30] != DS_REC_METRICS))
        return false;
    memcpy(h, p, DS_QF_REC_HDR);
    if (h->len > DS_REC_MAX_PAYLOAD || h->flags != 0 ||
        (h->kind != DS_REC_PDNS && h->kind != DS_REC_METRICS) || h->seq == 0)
        return false;
    /* The padding after the payload is not checked, so it may be absent (a file cut
     * right after a record). */
    return phys + DS_QF_REC_HDR + h->len <= lim && phys + ds_qf_rec_size(h->len) <= capacity;
}

static bool crc_ok(const uint8_t *data, uint64_t phys, const struct ds_qf_rec *h)
{
    return ds_qf_rec_crc(data + phys) == h->crc;
}

bool ds_qf_rec_valid(const uint8_t *data, uint64_t capacity, uint64_t avail, uint64_t pos,
                     uint64_t min_seq, struct ds_qf_rec *h)
{
    uint64_t phys = pos % capacity;
    if (!hdr_plausible(data, capacity, lim_of(capacity, avail), phys, h) || h->seq < min_seq)
        return false;
    return crc_ok(data, phys, h);
}

/* A skip marker at pos whose length stays inside the lap; *skip is its length. */
static bool marker_at(const struct ds_qf_scan_in *in, uint64_t pos, uint64_t lap_end,
                      uint64_t *skip)
{
    uint64_t phys = pos % in->capacity;
    if (phys + 8 > lim_of(in->capacity, in->avail))
        return false;
    struct ds_qf_rec m; /* only crc (bytes to skip) and len are read */
    memcpy(&m, in->data + phys, 8);
    if (m.len != DS_QF_SKIP || m.crc < 8 || m.crc % 8 != 0 || phys + m.crc > in->capacity ||
        pos + m.crc > lap_end)
        return false;
    *skip = m.crc;
    return true;
}

/* The valid record with the lowest seq >= expect in [from, end); stops early at a seq
 * that cannot be beaten (expect or expect + 1: the record at the break is usually the
 * damaged one). */
static bool search(const struct ds_qf_scan_in *in, uint64_t from, uint64_t end, uint64_t expect,
                   uint64_t *found, struct ds_qf_rec *fh)
{
    uint64_t cap = in->capacity, lim = lim_of(cap, in->avail);
    bool have = false;
    struct ds_qf_rec h;
    for (uint64_t q = from; q < end;) {
        uint64_t phys = q % cap;
        if (phys + DS_QF_REC_HDR > lim) {
            q += cap - phys; /* nothing (more) in this lap's physical range */
            continue;
        }
        if (hdr_plausible(in->data, cap, lim, phys, &h) && h.seq >= expect &&
            (!have || h.seq < fh->seq) && q + ds_qf_rec_size(h.len) <= end &&
            crc_ok(in->data, phys, &h)) {
            have = true;
            *found = q;
            *fh = h;
            if (h.seq <= expect + 1)
                break;
        }
        q += 8;
    }
    return have;
}

void ds_qf_scan(const struct ds_qf_scan_in *in, const struct ds_qf_scan_cb *cb,
                struct ds_qf_scan_out *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t cap = in->capacity;
    uint64_t start = in->start_pos - in->start_pos % 8;
    out->head_pos = out->tail_pos = start;
    if (!in->data || cap < DS_QF_MIN_CAPACITY || cap % 8 != 0)
        return;
    uint64_t expect = in->min_seq ? in->min_seq : 1;
    uint64_t lap_end = start + cap;
    struct ds_qf_rec h;

    if (!in->start_known) {
        uint64_t q;
        if (!search(in, start, lap_end, expect, &q, &h))
            return;
        start = q;
        lap_end = q + cap;
        expect = h.seq;
        out->head_pos = out->tail_pos = q;
    }

    uint64_t pos = start, good_end = start, last_end = start;
    while (pos < lap_end) {
        uint64_t skip;
        if (marker_at(in, pos, lap_end, &skip)) {
            pos += skip;
            good_end = pos;
            continue;
        }
        if (ds_qf_rec_valid(in->data, cap, in->avail, pos, expect, &h) && h.seq == expect &&
            pos + ds_qf_rec_size(h.len) <= lap_end) {
            if (out->records == 0) {
                out->head_pos = pos;
                out->first_seq = h.seq;
            }
            if (cb && cb->record)
                cb->record(cb->arg, pos, &h, in->data + pos % cap + DS_QF_REC_HDR);
            out->records++;
            out->last_seq = h.seq;
            expect = h.seq + 1;
            pos += ds_qf_rec_size(h.len);
            good_end = last_end = pos;
            continue;
        }
        /* The chain breaks here: damage, or the end of the records. */
        uint64_t q;
        if (!search(in, good_end, lap_end, expect, &q, &h))
            break;
        if (q > good_end) {
            out->damaged_bytes += q - good_end;
            out->damaged_regions++;
            if (cb && cb->damage)
                cb->damage(cb->arg, good_end, q - good_end);
        }
        pos = good_end = q;
        expect = h.seq;
    }
    out->tail_pos = last_end;
    if (out->records == 0)
        out->head_pos = out->tail_pos = last_end = start;
    /* Records the superblock saw that the chain did not reach were lost. */
    if (in->start_known && in->tail_hint > last_end && in->tail_hint <= lap_end) {
        out->damaged_bytes += in->tail_hint - last_end;
        out->damaged_regions++;
        if (cb && cb->damage)
            cb->damage(cb->arg, last_end, in->tail_hint - last_end);
    }
    out->record_bytes = out->tail_pos - out->head_pos;
}
