/*
 * ds_rec.h - the canonical event record as producers hand it in and consumers see it.
 *
 * Every event is stored once, as PowerDNS protobuf bytes (kind DS_REC_PDNS) plus a
 * small header; the periodic metrics event is a record of its own (kind
 * DS_REC_METRICS, payload: one JSON object, UTF-8, no newline).  The ring owns the
 * bytes; a struct ds_rec only points into it and is valid until the consumer
 * releases the record (ds_ring_release).  Plain data, no functions, no threads.
 */
#ifndef DS_REC_H
#define DS_REC_H

#include <stdint.h>

enum ds_rec_kind { DS_REC_PDNS = 1, DS_REC_METRICS = 2 };

/* Largest payload accepted into the ring (PowerDNS senders cap messages at 65535). */
#define DS_REC_MAX_PAYLOAD (1u << 20)

/* What a producer appends. */
struct ds_rec_in {
    const uint8_t *data;
    uint32_t len;
    uint8_t kind;        /* enum ds_rec_kind */
    uint16_t input_id;   /* index of the input in the configuration, 0xffff: internal */
    uint32_t route_mask; /* routes matched at ingest; all ones when no routes exist */
    uint64_t time_us;    /* capture time, microseconds since the epoch */
};

/* What a consumer reads. */
struct ds_rec {
    uint64_t seq; /* assigned by the ring at append: 1, 2, 3, ... never reused */
    uint64_t time_us;
    uint32_t route_mask;
    uint16_t input_id;
    uint8_t kind;
    uint32_t len;
    /* Bytes after data + len that the consumer may read too, at most 64: initialised
     * bytes of the ring that do not change while the record is held (padding, markers and
     * the records after it in the same read batch); 0 when nothing is known. */
    uint32_t after;
    const uint8_t *data;
};

#endif
