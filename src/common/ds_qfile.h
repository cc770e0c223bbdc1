/*
 * ds_qfile.h - the byte layout of ring records and of the queue file, and the salvage
 * scan that finds the valid records in a (possibly damaged) data area.
 *
 * Purpose: ds_ring.c stores records in this layout both in memory and in the queue
 * file (queue-recovery on); this module knows the layout, the checksums and how to
 * recover a chain of records after a crash, a power loss or outside damage.  The full
 * description, with the guarantees, is docs/queue.md.
 *
 *   file offset 0      superblock copy 0   (struct ds_qf_super, rest of 4 KiB zero)
 *               4096   superblock copy 1
 *               8192   cursor slots: DS_QF_MAX_SLOTS pairs of 128-byte copies
 *               24576  data area: `capacity` bytes, records at 8-byte aligned offsets
 *
 * A record is a 32-byte header (struct ds_qf_rec) and its payload padded to 8 bytes;
 * records never wrap around the end of the data area.  A skip marker (len ==
 * DS_QF_SKIP, crc field = bytes to skip: two words, the count, then DS_QF_SKIP) fills
 * the unused end of a lap and covers damaged bytes after a salvage.  Positions are 64-bit virtual byte offsets that only
 * grow: the physical offset is pos % capacity.
 *
 * Ownership: nothing here allocates; every function works on memory the caller owns
 * (ds_qf_scan calls the caller's callbacks).  Threads: no state; the caller serialises
 * access to the memory it passes.
 */
#ifndef DS_QFILE_H
#define DS_QFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DS_QF_MAGIC "DSQUEUE1"
#define DS_QF_VERSION 2u /* 1: crc after len, covering payload, header 8..31, 0..3 */
#define DS_QF_SUPER_STRIDE 4096u
#define DS_QF_SLOT_OFF 8192u
#define DS_QF_SLOT_SIZE 128u
#define DS_QF_MAX_SLOTS 64
#define DS_QF_DATA_OFF 24576u /* DS_QF_SLOT_OFF + DS_QF_MAX_SLOTS * 2 * DS_QF_SLOT_SIZE */
#define DS_QF_NAME_MAX 104u   /* stored cursor name bytes (longer names are hashed) */

#define DS_QF_REC_HDR 32u
#define DS_QF_SKIP 0xffffffffu /* ds_qf_rec.len of a skip marker */
#define DS_QF_MIN_CAPACITY 4096u

/* Record header, native byte order (the file is not meant to move between machines
 * of different endianness).  The checksum comes first so that it covers one
 * contiguous range: the rest of the header and the payload. */
struct ds_qf_rec {
    uint32_t crc;        /* zlib crc32 of bytes 4 .. 32 + len of the record (the rest of
                          * the header, then the payload); 0 in a memory-only ring;
                          * bytes to skip for a marker */
    uint32_t len;        /* payload bytes, or DS_QF_SKIP */
    uint64_t seq;
    uint64_t time_us;
    uint32_t route_mask;
    uint16_t input_id;
    uint8_t kind;        /* enum ds_rec_kind */
    uint8_t flags;       /* 0 */
};
_Static_assert(sizeof(struct ds_qf_rec) == DS_QF_REC_HDR, "record header layout");
#define DS_QF_CRC_FROM 4u /* the record checksum covers the bytes from here on */

struct ds_qf_super {
    char magic[8];
    uint32_t version;
    uint32_t data_off;
    uint64_t capacity;
    uint64_t gen;       /* the copy with the higher gen (and a good crc) is current */
    uint64_t head_pos;  /* oldest retained record (or marker before it) */
    uint64_t head_seq;  /* its seq; next_seq when the ring is empty */
    uint64_t tail_pos;  /* end of the records as of the last superblock write (a hint) */
    uint64_t next_seq;  /* next seq as of the last superblock write (a lower bound) */
    uint64_t created_us;
    uint32_t flags;     /* DS_QF_CLEAN after a clean close */
    uint32_t crc;       /* crc32 of the bytes before it */
};
#define DS_QF_CLEAN 1u

struct ds_qf_slot {
    uint64_t gen;
    uint64_t released; /* the cursor released every seq <= released */
    uint32_t crc;      /* crc32 of the slot with this field zero */
    uint16_t name_len;
    uint16_t reserved;
    char name[DS_QF_NAME_MAX];
};
_Static_assert(sizeof(struct ds_qf_slot) == DS_QF_SLOT_SIZE, "slot layout");

