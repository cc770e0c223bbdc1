/* ds_dns_names.c - shared text forms for the encoders.  See ds_dns_names.h. */
#include "ds_dns_names.h"

#include <string.h>

const char *ds_dns_qtype_name(uint32_t t)
{
    switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 3: return "MD";
    case 4: return "MF";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 7: return "MB";
    case 8: return "MG";
    case 9: return "MR";
    case 10: return "NULL";
    case 11: return "WKS";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 14: return "MINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 17: return "RP";
    case 18: return "AFSDB";
    case 19: return "X25";
    case 20: return "ISDN";
    case 21: return "RT";
    case 22: return "NSAP";
    case 23: return "NSAP-PTR";
    case 24: return "SIG";
    case 25: return "KEY";
    case 26: return "PX";
    case 27: return "GPOS";
    case 28: return "AAAA";
    case 29: return "LOC";
    case 30: return "NXT";
    case 31: return "EID";
    case 32: return "NIMLOC";
    case 33: return "SRV";
    case 34: return "ATMA";
    case 35: return "NAPTR";
    case 36: return "KX";
    case 37: return "CERT";
    case 38: return "A6";
    case 39: return "DNAME";
    case 40: return "SINK";
    case 41: return "OPT";
    case 42: return "APL";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 45: return "IPSECKEY";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 49: return "DHCID";
    case 50: return "NSEC3";
    case 51: return "NSEC3PARAM";
    case 52: return "TLSA";
    case 53: return "SMIMEA";
    case 55: return "HIP";
    case 56: return "NINFO";
    case 57: return "RKEY";
    case 58: return "TALINK";
    case 59: return "CDS";
    case 60: return "CDNSKEY";
    case 61: return "OPENPGPKEY";
    case 62: return "CSYNC";
    case 63: return "ZONEMD";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 99: return "SPF";
    case 100: return "UINFO";
    case 101: return "UID";
    case 102: return "GID";
    case 103: return "UNSPEC";
    case 104: return "NID";
    case 105: return "L32";
    case 106: return "L64";
    case 107: return "LP";
    case 108: return "EUI48";
    case 109: return "EUI64";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 253: return "MAILB";
    case 254: return "MAILA";
    case 255: return "ANY";
    case 256: return "URI";
    case 257: return "CAA";
    case 258: return "AVC";
    case 259: return "DOA";
    case 260: return "AMTRELAY";
    case 32768: return "TA";
    case 32769: return "DLV";
    default: return NULL;
    }
}

const char *ds_dns_class_name(uint32_t c)
{
    switch (c) {
    case 1: return "IN";
    case 3: return "CH";
    case 4: return "HS";
    case 254: return "NONE";
    case 255: return "ANY";
    default: return NULL;
    }
}

const char *ds_dns_rcode_name(uint32_t r)
{
    static const char *const names[] = {
        "NOERROR", "FORMERR",  "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
        "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "DSOTYPENI",
    };
    static const char *const ext[] = {
        "BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE",
    };
    if (r < sizeof(names) / sizeof(names[0]))
        return names[r];
    if (r >= 16 && r < 16 + sizeof(ext) / sizeof(ext[0]))
        return ext[r - 16];
    if (r == 65536)
        return "NETWORK_ERROR";
    return NULL;
}

static void put_named(struct ds_buf *b, const char *name, const char *prefix, uint32_t v)
{
    if (name) {
        ds_buf_puts(b, name);
    } else {
        ds_buf_puts(b, prefix);
        ds_dns_put_u64(b, v);
    }
}

void ds_dns_put_qtype(struct ds_buf *b, uint32_t t)
{
    put_named(b, ds_dns_qtype_name(t), "TYPE", t);
}

void ds_dns_put_class(struct ds_buf *b, uint32_t c)
{
    put_named(b, ds_dns_class_name(c), "CLASS", c);
}

void ds_dns_put_rcode(struct ds_buf *b, uint32_t r)
{
    put_named(b, ds_dns_rcode_name(r), "RCODE", r);
}


#define NAME_AT(tab, v) ((v) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[v] : NULL)

const char *ds_dns_pb_type_name(uint32_t v)
{
    static const char *const t[] = {NULL, "DNSQueryType", "DNSResponseType",
                                    "DNSOutgoingQueryType", "DNSIncomingResponseType",
                                    "InternalType"};
    return NAME_AT(t, v);
}

const char *ds_dns_pb_family_name(uint32_t v)
{
    static const char *const t[] = {NULL, "INET", "INET6"};
    return NAME_AT(t, v);
}

const char *ds_dns_pb_protocol_name(uint32_t v)
{
    static const char *const t[] = {NULL,          "UDP",         "TCP", "DOT", "DOH",
                                    "DNSCryptUDP", "DNSCryptTCP", "DOQ"};
    return NAME_AT(t, v);
}

const char *ds_dns_pb_http_name(uint32_t v)
{
    static const char *const t[] = {NULL, "HTTP1", "HTTP2", "HTTP3"};
    return NAME_AT(t, v);
}

const char *ds_dns_pb_policy_type_name(uint32_t v)
{
    static const char *const t[] = {NULL,         "UNKNOWN", "QNAME", "CLIENTIP",
                                    "RESPONSEIP", "NSDNAME", "NSIP"};
    return NAME_AT(t, v);
}

const char *ds_dns_pb_policy_kind_name(uint32_t v)
{
    static const char *const t[] = {NULL,     "NoAction", "Drop",  "NXDOMAIN",
                                    "NODATA", "Truncate", "Custom"};
    return NAME_AT(t, v);
}

