/* test_media_bombs.h - hostile inputs for the media limits, made at test time (nothing big is
 * kept in the repository): a decompression-bomb PNG (a huge 1-bit picture of zeros, deflated by
 * hand at deflate's best ratio), zips of zeros (a zip bomb; optionally with headers that lie about
 * the sizes) and zips of many tiny members. Used by test_media_limits.c and e2e_media_limits.c.
 * Header-only (static inline), like testutil.h. Threads: one. */
#ifndef VAS_TEST_MEDIA_BOMBS_H
#define VAS_TEST_MEDIA_BOMBS_H

#include <archive.h>
#include <archive_entry.h>
#include <libavutil/crc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LSB-first bit writer for a deflate stream. */
typedef struct tb_bits {
    uint8_t *p;
    size_t n, cap;
    uint32_t acc;
    int nacc;
} tb_bits;

static inline void tb_put(tb_bits *b, uint32_t v, int n)
{
    b->acc |= v << b->nacc;
    b->nacc += n;
    while (b->nacc >= 8) {
        if (b->n < b->cap)
            b->p[b->n] = (uint8_t)b->acc;
        b->n++;
        b->acc >>= 8;
        b->nacc -= 8;
    }
}

/* A Huffman code goes out most significant bit first. */
static inline void tb_code(tb_bits *b, uint32_t code, int n)
{
    for (int i = n - 1; i >= 0; i--)
        tb_put(b, (code >> i) & 1, 1);
}

/* The header of a dynamic-Huffman block whose only symbols are literal 0 (code 10), end of
 * block (11), length 258 (0) and distance 1 (0): the code lengths [2, 0 x 255, 2, 0 x 28, 1]
 * and [1], run-length coded with the code-length codes 18 (0), 1 (10) and 2 (11). */
static inline void tb_dyn_header(tb_bits *b)
{
    static const uint8_t clen[19] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0};

    tb_put(b, 1, 1);  /* BFINAL */
    tb_put(b, 2, 2);  /* dynamic Huffman */
    tb_put(b, 29, 5); /* HLIT: 286 literal/length codes */
    tb_put(b, 0, 5);  /* HDIST: 1 distance code */
    tb_put(b, 14, 4); /* HCLEN: 18 code-length code lengths, in RFC 1951's order */
    for (int i = 0; i < 18; i++)
        tb_put(b, clen[i], 3);
    tb_code(b, 3, 2); /* literal 0: length 2 */
    tb_code(b, 0, 1); /* 138 zeros */
    tb_put(b, 127, 7);
    tb_code(b, 0, 1); /* 117 zeros */
    tb_put(b, 106, 7);
    tb_code(b, 3, 2); /* 256: length 2 */
    tb_code(b, 0, 1); /* 28 zeros */
    tb_put(b, 17, 7);
    tb_code(b, 2, 2); /* 285: length 1 */
    tb_code(b, 2, 2); /* distance 0: length 1 */
}

/* zlib stream of n zero bytes at deflate's best ratio: a literal 0, then matches of 258 at
 * distance 1, 2 bits each (1032:1). Returns the bytes written to out (cap), or 0. */
static inline size_t tb_zlib_zeros(uint64_t n, uint8_t *out, size_t cap)
{
    tb_bits b = {out, 0, cap, 0, 0};
    uint64_t left = n;
    uint32_t adler = (uint32_t)((n % 65521) << 16 | 1);

    tb_put(&b, 0x78, 8);
    tb_put(&b, 0x01, 8);
    tb_dyn_header(&b);
    if (left > 0) {
        tb_code(&b, 2, 2); /* literal 0 */
        left--;
    }
    for (; left >= 258; left -= 258)
        tb_code(&b, 0, 2); /* length 258, distance 1 */
    for (; left > 0; left--)
        tb_code(&b, 2, 2);
    tb_code(&b, 3, 2); /* end of block */
    if (b.nacc)
        tb_put(&b, 0, 8 - b.nacc);
    for (int i = 3; i >= 0; i--)
        tb_put(&b, (adler >> (8 * i)) & 0xff, 8);
    return b.n <= cap ? b.n : 0;
}

static inline void tb_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One PNG chunk (length, type, data, CRC) to f. */
static inline int tb_chunk(FILE *f, const char *type, const uint8_t *d, size_t n)
{
    const AVCRC *t = av_crc_get_table(AV_CRC_32_IEEE_LE);
    uint8_t len[4], crc[4];
    uint32_t c = av_crc(t, 0xffffffffu, (const uint8_t *)type, 4);

    c = (n > 0 ? av_crc(t, c, d, n) : c) ^ 0xffffffffu;
    tb_be32(len, (uint32_t)n);
    tb_be32(crc, c);
    return fwrite(len, 1, 4, f) == 4 && fwrite(type, 1, 4, f) == 4 &&
                   (n == 0 || fwrite(d, 1, n, f) == n) && fwrite(crc, 1, 4, f) == 4
               ? 0
               : -1;
}

