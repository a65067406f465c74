/* test_media.c - media_video: real short videos made here with FFmpeg's encoders (H.264 and
 * H.265 in mp4/mkv/mov, MJPEG and MPEG-4 in avi), each frame coding its index in grey levels,
 * decoded back and checked for count, size, rate, timestamps and pixels; rotation from the
 * display matrix; variable frame rate; files that are not videos, cut short or damaged; scaling;
 * float CHW normalisation; and a clip of DeepLabCut's own example video (tests/fixtures/openfield).
 */
#include "core/err.h"
#include "core/log.h"
#include "media/media_video.h"

#include "test_media_enc.h"
#include "testutil.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* LeakSanitizer's hook: libx265 3.5 (Debian 12) leaks a few KB in every encoder it opens, and
 * only these tests open one. Our own code stays checked. */
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): its fixed name */
const char *__lsan_default_suppressions(void);
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
const char *__lsan_default_suppressions(void)
{
    return "leak:libx265.so\n";
}

/* ---- fixture: a fresh temp folder ---- */

typedef tu_dir_fx fx; /* testutil.h */
#define fx_setup    tu_dir_setup
#define fx_teardown tu_dir_teardown
#define fx_file     tu_dir_file

/* Makes a video of the index picture in f's folder; returns its path (f->path). */
static const char *make_video(fx *f, const char *name, const char *codec, int w, int h, int n)
{
    tenc_video s = {.codec = codec, .w = w, .h = h, .frames = n, .fps = 25};
    const char *p = fx_file(f, name);

    if (tenc_write_video(p, &s) < 0)
        fail_msg("could not make %s with %s", name, codec);
    return p;
}

/* ---- every codec and container ---- */

/* Pixels of frame i of the index picture (96x64): grey code, red, blue, green blocks. */
static void check_index_frame(const media_frame *fr, int64_t i)
{
    const uint8_t *p = fr->rgb;
    int w = fr->width;

    assert_int_equal(tenc_read_index(p, w), (int)(i % 64));
    assert_in_range(tenc_mean(p, w, 16, 48, 0), 190, 250); /* red */
    assert_in_range(tenc_mean(p, w, 16, 48, 1), 0, 70);
    assert_in_range(tenc_mean(p, w, 48, 48, 2), 190, 250); /* blue */
    assert_in_range(tenc_mean(p, w, 48, 48, 0), 0, 70);
    assert_in_range(tenc_mean(p, w, 80, 32, 1), 170, 230); /* green */
    assert_in_range(tenc_mean(p, w, 80, 32, 2), 0, 70);
}

static void decode_and_check(fx *f, const char *name, const char *encoder, const char *decoder)
{
    const char *path = make_video(f, name, encoder, 96, 64, 30);
    media_video *v = NULL;
    media_frame fr;
    media_video_stats st;
    vas_err e = {0};
    const media_video_info *in;
    int64_t n = 0;
    int rc;

    assert_int_equal(media_video_open(path, NULL, &v, &e), VAS_OK);
    in = media_video_info_get(v);
    assert_int_equal(in->width, 96);
    assert_int_equal(in->height, 64);
    assert_int_equal(in->rotation, 0);
    assert_true(fabs(in->fps - 25.0) < 0.01);
    assert_in_range(in->frames, 29, 31);
    assert_string_equal(in->codec, decoder);
    while ((rc = media_video_next(v, &fr, &e)) == 1) {
        assert_int_equal(fr.index, n);
        assert_true(fabs(fr.t - (double)n / 25.0) < 0.002);
        check_index_frame(&fr, n);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 30);
    assert_int_equal(media_video_next(v, &fr, &e), 0); /* stays at the end */
    media_video_stats_get(v, &st);
    assert_int_equal(st.frames, 30);
    assert_int_equal(st.bad_packets, 0);
    assert_int_equal(st.cut_short, 0);
    media_video_close(v);
}

static void h264_mp4(void **state)
{
    decode_and_check(*state, "a.mp4", "libx264", "h264");
}

static void h264_mkv(void **state)
{
    decode_and_check(*state, "a.mkv", "libx264", "h264");
}

static void h264_mov(void **state)
{
    decode_and_check(*state, "a.mov", "libx264", "h264");
}

