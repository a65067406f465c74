/* test_media_out.c - media_enc: H.264 mp4 files written from RGB24 and BGRX pictures, read
 * back with vas's own decoder (media_video). Frame count, size and rate come back equal (odd
 * sizes padded to even), colours close on flat regions, moov before mdat (faststart), the
 * stream tagged High profile BT.601 limited range; bad paths and options fail with a message;
 * no ".part" file is ever left behind. */
#include "core/err.h"
#include "core/log.h"
#include "media/media_enc.h"
#include "media/media_video.h"

#include "testutil.h"

#include <dirent.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

typedef tu_dir_fx fx; /* testutil.h */
#define fx_setup    tu_dir_setup
#define fx_teardown tu_dir_teardown

/* ---- the test picture ---- */

#define SQ 48 /* side of the moving square */

/* Frame i, w x h RGB24: left half a colour that changes with i, right half fixed blue-grey,
 * a yellow square moving 16 pixels a frame along the top (wrapping). */
static void paint(int i, int w, int h, uint8_t *rgb)
{
    int sx = (16 * i) % (w > SQ ? w - SQ : 1), sy = h / 4;

    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            uint8_t c[3] = {60, 90, 150};
            if (x >= sx && x < sx + SQ && y >= sy && y < sy + SQ) {
                c[0] = 230, c[1] = 210, c[2] = 40;
            } else if (x < w / 2) {
                c[0] = (uint8_t)(40 + (i * 23) % 180), c[1] = 160, c[2] = (uint8_t)(200 - i % 60);
            }
            memcpy(p, c, 3);
        }
    }
}

/* 1 if every pixel within 4 of (x, y) (inside the picture) has (x, y)'s colour. */
static int flat_at(const uint8_t *rgb, int w, int h, int x, int y)
{
    const uint8_t *c = rgb + ((size_t)y * w + x) * 3;

    for (int yy = y - 4; yy <= y + 4; yy++)
        for (int xx = x - 4; xx <= x + 4; xx++)
            if (yy >= 0 && yy < h && xx >= 0 && xx < w &&
                memcmp(rgb + ((size_t)yy * w + xx) * 3, c, 3) != 0)
                return 0;
    return 1;
}

/* Mean absolute error over the flat pixels of want (w x h) against got (gw wide, gw >= w). */
static double flat_mae(const uint8_t *want, const uint8_t *got, int w, int h, int gw)
{
    double sum = 0;
    long n = 0;

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!flat_at(want, w, h, x, y))
                continue;
            for (int ch = 0; ch < 3; ch++)
                sum += abs((int)want[((size_t)y * w + x) * 3 + ch] -
                           (int)got[((size_t)y * gw + x) * 3 + ch]);
            n += 3;
        }
    return n ? sum / (double)n : 1e9;
}

/* ---- writing and reading back ---- */

/* Writes n frames of paint() at w x h and fps to path, as RGB24 or (bgrx) BGRX rows with
 * some slack at the end of each row. */
static void write_video(const char *path, int w, int h, double fps, int n, int bgrx)
{
    media_enc_opts o = {.width = w, .height = h, .fps = fps, .pix = bgrx ? MEDIA_PIX_BGRX : 0};
    size_t stride = (size_t)w * (bgrx ? 4 : 3) + 8;
    uint8_t *rgb = malloc((size_t)w * h * 3), *buf = calloc((size_t)h, stride);
    media_enc *enc = NULL;
    vas_err e = {0};

    assert_non_null(rgb);
    assert_non_null(buf);
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_OK);
    for (int i = 0; i < n; i++) {
        paint(i, w, h, rgb);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const uint8_t *s = rgb + ((size_t)y * w + x) * 3;
                uint8_t *d = buf + (size_t)y * stride + (size_t)x * (bgrx ? 4 : 3);
                if (bgrx)
                    d[0] = s[2], d[1] = s[1], d[2] = s[0], d[3] = 0xff;
                else
                    memcpy(d, s, 3);
            }
        assert_int_equal(media_enc_frame(enc, buf, stride, &e), VAS_OK);
    }
    assert_int_equal(media_enc_frames(enc), n);
    if (media_enc_close(enc, &e) != VAS_OK)
        fail_msg("close: %s", e.msg);
    free(rgb);
    free(buf);
}

