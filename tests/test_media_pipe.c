/* test_media_pipe.c - media_pipe: the decoder thread and its ring, on real videos made here
 * with FFmpeg's encoders. Every frame arrives once, in order, in batches, already normalised;
 * stop, the caller's cancel flag and freeing work at any point (also with the decoder blocked
 * on a full ring); a consumer holding every slot gets an error, not a hang; a 10,240-frame
 * video goes through with memory that does not grow. With keep_rgb, batches also carry the
 * decoded pictures: the same bytes as media_video's frames and as the de-normalised planes.
 * Inline decoding (no decoder thread) gives the same batches byte for byte. */
#include "core/err.h"
#include "core/log.h"
#include "media/media_pipe.h"

#include "test_media_enc.h"
#include "testutil.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* AddressSanitizer's hook. FFmpeg allocates and frees some KB per decoded frame; ASan keeps
 * freed blocks in a quarantine (256 MB by default) before reusing them, so resident memory
 * would grow by that much whatever vas does. A 4 MB quarantine lets the long-video test
 * measure our bound under ASan too; use-after-free is still caught within that window. */
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): its fixed name */
const char *__asan_default_options(void);
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=4:thread_local_quarantine_size_kb=256";
}

/* ---- fixture: a fresh temp folder with one video ---- */

typedef tu_dir_fx fx; /* testutil.h */
#define fx_setup    tu_dir_setup
#define fx_teardown tu_dir_teardown
#define fx_file     tu_dir_file

/* An MPEG-4 avi of n frames of the index picture, w x h, in f->path. */
static void make_avi(fx *f, int w, int h, int n)
{
    tenc_video s = {.codec = "mpeg4", .w = w, .h = h, .frames = n, .fps = 30};

    snprintf(f->path, sizeof(f->path), "%s/v.avi", f->dir);
    if (tenc_write_video(f->path, &s) < 0)
        fail_msg("could not make %s", f->path);
}

/* Identity normalisation: a float is the byte / 255. */
static media_norm unit_norm(void)
{
    const float mean[3] = {0, 0, 0}, sd[3] = {1, 1, 1};
    media_norm n;
    vas_err e = {0};

    assert_int_equal(media_norm_init(&n, mean, sd, 0, &e), VAS_OK);
    return n;
}

/* Mean of plane c over the 8x8 square centred on (cx, cy) of a CHW frame, back in bytes. */
static int plane_mean(const float *chw, int w, int h, int c, int cx, int cy)
{
    double sum = 0;

    for (int y = cy - 4; y < cy + 4; y++)
        for (int x = cx - 4; x < cx + 4; x++)
            sum += chw[(size_t)c * w * h + (size_t)y * w + x];
    return (int)lround(sum * 255.0 / 64.0);
}

static int chw_index(const float *chw, int w, int h)
{
    int lo = tenc_digit(plane_mean(chw, w, h, 1, 16, 16));
    int hi = tenc_digit(plane_mean(chw, w, h, 1, 48, 16));

    return lo < 0 || hi < 0 ? -1 : hi * 8 + lo;
}

/* ---- every frame, in order ---- */