static void h265_mp4(void **state)
{
    decode_and_check(*state, "a.mp4", "libx265", "hevc");
}

static void h265_mkv(void **state)
{
    decode_and_check(*state, "a.mkv", "libx265", "hevc");
}

static void h265_mov(void **state)
{
    decode_and_check(*state, "a.mov", "libx265", "hevc");
}

static void mjpeg_avi(void **state)
{
    decode_and_check(*state, "a.avi", "mjpeg", "mjpeg");
}

static void mpeg4_avi(void **state)
{
    decode_and_check(*state, "a.avi", "mpeg4", "mpeg4");
}

static void mpeg4_mp4(void **state)
{
    decode_and_check(*state, "a.mp4", "mpeg4", "mpeg4");
}

/* ---- rotation ---- */

/* Where source pixel (x, y) of a w x h picture lands after turning it clockwise by rot. */
static void turn_point(int rot, int w, int h, int x, int y, int *ox, int *oy)
{
    *ox = rot == 90 ? h - 1 - y : rot == 180 ? w - 1 - x : rot == 270 ? y : x;
    *oy = rot == 90 ? x : rot == 180 ? h - 1 - y : rot == 270 ? w - 1 - x : y;
}

static void check_rotation(fx *f, int rot)
{
    tenc_video s = {.codec = "mpeg4", .w = 96, .h = 64, .frames = 5, .fps = 25, .rotation = rot};
    const char *path = fx_file(f, "rot.mp4");
    /* Sample centres in the source, and the channel that must dominate there. */
    static const int pts[][3] = {{16, 48, 0}, {48, 48, 2}, {80, 32, 1}};
    media_video *v = NULL;
    media_frame fr;
    vas_err e = {0};
    int up_w = rot % 180 ? 64 : 96;

    assert_int_equal(tenc_write_video(path, &s), 0);
    assert_int_equal(media_video_open(path, NULL, &v, &e), VAS_OK);
    assert_int_equal(media_video_info_get(v)->rotation, rot);
    assert_int_equal(media_video_info_get(v)->src_width, 96);
    assert_int_equal(media_video_next(v, &fr, &e), 1);
    assert_int_equal(fr.width, up_w);
    assert_int_equal(fr.height, rot % 180 ? 96 : 64);
    for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
        int x, y, c = pts[i][2];
        turn_point(rot, 96, 64, pts[i][0], pts[i][1], &x, &y);
        assert_in_range(tenc_mean(fr.rgb, up_w, x, y, c), 170, 250);
        assert_in_range(tenc_mean(fr.rgb, up_w, x, y, (c + 1) % 3), 0, 70);
    }
    media_video_close(v);
}

static void rotation_90(void **state)
{
    check_rotation(*state, 90);
}

static void rotation_180(void **state)
{
    check_rotation(*state, 180);
}

static void rotation_270(void **state)
{
    check_rotation(*state, 270);
}

/* ---- variable frame rate ---- */

static void check_vfr(fx *f, const char *name, const char *codec)
{
    static const int gaps[] = {33, 50, 17, 100, 40};
    int64_t pts[24];
    tenc_video s = {.codec = codec, .w = 96, .h = 64, .frames = 24, .fps = 25, .pts_ms = pts};
    const char *path = fx_file(f, name);
    media_video *v = NULL;
    media_frame fr;
    vas_err e = {0};
    double t0 = 0;
    int64_t n = 0;
    int rc;

    pts[0] = 0;
    for (int i = 1; i < 24; i++)
        pts[i] = pts[i - 1] + gaps[i % 5];
    assert_int_equal(tenc_write_video(path, &s), 0);
    assert_int_equal(media_video_open(path, NULL, &v, &e), VAS_OK);
    /* Average rate: 24 frames over ~1.1 s, between the slowest and fastest instant rates. */
    assert_true(media_video_info_get(v)->fps > 10 && media_video_info_get(v)->fps < 59);
    while ((rc = media_video_next(v, &fr, &e)) == 1) {
        if (n == 0)
            t0 = fr.t;
        assert_true(fabs((fr.t - t0) - (double)pts[n] / 1000.0) < 0.0015);
        check_index_frame(&fr, n);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 24);
    media_video_close(v);
}