/* Reads path back: n frames of the padded size (even w, h) at fps, each close to paint(). */
static void check_video(const char *path, int w, int h, double fps, int n)
{
    int pw = (w + 1) & ~1, ph = (h + 1) & ~1, got = 0;
    uint8_t *want = malloc((size_t)w * h * 3);
    media_video *v = NULL;
    media_frame f;
    vas_err e = {0};
    int rc;

    assert_non_null(want);
    assert_int_equal(media_video_open(path, NULL, &v, &e), VAS_OK);
    assert_int_equal(media_video_info_get(v)->width, pw);
    assert_int_equal(media_video_info_get(v)->height, ph);
    assert_true(fabs(media_video_info_get(v)->fps - fps) < 1e-6);
    while ((rc = media_video_next(v, &f, &e)) == 1) {
        const uint8_t *last = f.rgb + ((size_t)(h - 1) * pw + (w - 1)) * 3;
        paint(got, w, h, want);
        if (flat_mae(want, f.rgb, w, h, pw) >= 2.0)
            fail_msg("frame %d: mean error %.2f", got, flat_mae(want, f.rgb, w, h, pw));
        assert_true(fabs(f.t - got / fps) < 1e-3);
        /* the padding repeats the last column / row */
        if (pw != w)
            assert_in_range(last[3], last[0] - 8, last[0] + 8);
        if (ph != h)
            assert_in_range(last[(size_t)pw * 3], last[0] - 8, last[0] + 8);
        got++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(got, n);
    media_video_close(v);
    free(want);
}

/* 1 if path exists. */
static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Threads of this process, from /proc/self/task. */
static int threads_now(void)
{
    DIR *d = opendir("/proc/self/task");
    const struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d))) /* NOLINT(concurrency-mt-unsafe): tests run on one thread */
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void no_part_left(const char *path)
{
    char part[600];

    snprintf(part, sizeof(part), "%s.part", path);
    assert_false(exists(part));
}

/* ---- tests ---- */

static void vga_30fps(void **state)
{
    fx *f = *state;
    char *path = tu_path(f->dir, "v.mp4");

    write_video(path, 640, 480, 30, 40, 0);
    no_part_left(path);
    check_video(path, 640, 480, 30, 40);
    free(path);
}

/* 29.97 is stored as 30000/1001 exactly; an odd size comes back one pixel wider and taller. */
static void odd_size_ntsc_rate(void **state)
{
    fx *f = *state;
    char *path = tu_path(f->dir, "odd");

    write_video(path, 321, 243, 29.97, 31, 0);
    no_part_left(path);
    check_video(path, 321, 243, 30000.0 / 1001.0, 31);
    free(path);
}

static void bgrx_and_other_rates(void **state)
{
    fx *f = *state;
    char *path = tu_path(f->dir, "v:1.mp4"); /* a colon is not a protocol */

    write_video(path, 160, 120, 25, 12, 1);
    check_video(path, 160, 120, 25, 12);
    write_video(path, 160, 121, 23.976, 5, 1); /* overwrites */
    check_video(path, 160, 121, 24000.0 / 1001.0, 5);
    write_video(path, 64, 48, 12.5, 3, 0);
    check_video(path, 64, 48, 12.5, 3);
    no_part_left(path);
    free(path);
}

/* Top-level mp4 boxes: the index of "moov" and "mdat" in file order, -1 if absent. */
static void box_order(const char *path, int *moov, int *mdat)
{
    size_t len = 0;
    char *buf = tu_read_file(path, &len);
    size_t at = 0;

    assert_non_null(buf);
    *moov = *mdat = -1;
    for (int i = 0; at + 8 <= len; i++) {
        const uint8_t *b = (const uint8_t *)buf + at;
        uint64_t size = (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
        if (size == 1 && at + 16 <= len)
            for (int k = 8; k < 16; k++)
                size = (k == 8 ? 0 : size << 8) | b[k];
        if (memcmp(b + 4, "moov", 4) == 0)
            *moov = i;
        if (memcmp(b + 4, "mdat", 4) == 0)
            *mdat = i;
        if (size < 8)
            break;
        at += size;
    }
    free(buf);
}

static void faststart_and_tags(void **state)
{
    fx *f = *state;
    char *path = tu_path(f->dir, "fast.mp4");
    AVFormatContext *ic = NULL;
    int moov, mdat;

    write_video(path, 320, 240, 30, 20, 0);
    box_order(path, &moov, &mdat);
    assert_true(moov >= 0 && mdat >= 0);
    assert_true(moov < mdat);
    assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
    assert_int_equal(avformat_find_stream_info(ic, NULL) >= 0, 1);
    {
        const AVCodecParameters *par = ic->streams[0]->codecpar;
        assert_int_equal(par->codec_id, AV_CODEC_ID_H264);
        assert_int_equal(par->profile, FF_PROFILE_H264_HIGH);
        assert_int_equal(par->format, AV_PIX_FMT_YUV420P);
        assert_int_equal(par->color_range, AVCOL_RANGE_MPEG);
        assert_int_equal(par->color_space, AVCOL_SPC_SMPTE170M);
    }
    avformat_close_input(&ic);
    free(path);
}

static void unwritable_path(void **state)
{
    fx *f = *state;
    char *path = tu_path(f->dir, "no-such-folder/v.mp4");
    media_enc_opts o = {.width = 64, .height = 48, .fps = 30};
    media_enc *enc = NULL;
    vas_err e = {0};

    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EIO);
    assert_null(enc);
    assert_non_null(strstr(e.msg, "no-such-folder/v.mp4"));
    free(path);
}

