/* test_media_image.c - media_image and media_archive: PNG (RGB, RGBA, grey), JPEG, BMP and
 * TIFF files made here with FFmpeg's encoders, decoded back and compared pixel by pixel;
 * files that are not images (text, a video, cut short, empty); zip and tar.gz archives made
 * here with libarchive, read in name order with non-images skipped and noted; things that are
 * not archives or hold no image. */
#include "core/err.h"
#include "core/log.h"
#include "media/media_archive.h"
#include "media/media_image.h"

#include "test_media_enc.h"
#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define W 64
#define H 48

/* ---- fixture: a fresh temp folder ---- */

typedef tu_dir_fx fx; /* testutil.h */
#define fx_setup    tu_dir_setup
#define fx_teardown tu_dir_teardown
#define fx_file     tu_dir_file

/* The index picture k (W x H) plus a horizontal grey ramp on its bottom rows. */
static void paint(int k, uint8_t *rgb)
{
    tenc_paint_index(k, W, H, rgb, NULL);
    for (int y = 40; y < H; y++)
        for (int x = 0; x < W; x++)
            memset(rgb + ((size_t)y * W + x) * 3, x * 4, 3);
}

/* Writes picture k as codec/fmt into name; returns the path (f->path). */
static const char *make_image(fx *f, const char *name, const char *codec, int fmt, int k)
{
    uint8_t rgb[W * H * 3];
    const char *p = fx_file(f, name);

    paint(k, rgb);
    if (tenc_write_image(p, codec, fmt, W, H, rgb) < 0)
        fail_msg("could not encode %s with %s", name, codec);
    return p;
}