static void vfr_h264_mp4(void **state)
{
    check_vfr(*state, "vfr.mp4", "libx264");
}

static void vfr_mpeg4_mkv(void **state)
{
    check_vfr(*state, "vfr.mkv", "mpeg4");
}

/* ---- scaling and float CHW ---- */

static void scaled_output(void **state)
{
    fx *f = *state;
    const char *path = make_video(f, "s.avi", "mpeg4", 96, 64, 3);
    media_video_opts o = {.width = 48, .height = 32, .threads = 1};
    media_video *v = NULL;
    media_frame fr;
    vas_err e = {0};

    assert_int_equal(media_video_open(path, &o, &v, &e), VAS_OK);
    assert_int_equal(media_video_info_get(v)->width, 48);
    assert_int_equal(media_video_info_get(v)->src_width, 96);
    assert_int_equal(media_video_next(v, &fr, &e), 1);
    assert_int_equal(fr.width, 48);
    assert_int_equal(fr.height, 32);
    assert_in_range(tenc_mean(fr.rgb, 48, 8, 24, 0), 180, 250);  /* red, now 16x16 */
    assert_in_range(tenc_mean(fr.rgb, 48, 24, 24, 2), 180, 250); /* blue */
    media_video_close(v);
    o.width = 0;
    o.height = 20;
    assert_int_equal(media_video_open(path, &o, &v, &e), VAS_EINVAL);
}

static void norm_chw(void **state)
{
    const uint8_t rgb[2 * 3 * 2 + 2] = {0,   128, 255, 10, 20, 30, /* row 0 */
                                        255, 0,   0,   1,  2,  3}; /* row 1 */
    const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    const float bad[3] = {0.2f, 0.0f, 0.2f};
    media_norm n;
    float out[12];
    vas_err e = {0};

    (void)state;
    assert_int_equal(media_norm_init(&n, mean, sd, 0, &e), VAS_OK);
    media_rgb_to_chw(&n, rgb, 2, 2, 6, out);
    assert_float_equal(out[0], (0 / 255.0 - 0.485) / 0.229, 1e-5); /* R plane */
    assert_float_equal(out[3], (1 / 255.0 - 0.485) / 0.229, 1e-5);
    assert_float_equal(out[4 + 0], (128 / 255.0 - 0.456) / 0.224, 1e-5); /* G plane */
    assert_float_equal(out[8 + 1], (30 / 255.0 - 0.406) / 0.225, 1e-5);  /* B plane */
    assert_int_equal(media_norm_init(&n, mean, sd, 1, &e), VAS_OK);      /* BGR: B first */
    media_rgb_to_chw(&n, rgb, 2, 2, 6, out);
    assert_float_equal(out[0], (255 / 255.0 - 0.406) / 0.225, 1e-5);
    assert_float_equal(out[8 + 2], (255 / 255.0 - 0.485) / 0.229, 1e-5);
    assert_int_equal(media_norm_init(&n, mean, bad, 0, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "std"));
}

/* The AVX2 row (where the CPU has it) against the portable loop: random bytes, every width from
 * 1 to 40 (the vector part, its stop 8 pixels short of a row's end, the tail), RGB and BGR, a
 * row stride wider than the picture and padded planes. */
static void norm_chw_paths_agree(void **state)
{
    enum { W = 40, H = 3, DW = 44, DH = 4 };
    const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    uint8_t rgb[H * (W * 3 + 5)];
    float a[3 * DW * DH], b[3 * DW * DH];
    uint32_t x = 7;
    media_norm n;
    vas_err e = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(rgb); i++) {
        x = x * 1103515245u + 12345u;
        rgb[i] = (uint8_t)(x >> 16);
    }
    for (int bgr = 0; bgr < 2; bgr++)
        for (int w = 1; w <= W; w++) {
            assert_int_equal(media_norm_init(&n, mean, sd, bgr, &e), VAS_OK);
            memset(a, 0, sizeof(a));
            memset(b, 0, sizeof(b));
            media_rgb_to_chw_padded(&n, rgb, w, H, W * 3 + 5, a, DW, DH);
            n.no_simd = 1;
            media_rgb_to_chw_padded(&n, rgb, w, H, W * 3 + 5, b, DW, DH);
            if (memcmp(a, b, sizeof(a)) != 0)
                fail_msg("width %d, bgr %d: the two paths differ", w, bgr);
        }
}

