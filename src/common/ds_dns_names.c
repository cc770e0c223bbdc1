/* ds_dns_names.c - shared text forms for the encoders.  See ds_dns_names.h. */
#include "ds_dns_names.h"

#include <string.h>

#define N16(s) {s, sizeof(s) - 1}

/* RR type mnemonics 0..260 (gaps have len 0); 32768 and 32769 are handled apart. */
static const struct ds_dns_name16 qtypes[261] = {
    [1] = N16("A"), [2] = N16("NS"), [3] = N16("MD"), [4] = N16("MF"), [5] = N16("CNAME"),
    [6] = N16("SOA"), [7] = N16("MB"), [8] = N16("MG"), [9] = N16("MR"), [10] = N16("NULL"),
    [11] = N16("WKS"), [12] = N16("PTR"), [13] = N16("HINFO"), [14] = N16("MINFO"),
    [15] = N16("MX"), [16] = N16("TXT"), [17] = N16("RP"), [18] = N16("AFSDB"),
    [19] = N16("X25"), [20] = N16("ISDN"), [21] = N16("RT"), [22] = N16("NSAP"),
    [23] = N16("NSAP-PTR"), [24] = N16("SIG"), [25] = N16("KEY"), [26] = N16("PX"),
    [27] = N16("GPOS"), [28] = N16("AAAA"), [29] = N16("LOC"), [30] = N16("NXT"),
    [31] = N16("EID"), [32] = N16("NIMLOC"), [33] = N16("SRV"), [34] = N16("ATMA"),
    [35] = N16("NAPTR"), [36] = N16("KX"), [37] = N16("CERT"), [38] = N16("A6"),
    [39] = N16("DNAME"), [40] = N16("SINK"), [41] = N16("OPT"), [42] = N16("APL"),
    [43] = N16("DS"), [44] = N16("SSHFP"), [45] = N16("IPSECKEY"), [46] = N16("RRSIG"),
    [47] = N16("NSEC"), [48] = N16("DNSKEY"), [49] = N16("DHCID"), [50] = N16("NSEC3"),
    [51] = N16("NSEC3PARAM"), [52] = N16("TLSA"), [53] = N16("SMIMEA"), [55] = N16("HIP"),
    [56] = N16("NINFO"), [57] = N16("RKEY"), [58] = N16("TALINK"), [59] = N16("CDS"),
    [60] = N16("CDNSKEY"), [61] = N16("OPENPGPKEY"), [62] = N16("CSYNC"), [63] = N16("ZONEMD"),
    [64] = N16("SVCB"), [65] = N16("HTTPS"), [99] = N16("SPF"), [100] = N16("UINFO"),
    [101] = N16("UID"), [102] = N16("GID"), [103] = N16("UNSPEC"), [104] = N16("NID"),
    [105] = N16("L32"), [106] = N16("L64"), [107] = N16("LP"), [108] = N16("EUI48"),
    [109] = N16("EUI64"), [249] = N16("TKEY"), [250] = N16("TSIG"), [251] = N16("IXFR"),
    [252] = N16("AXFR"), [253] = N16("MAILB"), [254] = N16("MAILA"), [255] = N16("ANY"),
    [256] = N16("URI"), [257] = N16("CAA"), [258] = N16("AVC"), [259] = N16("DOA"),
    [260] = N16("AMTRELAY"),
};
static const struct ds_dns_name16 qtype_ta = N16("TA"), qtype_dlv = N16("DLV");

static const struct ds_dns_name16 *qtype_ent(uint32_t t)
{
    if (t < sizeof(qtypes) / sizeof(qtypes[0]))
        return qtypes[t].len ? &qtypes[t] : NULL;
    if (t == 32768)
        return &qtype_ta;
    if (t == 32769)
        return &qtype_dlv;
    return NULL;
}

static const struct ds_dns_name16 *class_ent(uint32_t c)
{
    static const struct ds_dns_name16 in = N16("IN"), ch = N16("CH"), hs = N16("HS"),
                                      none = N16("NONE"), any = N16("ANY");
    switch (c) {
    case 1: return &in;
    case 3: return &ch;
    case 4: return &hs;
    case 254: return &none;
    case 255: return &any;
    default: return NULL;
    }
}