static inline uint64_t ds_qf_rec_size(uint32_t len)
{
    return DS_QF_REC_HDR + (((uint64_t)len + 7u) & ~(uint64_t)7u);
}

/* crc32 of a byte range (cursor names). */
uint32_t ds_qf_payload_crc(const void *data, size_t len);
/* The record checksum of the record that starts at rec: one crc32 over its header
 * after the crc field and its payload, which follows the header in memory (the len
 * field says how long it is).  The crc field itself is not read. */
uint32_t ds_qf_rec_crc(const void *rec);

/* Superblock: load the current copy (returns how many copies were valid, 0..2; *out
 * is the current one), and store a new state into the older copy (sb->gen is bumped,
 * sb->crc computed).  base is the start of the file mapping (at least DS_QF_DATA_OFF
 * bytes, or avail bytes for a load: a copy beyond avail counts as invalid). */
int ds_qf_super_load(const uint8_t *base, uint64_t avail, struct ds_qf_super *out);
void ds_qf_super_store(uint8_t *base, struct ds_qf_super *sb);
/* The format version of an intact superblock copy (magic and crc good) of a version
 * other than DS_QF_VERSION, 0 when there is none: a queue file of another format. */
uint32_t ds_qf_super_other_version(const uint8_t *base, uint64_t avail);

/* Cursor slots.  The key of a name is the name itself when it fits, else a prefix and
 * a crc32 of the whole name.  load returns 1 when a valid copy exists (*out filled),
 * 0 when both copies are empty (all zero), -1 when they hold garbage.  store writes the
 * older copy with gen+1. */
void ds_qf_name_key(const char *name, char key[DS_QF_NAME_MAX], uint16_t *key_len);
int ds_qf_slot_load(const uint8_t *base, uint64_t avail, int i, struct ds_qf_slot *out);
void ds_qf_slot_store(uint8_t *base, int i, struct ds_qf_slot *s);
void ds_qf_slot_clear(uint8_t *base, int i);

/* ---- the salvage scan ---------------------------------------------------------- */

struct ds_qf_scan_cb {
    void *arg;
    /* A valid record, in chain order (increasing seq). */
    void (*record)(void *arg, uint64_t pos, const struct ds_qf_rec *h, const uint8_t *payload);
    /* Damaged bytes [pos, pos+len) between records (virtual positions; the region may
     * cross the end of the data area).  May be NULL. */
    void (*damage)(void *arg, uint64_t pos, uint64_t len);
};

struct ds_qf_scan_in {
    const uint8_t *data; /* data area */
    uint64_t capacity;   /* its size (a multiple of 8) */
    uint64_t avail;      /* bytes of it that exist (a truncated file); the rest is absent */
    uint64_t start_pos;  /* where the chain should begin (superblock head) */
    uint64_t min_seq;    /* the first seq expected; lower seqs are stale */
    bool start_known;    /* false: look for the lowest seq >= min_seq in the whole lap */
    uint64_t tail_hint;  /* records are known to reach at least this far (0: unknown) */
};

struct ds_qf_scan_out {
    uint64_t head_pos;     /* first record (start_pos when none) */
    uint64_t tail_pos;     /* end of the last valid record */
    uint64_t first_seq, last_seq;
    uint64_t records;
    uint64_t record_bytes; /* bytes from head_pos to tail_pos */
    uint64_t damaged_bytes;
    uint64_t damaged_regions;
};

/* Walk the chain of records from start_pos: each must carry a good checksum and the
 * next seq.  Skip markers are followed.  Where the chain breaks, the rest of the lap
 * is searched for the valid record with the lowest seq >= the expected one; the bytes
 * in between are reported as damage and the chain continues there.  The chain ends
 * when no such record exists; bytes up to tail_hint beyond that end are damage too.
 * Never reads outside [data, data + min(capacity, avail)). */
void ds_qf_scan(const struct ds_qf_scan_in *in, const struct ds_qf_scan_cb *cb,
                struct ds_qf_scan_out *out);

/* Whether a valid record starts at pos (checksum included) with seq >= min_seq;
 * *h receives its header. */
bool ds_qf_rec_valid(const uint8_t *data, uint64_t capacity, uint64_t avail, uint64_t pos,
                     uint64_t min_seq, struct ds_qf_rec *h);

#endif