static void every_frame_in_order(void **state)
{
    fx *f = *state;
    media_norm n = unit_norm();
    media_pipe_opts o = {.batch = 8, .depth = 3, .layout = MEDIA_LAYOUT_CHW_F32, .norm = &n};
    media_pipe *p = NULL;
    media_batch b;
    media_video_stats st;
    vas_err e = {0};
    int64_t next = 0;
    int rc, batches = 0;

    make_avi(f, 96, 64, 100);
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    assert_int_equal(media_pipe_info(p)->width, 96);
    while ((rc = media_pipe_take(p, &b, &e)) == 1) {
        assert_int_equal(b.frame_bytes, sizeof(float) * 96 * 64 * 3);
        assert_null(b.rgb); /* not asked for */
        assert_int_equal(b.n, next + 8 <= 100 ? 8 : 100 - next);
        for (int i = 0; i < b.n; i++) {
            const float *fr = (const float *)((const char *)b.data + (size_t)i * b.frame_bytes);
            assert_int_equal(b.index[i], next);
            assert_true(fabs(b.t[i] - (double)next / 30.0) < 0.002);
            assert_int_equal(chw_index(fr, 96, 64), (int)(next % 64));
            assert_in_range(plane_mean(fr, 96, 64, 0, 16, 48), 190, 250); /* red plane first */
            assert_in_range(plane_mean(fr, 96, 64, 2, 48, 48), 190, 250); /* blue plane last */
            next++;
        }
        media_pipe_release(p, &b);
        batches++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(next, 100);
    assert_int_equal(batches, 13);
    assert_int_equal(media_pipe_take(p, &b, &e), 0); /* stays at the end */
    media_pipe_stats(p, &st);
    assert_int_equal(st.frames, 100);
    media_pipe_free(p);
}

/* RGB24 slots, scaled to a model size, and batches held two at a time. */
static void rgb_scaled_two_held(void **state)
{
    fx *f = *state;
    media_pipe_opts o = {.batch = 5, .depth = 3, .width = 48, .height = 32, .threads = 1};
    media_pipe *p = NULL;
    media_batch a, b;
    vas_err e = {0};
    int64_t next = 0;

    make_avi(f, 96, 64, 20);
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    assert_int_equal(media_pipe_info(p)->width, 48);
    while (media_pipe_take(p, &a, &e) == 1) {
        int more = media_pipe_take(p, &b, &e);
        assert_true(more == 1 || more == 0);
        for (int i = 0; i < a.n; i++) {
            const uint8_t *fr = (const uint8_t *)a.data + (size_t)i * a.frame_bytes;
            assert_int_equal(a.frame_bytes, 48 * 32 * 3);
            assert_int_equal(a.index[i], next++);
            assert_in_range(tenc_mean(fr, 48, 8, 24, 0), 180, 250); /* red, now 16x16 */
        }
        next += more == 1 ? b.n : 0;
        media_pipe_release(p, &a);
        if (more == 1)
            media_pipe_release(p, &b);
    }
    assert_int_equal(next, 20);
    media_pipe_free(p);
}

/* Planes padded to a multiple of 40 (120x80 for 96x64): the picture at the top left, zeros
 * around it, and RGB24 rows padded the same way. */
static void padded_slots(void **state)
{
    fx *f = *state;
    media_norm n = unit_norm();
    media_pipe_opts o = {
        .batch = 3, .depth = 2, .layout = MEDIA_LAYOUT_CHW_F32, .norm = &n, .pad_to = 40};
    media_pipe *p = NULL;
    media_batch b;
    vas_err e = {0};

    make_avi(f, 96, 64, 7);
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    assert_int_equal(media_pipe_info(p)->width, 96);
    for (int64_t next = 0; media_pipe_take(p, &b, &e) == 1; media_pipe_release(p, &b)) {
        assert_int_equal(b.width, 120);
        assert_int_equal(b.height, 80);
        assert_int_equal(b.frame_bytes, sizeof(float) * 120 * 80 * 3);
        for (int i = 0; i < b.n; i++, next++) {
            const float *fr = (const float *)((const char *)b.data + (size_t)i * b.frame_bytes);
            assert_int_equal(chw_index(fr, 120, 80), (int)(next % 64));
            assert_in_range(plane_mean(fr, 120, 80, 0, 16, 48), 190, 250);          /* red */
            assert_in_range(plane_mean(fr, 120, 80, 1, 80, 32), 170, 230);          /* green */
            assert_true(fr[(size_t)2 * 120 * 80 + (size_t)10 * 120 + 100] == 0.0f); /* right pad */
            assert_true(fr[(size_t)1 * 120 * 80 + (size_t)70 * 120 + 10] == 0.0f);  /* bottom pad */
        }
    }
    media_pipe_free(p);
    o.layout = MEDIA_LAYOUT_RGB24;
    o.pad_to = 16;
    o.width = 40; /* 40x30 pictures in 48x32 rows */
    o.height = 30;
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    assert_int_equal(media_pipe_take(p, &b, &e), 1);
    assert_int_equal(b.width, 48);
    assert_int_equal(b.frame_bytes, 48 * 32 * 3);
    assert_in_range(tenc_mean(b.data, 48, 8, 6, 1), TENC_LEVEL(0) - 12, TENC_LEVEL(0) + 12);
    assert_int_equal(((const uint8_t *)b.data)[((size_t)10 * 48 + 44) * 3], 0);
    assert_int_equal(((const uint8_t *)b.data)[((size_t)31 * 48 + 4) * 3], 0);
    media_pipe_release(p, &b);
    media_pipe_free(p);
}

/* ---- kept pictures ---- */

/* Checks one frame: every pixel of the picture rgb (w x h) de-normalised from the planes chw
 * (sw x sh each, B, G, R order) with mean and sd. */
static void planes_match_picture(const float *chw, int sw, int sh, const uint8_t *rgb, int w, int h,
                                 const float mean[3], const float sd[3])
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                float v = chw[(size_t)(2 - c) * sw * sh + (size_t)y * sw + x];
                long byte = lroundf((v * sd[c] + mean[c]) * 255.0f);
                if (byte != rgb[((size_t)y * w + x) * 3 + c])
                    fail_msg("pixel %d,%d channel %d: plane %ld, picture %d", x, y, c, byte,
                             rgb[((size_t)y * w + x) * 3 + c]);
            }
}