static const struct ds_dns_name16 *rcode_ent(uint32_t r)
{
    static const struct ds_dns_name16 names[] = {
        N16("NOERROR"),  N16("FORMERR"), N16("SERVFAIL"), N16("NXDOMAIN"),
        N16("NOTIMP"),   N16("REFUSED"), N16("YXDOMAIN"), N16("YXRRSET"),
        N16("NXRRSET"),  N16("NOTAUTH"), N16("NOTZONE"),  N16("DSOTYPENI"),
    };
    static const struct ds_dns_name16 ext[] = {
        N16("BADVERS"), N16("BADKEY"),  N16("BADTIME"),  N16("BADMODE"),
        N16("BADNAME"), N16("BADALG"),  N16("BADTRUNC"), N16("BADCOOKIE"),
    };
    static const struct ds_dns_name16 network_error = N16("NETWORK_ERROR");
    if (r < sizeof(names) / sizeof(names[0]))
        return &names[r];
    if (r >= 16 && r < 16 + sizeof(ext) / sizeof(ext[0]))
        return &ext[r - 16];
    if (r == 65536)
        return &network_error;
    return NULL;
}

const char *ds_dns_qtype_name(uint32_t t)
{
    const struct ds_dns_name16 *n = qtype_ent(t);
    return n ? n->text : NULL;
}

const char *ds_dns_class_name(uint32_t c)
{
    const struct ds_dns_name16 *n = class_ent(c);
    return n ? n->text : NULL;
}

const char *ds_dns_rcode_name(uint32_t r)
{
    const struct ds_dns_name16 *n = rcode_ent(r);
    return n ? n->text : NULL;
}

/* The name (a 16-byte copy), or the prefix (at most 5 characters) and the number. */
static uint8_t *named_at(uint8_t *o, const struct ds_dns_name16 *n, const char prefix[8],
                         uint32_t v)
{
    if (n) {
        memcpy(o, n, sizeof(*n));
        return o + n->len;
    }
    memcpy(o, prefix, 8);
    return ds_dns_u64_at(o + strlen(prefix), v);
}

uint8_t *ds_dns_qtype_at(uint8_t *o, uint32_t t)
{
    return named_at(o, qtype_ent(t), "TYPE\0\0\0", t);
}

uint8_t *ds_dns_class_at(uint8_t *o, uint32_t c)
{
    return named_at(o, class_ent(c), "CLASS\0\0", c);
}

uint8_t *ds_dns_rcode_at(uint8_t *o, uint32_t r)
{
    return named_at(o, rcode_ent(r), "RCODE\0\0", r);
}

/* Through the room-based writers: the reserve covers their slack. */
void ds_dns_put_qtype(struct ds_buf *b, uint32_t t)
{
    uint8_t *o = ds_buf_room(b, DS_DNS_MNEM_ROOM);
    b->len = (size_t)(ds_dns_qtype_at(o, t) - b->data);
}

void ds_dns_put_class(struct ds_buf *b, uint32_t c)
{
    uint8_t *o = ds_buf_room(b, DS_DNS_MNEM_ROOM);
    b->len = (size_t)(ds_dns_class_at(o, c) - b->data);
}

void ds_dns_put_rcode(struct ds_buf *b, uint32_t r)
{
    uint8_t *o = ds_buf_room(b, DS_DNS_MNEM_ROOM);
    b->len = (size_t)(ds_dns_rcode_at(o, r) - b->data);
}

#define N32(s) {s, sizeof(s) - 1}
#define NAME_AT(tab, v) \
    ((v) < sizeof(tab) / sizeof((tab)[0]) && (tab)[v].len ? &(tab)[v] : NULL)
/* Each enum: the name32 lookup and the C-string one on top of it. */
#define PB_ENUM(fn, ...)                                                   \
    const struct ds_dns_name32 *ds_dns_pb_##fn(uint32_t v)                 \
    {                                                                      \
        static const struct ds_dns_name32 t[] = {__VA_ARGS__};             \
        return NAME_AT(t, v);                                              \
    }                                                                      \
    const char *ds_dns_pb_##fn##_name(uint32_t v)                          \
    {                                                                      \
        const struct ds_dns_name32 *n = ds_dns_pb_##fn(v);                 \
        return n ? n->text : NULL;                                         \
    }

PB_ENUM(type, N32(""), N32("DNSQueryType"), N32("DNSResponseType"),
        N32("DNSOutgoingQueryType"), N32("DNSIncomingResponseType"), N32("InternalType"))
PB_ENUM(family, N32(""), N32("INET"), N32("INET6"))
PB_ENUM(protocol, N32(""), N32("UDP"), N32("TCP"), N32("DOT"), N32("DOH"),
        N32("DNSCryptUDP"), N32("DNSCryptTCP"), N32("DOQ"))