/* A valid w x h 1-bit greyscale PNG, all black: w * h / 8 bytes of pixels deflated ~1000:1
 * (20000 x 20000 is 50 MB of pixels in a 48 KB file). 0 ok, -1 failed. Its size into *bytes. */
static inline int tb_png_bomb(const char *path, uint32_t w, uint32_t h, long *bytes)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint64_t raw = (uint64_t)h * (1 + (w + 7) / 8); /* a filter byte per row */
    size_t cap = (size_t)(raw / 1000 + 64), n;
    uint8_t ihdr[13] = {0}, *z = malloc(cap);
    FILE *f = fopen(path, "wb");
    int rc = -1;

    tb_be32(ihdr, w);
    tb_be32(ihdr + 4, h);
    ihdr[8] = 1; /* bit depth; colour type 0 (grey), deflate, filter 0, no interlace */
    n = z ? tb_zlib_zeros(raw, z, cap) : 0;
    if (f && n > 0 && fwrite(sig, 1, 8, f) == 8 && tb_chunk(f, "IHDR", ihdr, 13) == 0 &&
        tb_chunk(f, "IDAT", z, n) == 0 && tb_chunk(f, "IEND", NULL, 0) == 0)
        rc = 0;
    if (f && bytes)
        *bytes = ftell(f);
    if (f && fclose(f) != 0)
        rc = -1;
    free(z);
    return rc;
}

/* Overwrites the uncompressed size of every local header, data descriptor and central
 * directory entry of the zip at path with `size`: headers that lie. 0 ok, -1 failed. */
static inline int tb_zip_lie(const char *path, uint32_t size)
{
    FILE *f = fopen(path, "r+b");
    long len;
    uint8_t *p;
    int rc = -1;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 22 || fseek(f, 0, SEEK_SET) != 0 ||
        !(p = malloc((size_t)len))) {
        if (f)
            fclose(f);
        return -1;
    }
    if (fread(p, 1, (size_t)len, f) == (size_t)len) {
        for (long i = 0; i + 46 <= len; i++) {
            long at = memcmp(p + i, "PK\3\4", 4) == 0    ? i + 22
                      : memcmp(p + i, "PK\1\2", 4) == 0  ? i + 24
                      : memcmp(p + i, "PK\7\10", 4) == 0 ? i + 12
                                                         : -1;
            if (at > 0)
                for (int k = 0; k < 4; k++)
                    p[at + k] = (uint8_t)(size >> (8 * k));
        }
        rc = fseek(f, 0, SEEK_SET) == 0 && fwrite(p, 1, (size_t)len, f) == (size_t)len ? 0 : -1;
    }
    free(p);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* A zip (deflate) of `members` entries "m00000.png", ... each of `each` zero bytes, plus first
 * `real` (a file's path, or NULL) as "a_real.png". 0 ok, -1 failed. */
static inline int tb_zip_zeros(const char *path, int members, size_t each, const char *real)
{
    struct archive *w = archive_write_new();
    uint8_t *zeros = calloc(1, each ? each : 1);
    int rc = w && zeros && archive_write_set_format_zip(w) == ARCHIVE_OK &&
                     archive_write_set_options(w, "zip:compression=deflate") == ARCHIVE_OK &&
                     archive_write_open_filename(w, path) == ARCHIVE_OK
                 ? 0
                 : -1;

    for (int i = -1; i < members && rc == 0; i++) {
        struct archive_entry *en = archive_entry_new();
        char name[32];
        size_t n = each;
        uint8_t *data = zeros;
        FILE *f;
        if (i < 0 && !real) {
            archive_entry_free(en);
            continue;
        }
        if (i < 0) { /* the real image */
            f = fopen(real, "rb");
            data = malloc(1 << 20);
            n = f && data ? fread(data, 1, 1 << 20, f) : 0;
            if (f)
                fclose(f);
            snprintf(name, sizeof(name), "a_real.png");
        } else {
            snprintf(name, sizeof(name), "m%05d.png", i);
        }
        archive_entry_set_pathname(en, name);
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_perm(en, 0644);
        archive_entry_set_size(en, (la_int64_t)n);
        if (archive_write_header(w, en) != ARCHIVE_OK ||
            (n > 0 && archive_write_data(w, data, n) != (la_ssize_t)n))
            rc = -1;
        if (data != zeros)
            free(data);
        archive_entry_free(en);
    }
    if (w && archive_write_close(w) != ARCHIVE_OK)
        rc = -1;
    archive_write_free(w);
    free(zeros);
    return rc;
}

#endif