static void bad_options(void **state)
{
    fx *f = *state;
    char *path = tu_path(f->dir, "bad.mp4");
    const media_enc_opts good = {.width = 64, .height = 48, .fps = 30};
    media_enc_opts o;
    media_enc *enc = NULL;
    vas_err e = {0};

    o = good, o.width = 0;
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EINVAL);
    o = good, o.height = MEDIA_MAX_SIDE + 1;
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EINVAL);
    o = good, o.fps = 0;
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EINVAL);
    o = good, o.fps = NAN;
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EINVAL);
    o = good, o.crf = 52;
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EINVAL);
    o = good, o.threads = 99;
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EINVAL);
    o = good, o.pix = (media_pix)7;
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EINVAL);
    o = good, o.preset = "warp-speed";
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "warp-speed"));
    assert_null(enc);
    assert_int_equal(tu_count_files(f->dir), 0);
    /* a row too short, then the encoder is spent; by default x264 starts no thread */
    assert_int_equal(media_enc_open(path, &good, &enc, &e), VAS_OK);
    assert_int_equal(threads_now(), 1);
    {
        uint8_t px[64 * 3 * 48] = {0};
        assert_int_equal(media_enc_frame(enc, px, (size_t)64 * 3 - 1, &e), VAS_EINVAL);
        assert_int_equal(media_enc_frame(enc, NULL, (size_t)64 * 3, &e), VAS_EINVAL);
        assert_int_equal(media_enc_frame(enc, px, (size_t)64 * 3, &e), VAS_OK);
    }
    assert_int_equal(media_enc_close(enc, &e), VAS_OK);
    assert_true(exists(path));
    free(path);
}

static void abort_and_empty_leave_nothing(void **state)
{
    fx *f = *state;
    char *path = tu_path(f->dir, "gone.mp4");
    media_enc_opts o = {.width = 64, .height = 48, .fps = 30, .threads = 1, .crf = 30};
    uint8_t px[64 * 48 * 3];
    media_enc *enc = NULL;
    vas_err e = {0};

    memset(px, 128, sizeof(px));
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(media_enc_frame(enc, px, (size_t)64 * 3, &e), VAS_OK);
    assert_int_equal(tu_count_files(f->dir), 1); /* the .part file */
    media_enc_abort(enc);
    assert_int_equal(tu_count_files(f->dir), 0);
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_OK);
    assert_int_equal(media_enc_close(enc, &e), VAS_EINVAL); /* no frames */
    assert_int_equal(tu_count_files(f->dir), 0);
    media_enc_abort(NULL);
    assert_int_equal(media_enc_close(NULL, &e), VAS_OK);
    free(path);
}

/* Given timestamps (1/1000): kept as given, a repeat moved one tick on; a timed writer refuses
 * untimed frames and the other way round. */
static void timed_frames(void **state)
{
    fx *f = *state;
    char *path = tu_path(f->dir, "timed.mp4");
    media_enc_opts o = {.width = 64, .height = 48, .fps = 25, .tb_num = 1, .tb_den = 1000};
    const int64_t given[] = {0, 40, 40, 200, 230}, want[] = {0, 40, 41, 200, 230};
    uint8_t px[64 * 48 * 3];
    media_enc *enc = NULL;
    media_video *v = NULL;
    media_frame fr;
    vas_err e = {0};
    int n = 0;

    memset(px, 90, sizeof(px));
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_OK);
    assert_int_equal(media_enc_frame(enc, px, (size_t)64 * 3, &e), VAS_EINVAL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(media_enc_frame_at(enc, px, (size_t)64 * 3, given[i], &e), VAS_OK);
    assert_int_equal(media_enc_close(enc, &e), VAS_OK);
    assert_int_equal(media_video_open(path, NULL, &v, &e), VAS_OK);
    assert_int_equal(media_video_info_get(v)->tb_den, 1000);
    while (media_video_next(v, &fr, &e) == 1) {
        assert_int_equal(fr.pts, want[n]);
        n++;
    }
    assert_int_equal(n, 5);
    media_video_close(v);
    o.tb_num = o.tb_den = 0;
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_OK);
    assert_int_equal(media_enc_frame_at(enc, px, (size_t)64 * 3, 0, &e), VAS_EINVAL);
    media_enc_abort(enc);
    o.tb_num = 1; /* a time base needs both */
    assert_int_equal(media_enc_open(path, &o, &enc, &e), VAS_EINVAL);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(vga_30fps, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(odd_size_ntsc_rate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bgrx_and_other_rates, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(faststart_and_tags, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(unwritable_path, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_options, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(abort_and_empty_leave_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(timed_frames, fx_setup, fx_teardown),
    };

    log_set_level(LOG_ERROR);
    media_log_setup();
    av_log_set_level(AV_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