/* keep_rgb with ImageNet normalisation, BGR planes and padding, at the video's size and
 * scaled to a size that is no multiple of the padding: the pictures are media_video's frames
 * byte for byte, and the planes are those pictures normalised. */
static void kept_rgb_matches_planes_and_video(void **state)
{
    fx *f = *state;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    const int size[2][2] = {{96, 64}, {90, 50}};
    media_norm n;
    vas_err e = {0};

    assert_int_equal(media_norm_init(&n, mean, sd, 1, &e), VAS_OK);
    make_avi(f, 96, 64, 11);
    for (int k = 0; k < 2; k++) {
        int w = size[k][0], h = size[k][1], frames = 0;
        media_pipe_opts o = {.batch = 4,
                             .depth = 2,
                             .width = k ? w : 0,
                             .height = k ? h : 0,
                             .pad_to = 32,
                             .layout = MEDIA_LAYOUT_CHW_F32,
                             .norm = &n,
                             .keep_rgb = 1,
                             .threads = 1};
        media_video_opts vo = {.width = o.width, .height = o.height, .threads = 1};
        media_pipe *p = NULL;
        media_video *v = NULL;
        media_frame fr;
        media_batch b;

        assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
        assert_int_equal(media_video_open(f->path, &vo, &v, &e), VAS_OK);
        while (media_pipe_take(p, &b, &e) == 1) {
            assert_non_null(b.rgb);
            assert_int_equal(b.rgb_bytes, (size_t)w * h * 3);
            assert_int_equal(b.width, 96);
            assert_int_equal(b.height, 64);
            for (int i = 0; i < b.n; i++, frames++) {
                const uint8_t *pic = b.rgb + (size_t)i * b.rgb_bytes;
                const float *chw = (const float *)((const char *)b.data + i * b.frame_bytes);
                assert_int_equal(media_video_next(v, &fr, &e), 1);
                assert_memory_equal(pic, fr.rgb, b.rgb_bytes);
                planes_match_picture(chw, b.width, b.height, pic, w, h, mean, sd);
            }
            media_pipe_release(p, &b);
        }
        assert_int_equal(frames, 11);
        assert_int_equal(media_video_next(v, &fr, &e), 0);
        media_video_close(v);
        media_pipe_free(p);
    }
}

/* ---- stopping ---- */