PB_ENUM(http, N32(""), N32("HTTP1"), N32("HTTP2"), N32("HTTP3"))
PB_ENUM(policy_type, N32(""), N32("UNKNOWN"), N32("QNAME"), N32("CLIENTIP"),
        N32("RESPONSEIP"), N32("NSDNAME"), N32("NSIP"))
PB_ENUM(policy_kind, N32(""), N32("NoAction"), N32("Drop"), N32("NXDOMAIN"), N32("NODATA"),
        N32("Truncate"), N32("Custom"))
PB_ENUM(vstate, N32(""), N32("Indeterminate"), N32("Insecure"), N32("Secure"),
        N32("BogusNoValidDNSKEY"), N32("BogusInvalidDenial"), N32("BogusUnableToGetDSs"),
        N32("BogusUnableToGetDNSKEYs"), N32("BogusSelfSignedDS"), N32("BogusNoRRSIG"),
        N32("BogusNoValidRRSIG"), N32("BogusMissingNegativeIndication"),
        N32("BogusSignatureNotYetValid"), N32("BogusSignatureExpired"),
        N32("BogusUnsupportedDNSKEYAlgo"), N32("BogusUnsupportedDSDigestType"),
        N32("BogusNoZoneKeyBitSet"), N32("BogusRevokedDNSKEY"),
        N32("BogusInvalidDNSKEYProtocol"))

const struct ds_dns_name32 *ds_dns_pb_event(uint32_t v)
{
    static const struct ds_dns_name32 low[] = {N32("CustomEvent"), N32("ReqRecv"),
                                               N32("PCacheCheck"), N32("AnswerSent")};
    static const struct ds_dns_name32 lua[] = {
        N32("SyncRes"),        N32("LuaGetTag"),     N32("LuaGetTagFFI"),
        N32("LuaIPFilter"),    N32("LuaPreRPZ"),     N32("LuaPreResolve"),
        N32("LuaPreOutQuery"), N32("LuaPostResolve"), N32("LuaNoData"),
        N32("LuaNXDomain"),    N32("LuaPostResolveFFI"),
    };
    static const struct ds_dns_name32 auth_request = N32("AuthRequest");
    if (v < sizeof(low) / sizeof(low[0]))
        return &low[v];
    if (v >= 100 && v - 100 < sizeof(lua) / sizeof(lua[0]))
        return &lua[v - 100];
    if (v == 120)
        return &auth_request;
    return NULL;
}

const char *ds_dns_pb_event_name(uint32_t v)
{
    const struct ds_dns_name32 *n = ds_dns_pb_event(v);
    return n ? n->text : NULL;
}

/* ---- addresses ------------------------------------------------------------------- */

/* Each IPv4 octet as text with the dot after it (4 bytes, not NUL-terminated). */
static const char octet_text[256][4] = {
    "0.", "1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9.", "10.", "11.", "12.", "13.", "14.", "15.",
    "16.", "17.", "18.", "19.", "20.", "21.", "22.", "23.", "24.", "25.", "26.", "27.", "28.", "29.", "30.", "31.",
    "32.", "33.", "34.", "35.", "36.", "37.", "38.", "39.", "40.", "41.", "42.", "43.", "44.", "45.", "46.", "47.",
    "48.", "49.", "50.", "51.", "52.", "53.", "54.", "55.", "56.", "57.", "58.", "59.", "60.", "61.", "62.", "63.",
    "64.", "65.", "66.", "67.", "68.", "69.", "70.", "71.", "72.", "73.", "74.", "75.", "76.", "77.", "78.", "79.",
    "80.", "81.", "82.", "83.", "84.", "85.", "86.", "87.", "88.", "89.", "90.", "91.", "92.", "93.", "94.", "95.",
    "96.", "97.", "98.", "99.", "100.", "101.", "102.", "103.", "104.", "105.", "106.", "107.", "108.", "109.", "110.", "111.",
    "112.", "113.", "114.", "115.", "116.", "117.", "118.", "119.", "120.", "121.", "122.", "123.", "124.", "125.", "126.", "127.",
    "128.", "129.", "130.", "131.", "132.", "133.", "134.", "135.", "136.", "137.", "138.", "139.", "140.", "141.", "142.", "143.",
    "144.", "145.", "146.", "147.", "148.", "149.", "150.", "151.", "152.", "153.", "154.", "155.", "156.", "157.", "158.", "159.",
    "160.", "161.", "162.", "163.", "164.", "165.", "166.", "167.", "168.", "169.", "170.", "171.", "172.", "173.", "174.", "175.",
    "176.", "177.", "178.", "179.", "180.", "181.", "182.", "183.", "184.", "185.", "186.", "187.", "188.", "189.", "190.", "191.",
    "192.", "193.", "194.", "195.", "196.", "197.", "198.", "199.", "200.", "201.", "202.", "203.", "204.", "205.", "206.", "207.",
    "208.", "209.", "210.", "211.", "212.", "213.", "214.", "215.", "216.", "217.", "218.", "219.", "220.", "221.", "222.", "223.",
    "224.", "225.", "226.", "227.", "228.", "229.", "230.", "231.", "232.", "233.", "234.", "235.", "236.", "237.", "238.", "239.",
    "240.", "241.", "242.", "243.", "244.", "245.", "246.", "247.", "248.", "249.", "250.", "251.", "252.", "253.", "254.", "255.",
};