/* ---- not videos ---- */

/* A valid 0.1 s mono 8 kHz WAV file: audio only. */
static void write_wav(const char *path)
{
    uint8_t b[44 + 1600] =
        "RIFF____WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0"
        "data";
    uint32_t data = 1600, riff = 36 + 1600;

    memcpy(b + 4, &riff, 4);
    memcpy(b + 40, &data, 4);
    assert_int_equal(tu_write_file(path, b, sizeof(b)), 0);
}

static void not_a_video(void **state)
{
    fx *f = *state;
    media_video *v = NULL;
    vas_err e = {0};
    const char *p = fx_file(f, "x.txt");

    assert_int_equal(tu_write_file(p, "mouse,x,y\n1,2,3\n", 16), 0);
    assert_int_equal(media_video_open(p, NULL, &v, &e), VAS_EINVAL);
    assert_null(v);
    assert_non_null(strstr(e.msg, "not a video"));
    assert_non_null(strstr(e.msg, "x.txt"));
    p = fx_file(f, "a.wav");
    write_wav(p);
    assert_int_equal(media_video_open(p, NULL, &v, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "not a video: FFmpeg found no video stream in"));
    assert_non_null(strstr(e.msg, "format: wav; streams: audio pcm_s16le"));
    p = fx_file(f, "empty.mp4");
    assert_int_equal(tu_write_file(p, "", 0), 0);
    assert_int_equal(media_video_open(p, NULL, &v, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "empty"));
    assert_int_equal(media_video_open(f->dir, NULL, &v, &e), VAS_EINVAL);
    assert_int_equal(media_video_open(fx_file(f, "missing.mp4"), NULL, &v, &e), VAS_ENOTFOUND);
    assert_null(v);
    media_video_close(NULL);
}

/* ---- damaged files ---- */

/* Decodes path to the end; returns the frame count, or the error code when < 0. */
static int64_t decode_all(const char *path, int *open_rc)
{
    media_video *v = NULL;
    media_frame fr;
    vas_err e = {0};
    int64_t n = 0;
    int rc;

    *open_rc = media_video_open(path, NULL, &v, &e);
    if (*open_rc < 0) {
        assert_true(e.msg[0] != '\0');
        return *open_rc;
    }
    while ((rc = media_video_next(v, &fr, &e)) == 1)
        n++;
    media_video_close(v);
    if (rc < 0) {
        assert_true(rc == VAS_EINVAL);
        assert_true(e.msg[0] != '\0');
        return rc;
    }
    return n;
}

/* Writes the first keep bytes of src to dst. */
static void cut_copy(const char *src, const char *dst, size_t keep)
{
    size_t n = 0;
    char *b = tu_read_file(src, &n);

    assert_non_null(b);
    assert_int_equal(tu_write_file(dst, b, keep < n ? keep : n), 0);
    free(b);
}

static void truncated_mp4_fails(void **state)
{
    fx *f = *state;
    char cut[600];
    media_video *v = NULL;
    vas_err e = {0};
    size_t n = 0;
    char *b;

    make_video(f, "t.mp4", "libx264", 96, 64, 30); /* mp4 index (moov) at the end */
    b = tu_read_file(f->path, &n);
    assert_non_null(b);
    free(b);
    snprintf(cut, sizeof(cut), "%s/cut.mp4", f->dir);
    cut_copy(f->path, cut, n / 2);
    assert_int_equal(media_video_open(cut, NULL, &v, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "cut.mp4"));
}

/* Every cut of an mkv and an avi (indexless reading) ends cleanly with fewer frames or an error. */
static void truncated_anywhere(void **state)
{
    fx *f = *state;
    const char *kinds[][2] = {{"t.mkv", "libx264"}, {"t.avi", "mjpeg"}};
    char src[600], cut[600];

    snprintf(cut, sizeof(cut), "%s/cut", f->dir);
    for (size_t k = 0; k < 2; k++) {
        size_t n = 0;
        char *b;
        snprintf(src, sizeof(src), "%s", make_video(f, kinds[k][0], kinds[k][1], 96, 64, 20));
        b = tu_read_file(src, &n);
        assert_non_null(b);
        free(b);
        for (int i = 1; i < 16; i++) {
            int orc;
            int64_t got;
            cut_copy(src, cut, n * (size_t)i / 16);
            got = decode_all(cut, &orc);
            assert_true(got == VAS_EINVAL || (got >= 0 && got <= 20));
        }
        assert_int_equal(decode_all(src, &(int){0}), 20);
    }
}

