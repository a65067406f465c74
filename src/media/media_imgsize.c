/* media_imgsize.c - an image's width and height read from its header bytes alone (PNG, JPEG,
 * GIF, BMP), so that LIMIT_IMAGE_PIXELS refuses a decompression bomb (a few KB claiming
 * 20000 x 20000) before FFmpeg is even opened, with the sizes in the message. FFmpeg's own
 * checks stay behind this (AVCodecContext.max_pixels and the get_buffer2 check in
 * media_image.c) for the formats not read here. Only reads within [p, p + n). */
#include "media/media_int.h"

#include <string.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[1] << 8 | p[0];
}

static int64_t le32s(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
    int64_t v = u >= 0x80000000u ? (int64_t)u - ((int64_t)1 << 32) : (int64_t)u;

    return v < 0 ? -v : v; /* a negative BMP height means top-down rows */
}

/* JPEG: the first start-of-frame segment (SOF0..SOF15 but DHT, JPG, DAC) gives the size. */
static int jpeg_size(const uint8_t *p, size_t n, int64_t *w, int64_t *h)
{
    size_t i = 2;

    while (i + 4 <= n) {
        unsigned m, len;
        if (p[i] != 0xff)
            return 0;
        m = p[i + 1];
        if (m == 0xff) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd8)) { /* markers without a length */
            i += 2;
            continue;
        }
        len = be16(p + i + 2);
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            if (i + 9 > n || len < 7)
                return 0;
            *h = be16(p + i + 5);
            *w = be16(p + i + 7);
            return 1;
        }
        if (m == 0xda || m == 0xd9 || len < 2) /* scan data or end: no frame header seen */
            return 0;
        i += 2 + (size_t)len;
    }
    return 0;
}

int media_image_header_size(const uint8_t *p, size_t n, int64_t *w, int64_t *h)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    if (n >= 24 && memcmp(p, png, 8) == 0 && memcmp(p + 12, "IHDR", 4) == 0) {
        *w = be32(p + 16);
        *h = be32(p + 20);
        return 1;
    }
    if (n >= 4 && p[0] == 0xff && p[1] == 0xd8)
        return jpeg_size(p, n, w, h);
    if (n >= 10 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0)) {
        *w = le16(p + 6);
        *h = le16(p + 8);
        return 1;
    }
    if (n >= 26 && p[0] == 'B' && p[1] == 'M') {
        if (le32s(p + 14) == 12) { /* BITMAPCOREHEADER: 16-bit sizes */
            *w = le16(p + 18);
            *h = le16(p + 20);
        } else {
            *w = le32s(p + 18);
            *h = le32s(p + 22);
        }
        return 1;
    }
    return 0;
}