/* The length of octet_text[v]: the digits and the dot. */
static const uint8_t octet_len[256] = {
#define L10(n) n, n, n, n, n, n, n, n, n, n
    L10(2), L10(3), L10(3), L10(3), L10(3), L10(3), L10(3), L10(3), L10(3), L10(3),
    L10(4), L10(4), L10(4), L10(4), L10(4), L10(4), L10(4), L10(4), L10(4), L10(4),
    L10(4), L10(4), L10(4), L10(4), L10(4), 4, 4, 4, 4, 4, 4,
#undef L10
};

/* Dotted quad: each octet as a 4-byte copy; writes at most 16 bytes. */
static uint8_t *put_ipv4(uint8_t *o, const uint8_t *a)
{
    for (int i = 0; i < 4; i++) {
        memcpy(o, octet_text[a[i]], 4);
        o += octet_len[a[i]];
    }
    return o - 1; /* no dot after the last octet */
}

static uint8_t *put_hex16(uint8_t *o, unsigned w)
{
    static const char hex[] = "0123456789abcdef";
    int shift = w >= 0x1000 ? 12 : w >= 0x100 ? 8 : w >= 0x10 ? 4 : 0;
    for (; shift >= 0; shift -= 4)
        *o++ = (uint8_t)hex[(w >> shift) & 0xf];
    return o;
}

uint8_t *ds_dns_addr_at(uint8_t *o, const uint8_t *a, size_t len)
{
    if (len == 4)
        return put_ipv4(o, a);
    unsigned w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    if (!w[0] && !w[1] && !w[2] && !w[3] && !w[4] && w[5] == 0xffff) {
        memcpy(o, "::ffff:", 7);
        return put_ipv4(o + 7, a + 12);
    }
    int best = -1, best_len = 1; /* runs of one group are not shortened */
    for (int i = 0; i < 8;) {
        if (w[i]) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && !w[j])
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    for (int i = 0; i < 8;) {
        if (i == best) {
            *o++ = ':';
            *o++ = ':';
            i += best_len;
            continue;
        }
        if (i && i != best + best_len)
            *o++ = ':';
        o = put_hex16(o, w[i]);
        i++;
    }
    return o;
}

size_t ds_dns_addr_text(const uint8_t *a, size_t len, char *buf)
{
    uint8_t *o = (uint8_t *)buf;
    if (len == 4 || len == 16)
        o = ds_dns_addr_at(o, a, len); /* at most 39 characters plus 1 of slack */
    *o = '\0';
    return (size_t)(o - (uint8_t *)buf);
}

/* ---- time ------------------------------------------------------------------------- */

void ds_dns_civil_utc(int64_t t, struct ds_dns_civil *out)
{
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    out->hour = (int)(rem / 3600);
    out->min = (int)(rem % 3600 / 60);
    out->sec = (int)(rem % 60);
    /* days since 1970-01-01 to a civil date, in 400-year eras starting on March 1st */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                 /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);          /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                               /* [0, 11], March = 0 */
    out->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    out->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    out->year = yoe + era * 400 + (out->mon <= 2);
}

const char ds_dns_digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

const uint64_t ds_dns_pow10[20] = {
    1u,
    10u,
    100u,
    1000u,
    10000u,
    100000u,
    1000000u,
    10000000u,
    100000000u,
    1000000000u,
    10000000000u,
    100000000000u,
    1000000000000u,
    10000000000000u,
    100000000000000u,
    1000000000000000u,
    10000000000000000u,
    100000000000000000u,
    1000000000000000000u,
    10000000000000000000u,
};

static char *put_2(char *o, unsigned v)
{
    memcpy(o, ds_dns_digit_pairs + 2 * v, 2);
    return o + 2;
}