static void stop_mid_stream_in(void **state, int in)
{
    fx *f = *state;
    media_pipe_opts o = {.batch = 4, .depth = 2, .inline_decode = in};
    media_pipe *p = NULL;
    media_batch b;
    vas_err e = {0};

    make_avi(f, 64, 64, 300);
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(media_pipe_take(p, &b, &e), 1);
        assert_int_equal(b.index[0], i * 4);
        media_pipe_release(p, &b);
    }
    media_pipe_stop(p);
    media_pipe_stop(p);
    assert_int_equal(media_pipe_take(p, &b, &e), VAS_ECANCELLED);
    assert_int_equal(media_pipe_take(p, &b, &e), VAS_ECANCELLED);
    media_pipe_free(p);
    /* Freed while the decoder waits on a full ring, and right after start. */
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    tu_nap_ms(50);
    media_pipe_free(p);
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    media_pipe_free(p);
    media_pipe_free(NULL);
}

static void stop_mid_stream(void **state)
{
    stop_mid_stream_in(state, 0);
    stop_mid_stream_in(state, 1); /* no decoder thread */
}

static void cancel_flag_in(void **state, int in)
{
    fx *f = *state;
    atomic_bool cancel;
    media_pipe_opts o = {.batch = 4, .depth = 2, .cancel = &cancel, .inline_decode = in};
    media_pipe *p = NULL;
    media_batch b;
    vas_err e = {0};
    int rc, got = 0;

    atomic_init(&cancel, false);
    make_avi(f, 64, 64, 300);
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    while ((rc = media_pipe_take(p, &b, &e)) == 1) {
        media_pipe_release(p, &b);
        if (++got == 2)
            atomic_store(&cancel, true);
    }
    assert_int_equal(rc, VAS_ECANCELLED);
    assert_int_equal(got, 2);
    media_pipe_free(p);
}

static void cancel_flag(void **state)
{
    cancel_flag_in(state, 0);
    cancel_flag_in(state, 1); /* no decoder thread */
}

static void holding_every_slot_is_an_error_in(void **state, int in)
{
    fx *f = *state;
    media_pipe_opts o = {.batch = 2, .depth = 2, .inline_decode = in};
    media_pipe *p = NULL;
    media_batch a, b, c;
    vas_err e = {0};

    make_avi(f, 64, 64, 30);
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    assert_int_equal(media_pipe_take(p, &a, &e), 1);
    assert_int_equal(media_pipe_take(p, &b, &e), 1);
    assert_int_equal(media_pipe_take(p, &c, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "held"));
    media_pipe_release(p, &b); /* out of order */
    media_pipe_release(p, &a);
    assert_int_equal(media_pipe_take(p, &c, &e), 1);
    assert_int_equal(c.index[0], 4);
    media_pipe_release(p, &c);
    media_pipe_free(p);
}

static void holding_every_slot_is_an_error(void **state)
{
    holding_every_slot_is_an_error_in(state, 0);
    holding_every_slot_is_an_error_in(state, 1); /* no decoder thread */
}

static void bad_input(void **state)
{
    fx *f = *state;
    media_pipe_opts o = {.batch = 4, .depth = 2};
    media_pipe *p = NULL;
    vas_err e = {0};

    snprintf(f->path, sizeof(f->path), "%s/x.txt", f->dir);
    assert_int_equal(tu_write_file(f->path, "not a video at all\n", 19), 0);
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_EINVAL);
    assert_null(p);
    assert_non_null(strstr(e.msg, "not a video"));
    o.depth = 1;
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_EINVAL);
    o.depth = 2;
    o.layout = MEDIA_LAYOUT_CHW_F32; /* without a normalisation */
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_EINVAL);
    o.keep_rgb = 1; /* RGB24 slots already are the pictures */
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_EINVAL);
    o.keep_rgb = 0;
    make_avi(f, 64, 64, 2);
    o.layout = MEDIA_LAYOUT_RGB24;
    o.width = o.height = 4096;
    o.batch = 64;
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_ETOOBIG);
    /* The kept pictures count: 2 x 2 float frames of 4096x4608 are 864 MiB, under the 1 GiB
     * ceiling; their pictures add 216 MiB. */
    {
        media_norm n = unit_norm();
        media_pipe_opts fo = {.batch = 2,
                              .depth = 2,
                              .width = 4096,
                              .height = 4608,
                              .layout = MEDIA_LAYOUT_CHW_F32,
                              .norm = &n,
                              .keep_rgb = 1};
        assert_int_equal(media_pipe_start(f->path, &fo, &p, &e), VAS_ETOOBIG);
        assert_non_null(strstr(e.msg, "pictures"));
        assert_null(p);
    }
}

