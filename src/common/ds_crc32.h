/*
 * ds_crc32.h - CRC-32 (the checksum of zlib, gzip and Ethernet: reflected polynomial
 * 0xEDB88320), the same values as zlib's crc32().
 *
 * Why not zlib's alone: the queue file checksums every record (about 150 bytes with its
 * header) on the input thread, and zlib 1.2.13's crc32 takes about 250 ns for that on the
 * benchmark machine (its braided loop pays a fixed cost to combine five lanes, and the
 * bytes around them go one at a time); slice-by-16 here takes about 80.  From 1 KiB on
 * zlib is the faster and is called.  The values are zlib's, so queue files are unchanged;
 * test_qfile checks them against zlib.
 *
 * Ownership and threads: no state (the tables are constant); any thread may call it.
 */
#ifndef DS_CRC32_H
#define DS_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue the CRC crc (0 to start) over p[0..n), as zlib's crc32(crc, p, n) does. */
uint32_t ds_crc32(uint32_t crc, const void *p, size_t n);

#endif
