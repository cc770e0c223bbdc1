/*
 * encbench.c - in-process cost of the hot-path decoders and encoders, per event.
 *
 * Usage: encbench [-n ROUNDS] FILE.lp16 [FILE.lp16 ...]
 *   Loads the length-prefixed PowerDNS messages of the files and calls, ROUNDS times
 *   over all of them in turn: ds_pb_validate, ds_pb_scan, ds_enc_json, ds_enc_bind and
 *   ds_enc_pdns.  Prints nanoseconds per message for each (the wall clock of the whole
 *   loop divided by the calls; one thread, nothing else running in the process) and the
 *   average JSON size.  A profiler or valgrind can be pointed at it without sockets.
 *
 * Used by bench/run's notes and by whoever changes ds_pb.c or the encoders: run it before
 * and after, on the same machine, a few times.  Single-threaded; owns everything it loads.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds_buf.h"
#include "ds_enc.h"
#include "ds_pb.h"

#define MAX_MSGS 4096

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t load(const char *path, uint8_t **data, size_t *offs, size_t *lens, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "encbench: cannot open %s\n", path);
        exit(2);
    }
    uint8_t *d = malloc(1 << 22);
    if (!d)
        exit(2);
    size_t len = fread(d, 1, 1 << 22, fp), i = 0;
    fclose(fp);
    while (i + 2 <= len && n < MAX_MSGS) {
        size_t l = (size_t)d[i] << 8 | d[i + 1];
        if (i + 2 + l > len) {
            fprintf(stderr, "encbench: %s: truncated frame at byte %zu\n", path, i);
            exit(2);
        }
        data[n] = d;
        offs[n] = i + 2;
        lens[n] = l;
        n++;
        i += 2 + l;
    }
    return n;
}

int main(int argc, char **argv)
{
    long rounds = 20000;
    int a = 1;
    if (a + 1 < argc && strcmp(argv[a], "-n") == 0) {
        rounds = atol(argv[a + 1]);
        a += 2;
    }
    if (a >= argc || rounds <= 0) {
        fprintf(stderr, "usage: encbench [-n ROUNDS] FILE.lp16 [...]\n");
        return 2;
    }
    static uint8_t *data[MAX_MSGS];
    static size_t offs[MAX_MSGS], lens[MAX_MSGS];
    size_t n = 0;
    for (; a < argc; a++)
        n = load(argv[a], data, offs, lens, n);
    if (!n) {
        fprintf(stderr, "encbench: no messages\n");
        return 2;
    }
    struct ds_rec *recs = calloc(n, sizeof(*recs));
    if (!recs)
        return 2;
    for (size_t i = 0; i < n; i++) {
        recs[i] = (struct ds_rec){.seq = i + 1, .time_us = 1795000000000000ull + i * 37,
                                  .kind = DS_REC_PDNS, .len = (uint32_t)lens[i],
                                  .data = data[i] + offs[i]};
        if (ds_pb_validate(recs[i].data, recs[i].len) != DS_OK) {
            fprintf(stderr, "encbench: message %zu does not validate\n", i);
            return 1;
        }
    }
    struct ds_buf b = {0};
    struct ds_enc_ctx ctx = {.instance = NULL, .hostname = "bench"};
    volatile unsigned sink = 0;
    unsigned long total = (unsigned long)rounds * n;
    size_t json_bytes = 0;

    const char *names[] = {"validate", "scan", "json", "bind", "pdns16"};
    for (int which = 0; which < 5; which++) {
        double t0 = now_s();
        for (long r = 0; r < rounds; r++) {
            for (size_t i = 0; i < n; i++) {
                const struct ds_rec *rec = &recs[i];
                struct ds_pb_msg m;
                switch (which) {
                case 0: sink += (unsigned)ds_pb_validate(rec->data, rec->len); break;
                case 1: sink += (unsigned)ds_pb_scan(rec->data, rec->len, &m) + m.type; break;
                case 2:
                    if (b.len > (1u << 20))
                        b.len = 0;
                    sink += (unsigned)ds_enc_json(&b, rec, &ctx);
                    if (r == 0)
                        json_bytes += b.len;
                    b.len = 0;
                    break;
                case 3: b.len = 0; sink += (unsigned)ds_enc_bind(&b, rec, &ctx); break;
                default: b.len = 0; sink += (unsigned)ds_enc_pdns(&b, rec, 16); break;
                }
            }
        }
        double dt = now_s() - t0;
        printf("%-9s %8.1f ns/message\n", names[which], dt * 1e9 / (double)total);
    }
    printf("messages  %zu, JSON %.1f bytes/message on average, %ld rounds\n", n,
           (double)json_bytes / (double)n, rounds);
    ds_buf_free(&b);
    free(recs);
    return sink == 0xffffffffu;
}