/* ---- decoding on the consumer's thread (inline_decode) ---- */

/* Appends len bytes at src to *all (*n bytes so far). */
static void append(uint8_t **all, size_t *n, const void *src, size_t len)
{
    uint8_t *grown = realloc(*all, *n + len);

    assert_non_null(grown);
    memcpy(grown + *n, src, len);
    *all = grown;
    *n += len;
}

/* Every batch of o's pipe on path, back to back (frames, kept pictures, then index, pts and t
 * of each frame); *n_out bytes, the caller frees. */
static uint8_t *all_batches(const char *path, const media_pipe_opts *o, size_t *n_out)
{
    media_pipe *p = NULL;
    media_batch b;
    vas_err e = {0};
    uint8_t *all = NULL;
    size_t n = 0, k;
    int rc;

    assert_int_equal(media_pipe_start(path, o, &p, &e), VAS_OK);
    while ((rc = media_pipe_take(p, &b, &e)) == 1) {
        k = (size_t)b.n;
        append(&all, &n, b.data, b.frame_bytes * k);
        if (b.rgb_bytes)
            append(&all, &n, b.rgb, b.rgb_bytes * k);
        append(&all, &n, b.index, sizeof(int64_t) * k);
        append(&all, &n, b.pts, sizeof(int64_t) * k);
        append(&all, &n, b.t, sizeof(double) * k);
        media_pipe_release(p, &b);
    }
    assert_int_equal(rc, 0);
    media_pipe_free(p);
    *n_out = n;
    return all;
}

/* The same batches, byte for byte, from the decoder thread and inline: float planes converted
 * on tasks (a last short batch, padding zeroed and mirrored), kept pictures (frames that take
 * the RGB24 path inline), scaled frames and RGB24 slots. */
static void inline_same_as_thread(void **state)
{
    fx *f = *state;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    media_norm n;
    vas_err e = {0};
    media_pipe_opts cases[] = {
        {.batch = 8, .depth = 3, .layout = MEDIA_LAYOUT_CHW_F32, .norm = &n},
        {.batch = 3, .depth = 2, .layout = MEDIA_LAYOUT_CHW_F32, .norm = &n, .pad_to = 40},
        {.batch = 4,
         .depth = 2,
         .layout = MEDIA_LAYOUT_CHW_F32,
         .norm = &n,
         .pad_to = 40,
         .pad_reflect = 1},
        {.batch = 4, .depth = 2, .layout = MEDIA_LAYOUT_CHW_F32, .norm = &n, .keep_rgb = 1},
        {.batch = 5,
         .depth = 2,
         .layout = MEDIA_LAYOUT_CHW_F32,
         .norm = &n,
         .width = 48,
         .height = 30},
        {.batch = 5, .depth = 2, .layout = MEDIA_LAYOUT_RGB24},
    };

    assert_int_equal(media_norm_init(&n, mean, sd, 1, &e), VAS_OK);
    make_avi(f, 96, 64, 37);
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        size_t na = 0, nb = 0;
        uint8_t *a = all_batches(f->path, &cases[k], &na);
        cases[k].inline_decode = 1;
        uint8_t *b = all_batches(f->path, &cases[k], &nb);
        assert_true(na > 37 * 48 * 30 * 3); /* every frame came */
        assert_int_equal(na, nb);
        if (memcmp(a, b, na) != 0)
            fail_msg("case %zu: the inline batches differ from the decoder thread's", k);
        free(a);
        free(b);
    }
    { /* a turned video: its frames take put_frame's media_video_rgb path in both modes */
        tenc_video tv = {
            .codec = "mpeg4", .w = 96, .h = 64, .frames = 9, .fps = 25, .rotation = 90};
        media_pipe_opts o = {.batch = 4, .depth = 2, .layout = MEDIA_LAYOUT_CHW_F32, .norm = &n};
        size_t na = 0, nb = 0;
        uint8_t *a, *b;
        snprintf(f->path, sizeof(f->path), "%s/turned.mp4", f->dir);
        if (tenc_write_video(f->path, &tv) < 0)
            fail_msg("could not make %s", f->path);
        {
            media_pipe *tp = NULL;
            assert_int_equal(media_pipe_start(f->path, &o, &tp, &e), VAS_OK);
            assert_int_equal(media_pipe_info(tp)->rotation, 90);
            assert_int_equal(media_pipe_info(tp)->width, 64); /* upright */
            media_pipe_free(tp);
        }
        a = all_batches(f->path, &o, &na);
        o.inline_decode = 1;
        b = all_batches(f->path, &o, &nb);
        assert_true(na > 9 * 64 * 96 * 3 * sizeof(float));
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        free(a);
        free(b);
    }
}