const char *ds_dns_pb_vstate_name(uint32_t v)
{
    static const char *const t[] = {
        NULL,
        "Indeterminate",
        "Insecure",
        "Secure",
        "BogusNoValidDNSKEY",
        "BogusInvalidDenial",
        "BogusUnableToGetDSs",
        "BogusUnableToGetDNSKEYs",
        "BogusSelfSignedDS",
        "BogusNoRRSIG",
        "BogusNoValidRRSIG",
        "BogusMissingNegativeIndication",
        "BogusSignatureNotYetValid",
        "BogusSignatureExpired",
        "BogusUnsupportedDNSKEYAlgo",
        "BogusUnsupportedDSDigestType",
        "BogusNoZoneKeyBitSet",
        "BogusRevokedDNSKEY",
        "BogusInvalidDNSKEYProtocol",
    };
    return NAME_AT(t, v);
}

const char *ds_dns_pb_event_name(uint32_t v)
{
    static const char *const low[] = {"CustomEvent", "ReqRecv", "PCacheCheck", "AnswerSent"};
    static const char *const lua[] = {
        "SyncRes",        "LuaGetTag",      "LuaGetTagFFI", "LuaIPFilter",
        "LuaPreRPZ",      "LuaPreResolve",  "LuaPreOutQuery", "LuaPostResolve",
        "LuaNoData",      "LuaNXDomain",    "LuaPostResolveFFI",
    };
    if (v < 4)
        return low[v];
    if (v >= 100 && v - 100 < sizeof(lua) / sizeof(lua[0]))
        return lua[v - 100];
    if (v == 120)
        return "AuthRequest";
    return NULL;
}

/* ---- addresses ------------------------------------------------------------------- */

static char *put_dec_u8(char *o, unsigned v)
{
    if (v >= 100) {
        *o++ = (char)('0' + v / 100);
        v %= 100;
        *o++ = (char)('0' + v / 10);
        *o++ = (char)('0' + v % 10);
    } else if (v >= 10) {
        *o++ = (char)('0' + v / 10);
        *o++ = (char)('0' + v % 10);
    } else {
        *o++ = (char)('0' + v);
    }
    return o;
}

static char *put_ipv4(char *o, const uint8_t *a)
{
    for (int i = 0; i < 4; i++) {
        if (i)
            *o++ = '.';
        o = put_dec_u8(o, a[i]);
    }
    return o;
}

static char *put_hex16(char *o, unsigned w)
{
    static const char hex[] = "0123456789abcdef";
    int started = 0;
    for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned d = (w >> shift) & 0xf;
        if (d || started || shift == 0) {
            *o++ = hex[d];
            started = 1;
        }
    }
    return o;
}

size_t ds_dns_addr_text(const uint8_t *a, size_t len, char *buf)
{
    char *o = buf;
    if (len == 4) {
        o = put_ipv4(o, a);
    } else if (len == 16) {
        unsigned w[8];
        for (int i = 0; i < 8; i++)
            w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        if (!w[0] && !w[1] && !w[2] && !w[3] && !w[4] && w[5] == 0xffff) {
            memcpy(o, "::ffff:", 7);
            o = put_ipv4(o + 7, a + 12);
        } else {
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
        }
    }
    *o = '\0';
    return (size_t)(o - buf);
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

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

static char *put_2(char *o, unsigned v)
{
    memcpy(o, digit_pairs + 2 * v, 2);
    return o + 2;
}

void ds_dns_put_u64(struct ds_buf *b, uint64_t v)
{
    char tmp[20];
    char *o = tmp + sizeof(tmp);
    while (v >= 100) {
        o -= 2;
        memcpy(o, digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        o -= 2;
        memcpy(o, digit_pairs + 2 * v, 2);
    } else {
        *--o = (char)('0' + v);
    }
    ds_buf_append(b, o, (size_t)(tmp + sizeof(tmp) - o));
}

void ds_dns_put_i64(struct ds_buf *b, int64_t v)
{
    if (v < 0) {
        ds_buf_putc(b, '-');
        ds_dns_put_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        ds_dns_put_u64(b, (uint64_t)v);
    }
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

/* The text of the last few seconds formatted by this thread.  An encoder writes two or
 * three times per event (capture time, event time, query time) that usually fall in two
 * different seconds, so one entry would be replaced at every call. */
#define SEC_CACHE 4
struct sec_text {
    int64_t sec;
    size_t len;
    char text[32];
};
static _Thread_local struct sec_text sec_cache[SEC_CACHE] = {{-1, 0, ""}, {-1, 0, ""},
                                                             {-1, 0, ""}, {-1, 0, ""}};
static _Thread_local unsigned sec_victim;

static const struct sec_text *second_text(int64_t sec)
{
    for (unsigned i = 0; i < SEC_CACHE; i++)
        if (sec_cache[i].sec == sec)
            return &sec_cache[i];
    struct sec_text *e = &sec_cache[sec_victim];
    sec_victim = (sec_victim + 1) % SEC_CACHE;
    e->len = format_second(e->text, sec);
    e->sec = sec;
    return e;
}

void ds_dns_put_rfc3339_us(struct ds_buf *b, uint64_t us)
{
    int64_t sec = (int64_t)(us / 1000000u); /* < 2^45: always fits */
    unsigned frac = (unsigned)(us % 1000000u);
    const struct sec_text *t = second_text(sec);
    ds_buf_grow(b, t->len + 8);
    char *o = (char *)b->data + b->len;
    memcpy(o, t->text, t->len);
    o += t->len;
    *o++ = '.';
    o = put_2(o, frac / 10000);
    o = put_2(o, frac / 100 % 100);
    o = put_2(o, frac % 100);
    *o++ = 'Z';
    b->len = (size_t)(o - (char *)b->data);
}
