/*
 * fuzz_pb.c - libFuzzer target for the protobuf scanner and the encoders.
 *
 * Every input goes through ds_pb_validate, ds_pb_scan, ds_enc_json and ds_enc_bind.
 * Checked on every input:
 *   - validate and scan agree;
 *   - differential: when validate accepts, protobuf-c's unpack of our schema accepts too,
 *     and every field (scalars, spans, RRs, tags, meta, trace) agrees with it;
 *   - the JSON encoder succeeds exactly when the scan does, produces syntactically valid
 *     JSON that is valid UTF-8, and appends nothing on failure;
 *   - a BIND line is one line of printable ASCII.
 * Known, intended differences, where we are stricter than protobuf-c:
 *   - protobuf-c keeps a field number 0 written as an over-long tag (0x80 0x00 ...) as an
 *     unknown field; we reject every field number 0;
 *   - protobuf-c reads a bool field (newlyObservedDomain, packetCacheHit, udr, start,
 *     boolVal) whatever its wire type; we require a varint, like every other integer.
 * Set DS_FUZZ_STRICT=1 to abort on any other input protobuf-c accepts and we do not.
 *
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DDS_FUZZ=ON
 * Run:   build-fuzz/fuzz_pb -max_total_time=60 tests/fuzz/corpus/pb
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/pb_oracle.h"
#include "dnsmessage.pb-c.h"
#include "ds_enc.h"
#include "ds_pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DIE(...)                          \
    do {                                  \
        fprintf(stderr, "fuzz_pb: ");     \
        fprintf(stderr, __VA_ARGS__);     \
        fputc('\n', stderr);              \
        abort();                          \
    } while (0)

/* ---- a small JSON syntax checker (RFC 8259 grammar, UTF-8 validity) ----------------- */

struct jp {
    const uint8_t *s;
    size_t n, i;
    int depth;
};

static bool j_value(struct jp *j);

static void j_ws(struct jp *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' ||
                           j->s[j->i] == '\r'))
        j->i++;
}

static bool j_lit(struct jp *j, const char *lit)
{
    size_t l = strlen(lit);
    if (j->n - j->i < l || memcmp(j->s + j->i, lit, l) != 0)
        return false;
    j->i += l;
    return true;
}

static size_t j_utf8(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t l;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
        l = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        l = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        l = 4, cp = c & 0x07;
    else
        return 0;
    if (n < l)
        return 0;
    for (size_t k = 1; k < l; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[k] & 0x3f);
    }
    if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return l;
}

static bool j_string(struct jp *j)
{
    if (j->i >= j->n || j->s[j->i] != '"')
        return false;
    j->i++;
    while (j->i < j->n) {
        uint8_t c = j->s[j->i];
        if (c == '"') {
            j->i++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (++j->i >= j->n)
                return false;
            c = j->s[j->i];
            if (c == 'u') {
                if (j->n - j->i < 5)
                    return false;
                for (int k = 1; k <= 4; k++) {
                    uint8_t h = j->s[j->i + (size_t)k];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                          (h >= 'A' && h <= 'F')))
                        return false;
                }
                j->i += 5;
            } else if (strchr("\"\\/bfnrt", c) && c) {
                j->i++;
            } else {
                return false;
            }
            continue;
        }
        if (c >= 0x80) {
            size_t l = j_utf8(j->s + j->i, j->n - j->i);
            if (!l)
                return false;
            j->i += l;
            continue;
        }
        j->i++;
    }
    return false;
}

static bool j_number(struct jp *j)
{
    size_t st = j->i;
    if (j->i < j->n && j->s[j->i] == '-')
        j->i++;
    if (j->i >= j->n)
        return false;
    if (j->s[j->i] == '0') {
        j->i++;
    } else if (j->s[j->i] >= '1' && j->s[j->i] <= '9') {
        while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
            j->i++;
    } else {
        return false;
    }
    return j->i > st; /* the encoders never write fractions or exponents */
}