static void damaged_middle(void **state)
{
    fx *f = *state;
    const char *src = make_video(f, "d.avi", "mpeg4", 96, 64, 40);
    media_video *v = NULL;
    media_frame fr;
    media_video_stats st;
    vas_err e = {0};
    size_t n = 0;
    char *b = tu_read_file(src, &n);
    int rc, got = 0;

    assert_non_null(b);
    for (size_t i = n / 3; i < n / 3 + 600 && i < n; i++) /* garbage over a few frames */
        b[i] = (char)(i * 131 + 7);
    assert_int_equal(tu_write_file(src, b, n), 0);
    free(b);
    assert_int_equal(media_video_open(src, NULL, &v, &e), VAS_OK);
    while ((rc = media_video_next(v, &fr, &e)) == 1)
        got++;
    assert_int_equal(rc, 0);
    assert_in_range(got, 20, 40);
    media_video_stats_get(v, &st);
    if (st.bad_packets > 0)
        assert_non_null(strstr(st.note, "damaged"));
    media_video_close(v);
}

/* ---- DeepLabCut's example video ---- */

/* The openfield video is a grey arena: R = G = B within rounding, mid-bright on average. */
static void check_grey_arena(const media_frame *fr)
{
    size_t n = (size_t)fr->width * fr->height;
    uint64_t sum = 0;
    int off = 0;

    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = fr->rgb + i * 3;
        int d = abs(p[0] - p[1]) > abs(p[2] - p[1]) ? abs(p[0] - p[1]) : abs(p[2] - p[1]);
        off = d > off ? d : off;
        sum += p[1];
    }
    assert_in_range(off, 0, 3);
    assert_true(n > 0);
    assert_in_range(sum / (n ? n : 1), 100, 220);
}

static void openfield(void **state)
{
    media_video *v = NULL;
    media_frame fr;
    media_video_opts o = {0};
    vas_err e = {0};
    const media_video_info *in;

    (void)state;
    if (media_video_open(TU_OPENFIELD_CLIP, &o, &v, &e) != VAS_OK)
        fail_msg("%s (run from the repo root)", e.msg);
    in = media_video_info_get(v);
    assert_int_equal(in->width, 640);
    assert_int_equal(in->height, 480);
    assert_true(fabs(in->fps - 30.0) < 0.01);
    assert_int_equal(in->frames, TU_OPENFIELD_CLIP_FRAMES);
    assert_string_equal(in->codec, "h264");
    assert_int_equal(in->rotation, 0);
    for (int i = 0; i < TU_OPENFIELD_CLIP_FRAMES; i++) {
        assert_int_equal(media_video_next(v, &fr, &e), 1);
        assert_int_equal(fr.index, i);
        assert_true(fabs(fr.t - i / 30.0) < 0.001);
        if (i % 33 == 0)
            check_grey_arena(&fr);
    }
    assert_int_equal(media_video_next(v, &fr, &e), 0); /* the end, after every frame */
    media_video_close(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(h264_mp4, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(h264_mkv, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(h264_mov, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(h265_mp4, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(h265_mkv, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(h265_mov, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(mjpeg_avi, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(mpeg4_avi, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(mpeg4_mp4, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(rotation_90, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(rotation_180, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(rotation_270, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(vfr_h264_mp4, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(vfr_mpeg4_mkv, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(scaled_output, fx_setup, fx_teardown),
        cmocka_unit_test(norm_chw),
        cmocka_unit_test(norm_chw_paths_agree),
        cmocka_unit_test_setup_teardown(not_a_video, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(truncated_mp4_fails, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(truncated_anywhere, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(damaged_middle, fx_setup, fx_teardown),
        cmocka_unit_test(openfield),
    };

    log_set_level(LOG_ERROR);
    media_log_setup(); /* FFmpeg's complaints about the damaged files go to debug lines */
    av_log_set_level(AV_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