/* Largest per-byte difference between im and picture k. */
static int max_diff(const media_image *im, int k)
{
    uint8_t rgb[W * H * 3];
    int worst = 0;

    paint(k, rgb);
    for (size_t i = 0; i < sizeof(rgb); i++) {
        int d = abs((int)im->rgb[i] - (int)rgb[i]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* ---- single images ---- */

static void check_format(fx *f, const char *name, const char *codec, int fmt, const char *dec,
                         int tolerance)
{
    media_image im = {0};
    vas_err e = {0};

    make_image(f, name, codec, fmt, 5);
    if (media_image_load(f->path, &im, &e) != VAS_OK)
        fail_msg("%s: %s", name, e.msg);
    assert_int_equal(im.width, W);
    assert_int_equal(im.height, H);
    assert_string_equal(im.codec, dec);
    assert_int_equal(tenc_read_index(im.rgb, W), 5);
    assert_in_range(max_diff(&im, 5), 0, tolerance);
    media_image_clear(&im);
    media_image_clear(&im); /* twice: the struct was reset */
    assert_null(im.rgb);
}

static void png_rgb(void **state)
{
    check_format(*state, "a.png", "png", AV_PIX_FMT_RGB24, "png", 0);
}

static void png_rgba(void **state)
{
    check_format(*state, "a.png", "png", AV_PIX_FMT_RGBA, "png", 0);
}

static void jpeg(void **state)
{
    /* Lossy, but q 2 at 4:4:4 on 8x8-aligned blocks and a ramp comes back within 1 or 2. */
    check_format(*state, "a.jpg", "mjpeg", AV_PIX_FMT_YUVJ444P, "mjpeg", 4);
}

static void bmp(void **state)
{
    check_format(*state, "a.bmp", "bmp", AV_PIX_FMT_BGR24, "bmp", 0);
}

static void tiff(void **state)
{
    check_format(*state, "a.tif", "tiff", AV_PIX_FMT_RGB24, "tiff", 0);
}

static void png_grey(void **state)
{
    fx *f = *state;
    media_image im = {0};
    vas_err e = {0};

    make_image(f, "g.png", "png", AV_PIX_FMT_GRAY8, 9);
    assert_int_equal(media_image_load(f->path, &im, &e), VAS_OK);
    assert_int_equal(tenc_read_index(im.rgb, W), 9);
    assert_int_equal(im.rgb[((size_t)44 * W + 10) * 3 + 0], 40); /* the ramp, R = G = B */
    assert_int_equal(im.rgb[((size_t)44 * W + 10) * 3 + 2], 40);
    media_image_clear(&im);
}

static void not_images(void **state)
{
    fx *f = *state;
    tenc_video v = {.codec = "mpeg4", .format = "avi", .w = 64, .h = 64, .frames = 3, .fps = 25};
    media_image im = {0};
    vas_err e = {0};
    size_t n = 0;
    char *png;

    assert_int_equal(tu_write_file(fx_file(f, "x.png"), "hello, not a png\n", 17), 0);
    assert_int_equal(media_image_load(f->path, &im, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "not an image"));
    assert_non_null(strstr(e.msg, "x.png"));
    assert_int_equal(tenc_write_video(fx_file(f, "v.png"), &v), 0); /* an avi named .png */
    assert_int_equal(media_image_load(f->path, &im, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "not an image: FFmpeg found a avi file"));
    png = tu_read_file(make_image(f, "c.png", "png", AV_PIX_FMT_RGB24, 1), &n);
    assert_non_null(png);
    assert_int_equal(media_image_decode(png, n / 2, "cut.png", &im, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "cut.png"));
    assert_int_equal(media_image_decode(png, 0, "empty.png", &im, &e), VAS_EINVAL);
    assert_int_equal(media_image_decode(png, 8, "magic.png", &im, &e), VAS_EINVAL);
    free(png);
    assert_int_equal(media_image_load(fx_file(f, "missing.png"), &im, &e), VAS_ENOTFOUND);
    assert_int_equal(media_image_load(f->dir, &im, &e), VAS_EINVAL);
    assert_null(im.rgb);
}

/* A real DeepLabCut labeled frame (tests/fixtures/openfield). The reference sum of its bytes
 * came from an independent PNG decoder (Python's zlib and the PNG filter rules). */
static void openfield_png(void **state)
{
    const char *p = TU_OPENFIELD_LABELED "/img0000.png";
    media_image im = {0};
    vas_err e = {0};
    uint64_t sum = 0;

    (void)state;
    if (media_image_load(p, &im, &e) != VAS_OK)
        fail_msg("%s (run from the repo root)", e.msg);
    assert_int_equal(im.width, 640);
    assert_int_equal(im.height, 480);
    for (size_t i = 0; i < (size_t)640 * 480 * 3; i++)
        sum += im.rgb[i];
    assert_int_equal(sum, 159883434);
    assert_int_equal(im.rgb[((size_t)100 * 640 + 100) * 3], 144);
    media_image_clear(&im);
}

static void image_names(void **state)
{
    (void)state;
    assert_true(media_image_name_ok("img0001.png"));
    assert_true(media_image_name_ok("a/b/C.JPG"));
    assert_true(media_image_name_ok("x.jpeg"));
    assert_true(media_image_name_ok("x.tif"));
    assert_true(media_image_name_ok("x.tiff"));
    assert_true(media_image_name_ok("x.bmp"));
    assert_false(media_image_name_ok("notes.txt"));
    assert_false(media_image_name_ok("png"));
    assert_false(media_image_name_ok("dir.png/file"));
    assert_false(media_image_name_ok("x.png.csv"));
}

/* ---- archives ---- */

/* Adds a file entry with n bytes of p to w. */
static void arc_add(struct archive *w, const char *name, const void *p, size_t n)
{
    struct archive_entry *en = archive_entry_new();

    archive_entry_set_pathname(en, name);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0644);
    archive_entry_set_size(en, (la_int64_t)n);
    assert_int_equal(archive_write_header(w, en), ARCHIVE_OK);
    assert_int_equal(archive_write_data(w, p, n), (la_ssize_t)n);
    archive_entry_free(en);
}

static void arc_add_file(struct archive *w, const char *name, const char *path)
{
    size_t n = 0;
    char *b = tu_read_file(path, &n);

    assert_non_null(b);
    arc_add(w, name, b, n);
    free(b);
}

static void arc_add_dir(struct archive *w, const char *name)
{
    struct archive_entry *en = archive_entry_new();

    archive_entry_set_pathname(en, name);
    archive_entry_set_filetype(en, AE_IFDIR);
    archive_entry_set_perm(en, 0755);
    assert_int_equal(archive_write_header(w, en), ARCHIVE_OK);
    archive_entry_free(en);
}

/* Writes the test archive, entries out of name order: four images (picture k in img0k),
 * a text file, macOS metadata, a folder, and a .png that is not one. */
static void make_archive(fx *f, const char *name, int zip)
{
    struct archive *w = archive_write_new();
    char png[600], jpg[600], bmp[600], tif[600];

    snprintf(png, sizeof(png), "%s", make_image(f, "s10.png", "png", AV_PIX_FMT_RGB24, 10));
    snprintf(jpg, sizeof(jpg), "%s", make_image(f, "s2.jpg", "mjpeg", AV_PIX_FMT_YUVJ444P, 2));
    snprintf(bmp, sizeof(bmp), "%s", make_image(f, "s1.bmp", "bmp", AV_PIX_FMT_BGR24, 1));
    snprintf(tif, sizeof(tif), "%s", make_image(f, "s3.tif", "tiff", AV_PIX_FMT_RGB24, 3));
    assert_non_null(w);
    if (zip) {
        assert_int_equal(archive_write_set_format_zip(w), ARCHIVE_OK);
    } else {
        assert_int_equal(archive_write_set_format_pax_restricted(w), ARCHIVE_OK);
        assert_int_equal(archive_write_add_filter_gzip(w), ARCHIVE_OK);
    }
    assert_int_equal(archive_write_open_filename(w, fx_file(f, name)), ARCHIVE_OK);
    arc_add_dir(w, "frames/");
    arc_add_file(w, "frames/img10.png", png);
    arc_add_file(w, "frames/img02.jpg", jpg);
    arc_add(w, "frames/readme.txt", "frames from the cage camera\n", 28);
    arc_add_file(w, "frames/img01.bmp", bmp);
    arc_add_file(w, "__MACOSX/frames/._img01.bmp", bmp);
    arc_add(w, "frames/bad.png", "not a png at all", 16);
    arc_add_file(w, "frames/img03.tif", tif);
    assert_int_equal(archive_write_close(w), ARCHIVE_OK);
    archive_write_free(w);
}

static void check_archive(fx *f, const char *name, int zip)
{
    static const char *const order[] = {"frames/img01.bmp", "frames/img02.jpg", "frames/img03.tif",
                                        "frames/img10.png"};
    static const int pic[] = {1, 2, 3, 10};
    media_archive *a = NULL;
    media_image im = {0};
    const char *in = NULL;
    const char *const *notes = NULL;
    size_t n_notes = 0;
    vas_err e = {0};
    int k = 0, rc;

    make_archive(f, name, zip);
    if (media_archive_open(fx_file(f, name), &a, &e) != VAS_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(media_archive_count(a), 5); /* the four and bad.png */
    while ((rc = media_archive_next(a, &im, &in, &e)) == 1) {
        assert_true(k < 4);
        assert_string_equal(in, order[k]);
        assert_int_equal(im.width, W);
        assert_int_equal(tenc_read_index(im.rgb, W), pic[k]);
        media_image_clear(&im);
        k++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(k, 4);
    assert_int_equal(media_archive_next(a, &im, &in, &e), 0);
    assert_int_equal(media_archive_skipped(a, &notes, &n_notes), 3);
    assert_int_equal(n_notes, 3);
    assert_non_null(strstr(notes[0], "frames/readme.txt: not an image"));
    assert_non_null(strstr(notes[1], "__MACOSX/frames/._img01.bmp: macOS metadata"));
    assert_non_null(strstr(notes[2], "frames/bad.png"));
    media_archive_close(a);
}

static void zip_archive(void **state)
{
    check_archive(*state, "frames.zip", 1);
}

static void tar_gz_archive(void **state)
{
    check_archive(*state, "frames.tar.gz", 0);
}

static void not_archives(void **state)
{
    fx *f = *state;
    struct archive *w = archive_write_new();
    media_archive *a = NULL;
    vas_err e = {0};
    size_t n = 0;
    char *b;

    make_image(f, "a.png", "png", AV_PIX_FMT_RGB24, 0);
    assert_int_equal(media_archive_open(f->path, &a, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "not an archive"));
    assert_int_equal(media_archive_open(fx_file(f, "none.zip"), &a, &e), VAS_ENOTFOUND);
    assert_int_equal(media_archive_open(f->dir, &a, &e), VAS_EINVAL);
    /* An archive without images. */
    assert_int_equal(archive_write_set_format_zip(w), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(w, fx_file(f, "text.zip")), ARCHIVE_OK);
    arc_add(w, "notes.txt", "nothing to see\n", 15);
    assert_int_equal(archive_write_close(w), ARCHIVE_OK);
    archive_write_free(w);
    assert_int_equal(media_archive_open(f->path, &a, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "no image in archive"));
    assert_non_null(strstr(e.msg, "notes.txt"));
    assert_null(a);
    /* Cut short: fails at open or at some entry, never crashes. */
    make_archive(f, "full.tar.gz", 0);
    b = tu_read_file(f->path, &n);
    assert_non_null(b);
    for (int i = 1; i < 8; i++) {
        media_image im = {0};
        const char *in;
        int rc;
        assert_int_equal(tu_write_file(fx_file(f, "cut.tar.gz"), b, n * (size_t)i / 8), 0);
        if (media_archive_open(f->path, &a, &e) != VAS_OK)
            continue;
        while ((rc = media_archive_next(a, &im, &in, &e)) == 1)
            media_image_clear(&im);
        assert_true(rc == 0 || rc == VAS_EINVAL);
        media_archive_close(a);
        a = NULL;
    }
    free(b);
    media_archive_close(NULL);
}

/* ---- EXIF orientation ---- */

/* A 64x32 JPEG, dark but for a red 16x8 block at the top left, with an EXIF APP1 segment whose
 * Orientation is o, at path. */
static void jpeg_with_orientation(const char *path, int o)
{
    static const uint8_t app1_head[] = {
        0xff, 0xe1, 0x00, 0x22, 'E',  'x',  'i',  'f',  0,    0,   /* APP1, 34 bytes, "Exif" */
        'M',  'M',  0x00, 0x2a, 0x00, 0x00, 0x00, 0x08,            /* big-endian TIFF, IFD at 8 */
        0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01 /* 1 entry: 0x0112 SHORT x1 */
    };
    uint8_t rgb[64 * 32 * 3], app1[sizeof(app1_head) + 8], *jpg, *out;
    size_t n = 0;

    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = rgb + ((size_t)y * 64 + x) * 3;
            int red = x < 16 && y < 8;
            p[0] = red ? 250 : 30;
            p[1] = p[2] = 30;
        }
    assert_int_equal(tenc_write_image(path, "mjpeg", AV_PIX_FMT_YUVJ444P, 64, 32, rgb), 0);
    jpg = (uint8_t *)tu_read_file(path, &n);
    assert_non_null(jpg);
    assert_true(n > 2 && jpg[0] == 0xff && jpg[1] == 0xd8);
    memcpy(app1, app1_head, sizeof(app1_head));
    memcpy(app1 + sizeof(app1_head), (uint8_t[]){0x00, (uint8_t)o, 0, 0, 0, 0, 0, 0}, 8);
    out = malloc(n + sizeof(app1));
    assert_non_null(out);
    memcpy(out, jpg, 2); /* SOI, then the APP1 */
    memcpy(out + 2, app1, sizeof(app1));
    memcpy(out + 2 + sizeof(app1), jpg + 2, n - 2);
    assert_int_equal(tu_write_file(path, out, n + sizeof(app1)), 0);
    free(out);
    free(jpg);
}

/* Each of EXIF's eight orientations is turned upright as OpenCV's imread turns it: the red
 * block's centre, (8, 4) on the 64x32 picture as stored, lands where PIL's exif_transpose puts
 * it. */
static void exif_orientation_applied(void **state)
{
    static const int want[9][4] = {
        {0}, /* w, h, x, y */
        {64, 32, 8, 4},
        {64, 32, 55, 4},
        {64, 32, 55, 27},
        {64, 32, 8, 27},
        {32, 64, 4, 8},
        {32, 64, 27, 8},
        {32, 64, 27, 55},
        {32, 64, 4, 55},
    };
    fx *f = *state;
    char path[600];

    for (int o = 1; o <= 8; o++) {
        media_image im = {0};
        vas_err e = {0};
        const uint8_t *p;
        snprintf(path, sizeof(path), "%s", fx_file(f, "exif.jpg"));
        jpeg_with_orientation(path, o);
        assert_int_equal(media_image_load(path, &im, &e), VAS_OK);
        assert_int_equal(im.width, want[o][0]);
        assert_int_equal(im.height, want[o][1]);
        p = im.rgb + ((size_t)want[o][3] * im.width + want[o][2]) * 3;
        if (!(p[0] > 200 && p[1] < 80 && p[2] < 80))
            fail_msg("orientation %d: (%d, %d) is %d,%d,%d, not the red block", o, want[o][2],
                     want[o][3], p[0], p[1], p[2]);
        media_image_clear(&im);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(png_rgb, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(exif_orientation_applied, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(png_rgba, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(png_grey, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(jpeg, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bmp, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(tiff, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(not_images, fx_setup, fx_teardown),
        cmocka_unit_test(openfield_png),
        cmocka_unit_test(image_names),
        cmocka_unit_test_setup_teardown(zip_archive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(tar_gz_archive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(not_archives, fx_setup, fx_teardown),
    };

    log_set_level(LOG_ERROR);
    media_log_setup();
    av_log_set_level(AV_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