void ds_dns_put_u64(struct ds_buf *b, uint64_t v)
{
    uint8_t *o = ds_buf_room(b, DS_DNS_NUM_ROOM);
    b->len = (size_t)(ds_dns_u64_at(o, v) - b->data);
}

void ds_dns_put_i64(struct ds_buf *b, int64_t v)
{
    uint8_t *o = ds_buf_room(b, DS_DNS_NUM_ROOM);
    b->len = (size_t)(ds_dns_i64_at(o, v) - b->data);
}

/* "YYYY-MM-DDTHH:MM:SS" of one second (19 characters for years 0..9999, more after). */
static size_t format_second(char *o, int64_t sec)
{
    struct ds_dns_civil c;
    char *start = o;
    ds_dns_civil_utc(sec, &c);
    if (c.year >= 0 && c.year < 10000) {
        o = put_2(o, (unsigned)c.year / 100);
        o = put_2(o, (unsigned)c.year % 100);
    } else {
        char tmp[24];
        int n = 0;
        uint64_t y = c.year < 0 ? (uint64_t)0 - (uint64_t)c.year : (uint64_t)c.year;
        if (c.year < 0)
            *o++ = '-';
        do
            tmp[n++] = (char)('0' + y % 10);
        while (y /= 10);
        while (n)
            *o++ = tmp[--n];
    }
    *o++ = '-';
    o = put_2(o, (unsigned)c.mon);
    *o++ = '-';
    o = put_2(o, (unsigned)c.mday);
    *o++ = 'T';
    o = put_2(o, (unsigned)c.hour);
    *o++ = ':';
    o = put_2(o, (unsigned)c.min);
    *o++ = ':';
    o = put_2(o, (unsigned)c.sec);
    return (size_t)(o - start);
}

/* The text of recent seconds formatted by this thread, direct-mapped by the low bits of
 * the second: consecutive seconds never evict each other, and a lookup is one compare.
 * An encoder writes two or three times per event (capture time, event time, query time)
 * that usually fall in a few different seconds.  The text is padded to 32 bytes so that
 * a hit is one fixed-size copy (at most 22 characters: the year of a second below 2^45
 * has at most 7 digits). */
#define SEC_CACHE 16 /* a power of two */
struct sec_text {
    int64_t sec; /* -1: empty */
    size_t len;
    char text[32];
};
static _Thread_local struct sec_text sec_cache[SEC_CACHE] = {
    {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""},
    {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""},
    {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""}, {-1, 0, ""},
};

#if defined(__GNUC__)
#define NAMES_COLD __attribute__((cold, noinline))
#else
#define NAMES_COLD
#endif

/* The cached text of the second, then ".uuuuuuZ". */
static inline uint8_t *put_time_text(uint8_t *o, const struct sec_text *t, unsigned frac)
{
    memcpy(o, t->text, sizeof(t->text));
    o += t->len;
    o[0] = '.';
    unsigned hi = frac / 10000, mid = frac / 100 % 100, lo = frac % 100;
    memcpy(o + 1, ds_dns_digit_pairs + 2 * hi, 2);
    memcpy(o + 3, ds_dns_digit_pairs + 2 * mid, 2);
    memcpy(o + 5, ds_dns_digit_pairs + 2 * lo, 2);
    o[7] = 'Z';
    return o + 8;
}

/* A miss: format the second into its slot.  Out of line and entered by a tail call, so
 * the hit path saves no registers. */
static NAMES_COLD uint8_t *rfc3339_miss(uint8_t *o, struct sec_text *e, uint64_t sec,
                                        unsigned frac)
{
    e->len = format_second(e->text, (int64_t)sec);
    e->sec = (int64_t)sec;
    return put_time_text(o, e, frac);
}

uint8_t *ds_dns_rfc3339_at(uint8_t *o, uint64_t sec, uint32_t usec)
{
    struct sec_text *e = &sec_cache[sec % SEC_CACHE];
    if (e->sec != (int64_t)sec)
        return rfc3339_miss(o, e, sec, usec);
    return put_time_text(o, e, usec);
}

uint8_t *ds_dns_rfc3339_us_at(uint8_t *o, uint64_t us)
{
    uint64_t sec = us / 1000000u; /* < 2^45: always fits */
    return ds_dns_rfc3339_at(o, sec, (uint32_t)(us - sec * 1000000u));
}

void ds_dns_put_rfc3339_us(struct ds_buf *b, uint64_t us)
{
    uint8_t *o = ds_buf_room(b, DS_DNS_TIME_ROOM);
    b->len = (size_t)(ds_dns_rfc3339_us_at(o, us) - b->data);
}