/* ---- a long video in bounded memory ---- */

/* This process's resident memory in KiB, from /proc/self/status. */
static long rss_kib(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(fp);
    return kib;
}

/* With the decoder thread, or inline (each frame converted on a task holds its own reference
 * until then). */
static void long_video(void **state, int inline_decode)
{
    enum { N = 10240 };
    fx *f = *state;
    media_norm n = unit_norm();
    media_pipe_opts o = {.batch = 16,
                         .depth = 4,
                         .layout = MEDIA_LAYOUT_CHW_F32,
                         .norm = &n,
                         .inline_decode = inline_decode};
    media_pipe *p = NULL;
    media_batch b;
    vas_err e = {0};
    int64_t next = 0;
    long base = 0, peak = 0;
    int rc;

    make_avi(f, 64, 48, N);
    assert_int_equal(media_pipe_start(f->path, &o, &p, &e), VAS_OK);
    assert_int_equal(media_pipe_info(p)->frames, N);
    while ((rc = media_pipe_take(p, &b, &e)) == 1) {
        for (int i = 0; i < b.n; i++, next++) {
            const float *fr = (const float *)((const char *)b.data + (size_t)i * b.frame_bytes);
            assert_int_equal(b.index[i], next);
            if (next % 97 == 0)
                assert_int_equal(chw_index(fr, 64, 48), (int)(next % 64));
        }
        media_pipe_release(p, &b);
        if (next == 1024) /* warmed up: FFmpeg's pools and the ring are all there */
            base = rss_kib();
        if (next > 1024 && next % 512 == 0 && rss_kib() > peak)
            peak = rss_kib();
    }
    assert_int_equal(rc, 0);
    assert_int_equal(next, N);
    media_pipe_free(p);
    if (peak - base > 3L * 1024)
        fail_msg("resident memory grew by %ld KiB over %d frames", peak - base, N - 1024);
}

static void long_video_bounded_memory(void **state)
{
    long_video(state, 0);
}

static void long_video_bounded_memory_inline(void **state)
{
    long_video(state, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_frame_in_order, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(rgb_scaled_two_held, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(padded_slots, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(kept_rgb_matches_planes_and_video, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(stop_mid_stream, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(cancel_flag, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(holding_every_slot_is_an_error, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_input, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(long_video_bounded_memory, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(long_video_bounded_memory_inline, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(inline_same_as_thread, fx_setup, fx_teardown),
    };

    log_set_level(LOG_ERROR);
    media_log_setup();
    av_log_set_level(AV_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
