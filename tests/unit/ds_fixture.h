/*
 * ds_fixture.h - the captures in shared/fixtures as frames, for the unit tests.
 *
 * A *.lp16 capture is a stream of 2-byte big-endian lengths, each followed by one
 * PowerDNS protobuf message.  ds_fixture_load reads one and records where each
 * message starts (off, after its prefix) and how long it is (flen).  The caller owns
 * data (free it).  Header-only; tests are single-threaded.
 */
#ifndef DS_FIXTURE_H
#define DS_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DS_FIXTURE_MAX_FRAMES 64

struct ds_fixture {
    uint8_t *data;
    size_t len; /* bytes, prefixes included */
    size_t n;   /* frames */
    size_t off[DS_FIXTURE_MAX_FRAMES], flen[DS_FIXTURE_MAX_FRAMES];
};

/* 0, or -1 when the file is missing or does not end on a frame boundary. */
static inline int ds_fixture_load(const char *name, struct ds_fixture *f)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/fixtures/%s", DS_SHARED_DIR, name);
    memset(f, 0, sizeof(*f));
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    f->data = malloc(1 << 20);
    f->len = fread(f->data, 1, 1 << 20, fp);
    fclose(fp);
    size_t i = 0;
    while (i + 2 <= f->len && f->n < DS_FIXTURE_MAX_FRAMES) {
        size_t l = (size_t)f->data[i] << 8 | f->data[i + 1];
        if (i + 2 + l > f->len)
            return -1;
        f->off[f->n] = i + 2;
        f->flen[f->n++] = l;
        i += 2 + l;
    }
    return i == f->len ? 0 : -1;
}

#endif