static bool j_container(struct jp *j, char open, char close, bool object)
{
    if (++j->depth > 16)
        return false;
    j->i++; /* open */
    j_ws(j);
    if (j->i < j->n && j->s[j->i] == close) {
        j->i++;
        j->depth--;
        return true;
    }
    for (;;) {
        j_ws(j);
        if (object) {
            if (!j_string(j))
                return false;
            j_ws(j);
            if (j->i >= j->n || j->s[j->i] != ':')
                return false;
            j->i++;
        }
        if (!j_value(j))
            return false;
        j_ws(j);
        if (j->i >= j->n)
            return false;
        if (j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        if (j->s[j->i] != close)
            return false;
        j->i++;
        j->depth--;
        (void)open;
        return true;
    }
}

static bool j_value(struct jp *j)
{
    j_ws(j);
    if (j->i >= j->n)
        return false;
    switch (j->s[j->i]) {
    case '{': return j_container(j, '{', '}', true);
    case '[': return j_container(j, '[', ']', false);
    case '"': return j_string(j);
    case 't': return j_lit(j, "true");
    case 'f': return j_lit(j, "false");
    case 'n': return j_lit(j, "null");
    default: return j_number(j);
    }
}

static bool json_valid(const uint8_t *s, size_t n)
{
    struct jp j = {s, n, 0, 0};
    if (n == 0 || s[0] != '{' || !j_value(&j))
        return false;
    j_ws(&j);
    return j.i == n;
}

/* ---- the target ----------------------------------------------------------------------- */

/* protobuf-c keeps an over-long tag of field number 0 as an unknown field. */
static bool has_overlong_field0(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if ((p[i] & 0xf8) == 0x80 && p[i + 1] == 0x00)
            return true;
    return false;
}

/* protobuf-c reads a bool field of any wire type; we require a varint.  Walks the
 * message (level: 0 top, 13 response, 2 RR, 23 event) looking for such a bool. */
static bool has_non_varint_bool(const uint8_t *p, uint32_t pos, uint32_t end, int level)
{
    struct ds_pb_field f;
    while (ds_pb_next(p, &pos, end, &f) == 1) {
        bool is_bool = (level == 0 && (f.num == 18 || f.num == 26)) ||
                       (level == 2 && f.num == 6) || (level == 23 && (f.num == 3 || f.num == 4));
        if (is_bool && f.wt != DS_PB_WT_VARINT)
            return true;
        if (f.wt != DS_PB_WT_LEN)
            continue;
        int sub = level == 0 && f.num == 13   ? 13
                  : level == 0 && f.num == 23 ? 23
                  : level == 13 && f.num == 2 ? 2
                                              : -1;
        if (sub > 0 && has_non_varint_bool(p, f.data.off, f.data.off + f.data.len, sub))
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ds_buf b;
    static const struct ds_enc_ctx ctx = {.instance = "fuzz", .hostname = "fuzz"};
    static int strict = -1;
    if (strict < 0)
        strict = getenv("DS_FUZZ_STRICT") != NULL;

    struct ds_pb_msg m;
    int v = ds_pb_validate(data, size);
    int s = ds_pb_scan(data, size, &m);
    if (v != s)
        DIE("validate %d but scan %d", v, s);

    PBDNSMessage *c = pbdnsmessage__unpack(NULL, size, data);
    if (v == DS_OK) {
        if (!c)
            DIE("ds_pb_validate accepts what protobuf-c rejects");
        const char *diff = pb_oracle_compare(data, size, &m, c);
        if (diff)
            DIE("scan and protobuf-c differ: %s", diff);
    } else if (c && strict && !has_overlong_field0(data, size) && size <= UINT32_MAX &&
               !has_non_varint_bool(data, 0, (uint32_t)size, 0)) {
        DIE("protobuf-c accepts what ds_pb_validate rejects");
    }
    if (c)
        pbdnsmessage__free_unpacked(c, NULL);

    /* In place, with bytes after the message that are not zeros (as a ring record has its
     * neighbour after it), validation, scan and the JSON are the same as from the copy. */
    static uint8_t *tail;
    static size_t tail_cap;
    if (size + 64 > tail_cap) {
        tail_cap = size + 64;
        tail = realloc(tail, tail_cap);
        if (!tail)
            DIE("out of memory");
    }
    if (size)
        memcpy(tail, data, size);
    for (size_t j = 0; j < 64; j++)
        tail[size + j] = (uint8_t)(0xff - j * 37 - (size ? data[j % size] : 0));
    struct ds_pb_msg mi;
    if (ds_pb_validate_lim(tail, size, size + 64) != v)
        DIE("validate in place differs");
    if (ds_pb_scan_lim(tail, size, size + 64, &mi) != v)
        DIE("scan in place differs");
    if (v == DS_OK && (mi.has != m.has || mi.q_has != m.q_has || mi.r_has != m.r_has ||
                       mi.rr_count != m.rr_count || mi.resp_at != m.resp_at))
        DIE("scan in place summarises differently");

    struct ds_rec rec = {.seq = 1, .time_us = 1795305629759123ull, .kind = DS_REC_PDNS,
                         .len = (uint32_t)size, .data = data};
    if (size > UINT32_MAX)
        return 0;
    ds_buf_reset(&b);
    ds_buf_puts(&b, "x");
    int rc = ds_enc_json(&b, &rec, &ctx);
    if ((rc == DS_OK) != (v == DS_OK))
        DIE("json rc %d but validate %d", rc, v);
    if (rc != DS_OK && b.len != 1)
        DIE("json appended on failure");
    if (rc == DS_OK && !json_valid(b.data + 1, b.len - 1))
        DIE("invalid JSON: %.*s", (int)(b.len - 1), (const char *)b.data + 1);
    if (rc == DS_OK) {
        static struct ds_buf bi;
        struct ds_rec reci = rec;
        reci.data = tail;
        reci.after = 64;
        ds_buf_reset(&bi);
        ds_buf_puts(&bi, "x");
        if (ds_enc_json(&bi, &reci, &ctx) != DS_OK || bi.len != b.len ||
            memcmp(bi.data, b.data, b.len) != 0)
            DIE("JSON in place differs");
    }

    ds_buf_reset(&b);
    rc = ds_enc_bind(&b, &rec, &ctx);
    if (v != DS_OK && rc != DS_EPROTO)
        DIE("bind rc %d on a malformed message", rc);
    if (rc != DS_OK && b.len != 0)
        DIE("bind appended on failure");
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] < 0x20 || b.data[i] > 0x7e)
            DIE("bind line has byte 0x%02x", b.data[i]);

    ds_buf_reset(&b);
    rc = ds_enc_pdns(&b, &rec, 32);
    if (rc != DS_OK || b.len != size + 4 || (size && memcmp(b.data + 4, data, size) != 0))
        DIE("pdns framing");
    return 0;
}
