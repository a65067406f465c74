/* test_label_fx.h - the labeled-video tests' fixture: a temp folder and the demo model
 * (models/openfield), made fresh for each test. Header-only, like testutil.h. */
#ifndef VAS_TEST_LABEL_FX_H
#define VAS_TEST_LABEL_FX_H

#include "pose/pose_model.h"
#include "test_media_enc.h"
#include "testutil.h"

typedef struct fx {
    tu_dir_fx d;
    pose_model *m;
    char video[600], poses[600]; /* for tests that make them in setup */
} fx;

static inline int label_fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    vas_err e = {0};

    if (!f || !(f->d.dir = tu_mkdtemp())) {
        free(f);
        return -1;
    }
    if (pose_model_load("openfield", "models/openfield/config.yaml", 0, &f->m, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int label_fx_teardown(void **state)
{
    fx *f = *state;

    pose_model_free(f->m);
    tu_rm_rf(f->d.dir);
    free(f->d.dir);
    free(f);
    return 0;
}

#define LABEL_GREY 128 /* the grey videos' level */

/* tenc_paint_fn: a flat LABEL_GREY frame. */
static inline void label_fx_paint_grey(int i, int w, int h, uint8_t *rgb, void *ctx)
{
    (void)i;
    (void)ctx;
    memset(rgb, LABEL_GREY, (size_t)w * (size_t)h * 3);
}

/* The synthetic pose of frame i for the demo model's 4 parts: snout moving right 4 px a frame,
 * the ears still, the tail base below pcutoff (0.4 in the demo model). */
static inline void label_fx_pose_of(int i, double xyl[12])
{
    const double v[12] = {80 + 4 * i, 120, 0.95, 160, 80, 0.9, 160, 160, 0.9, 250, 120, 0.1};

    memcpy(xyl, v, sizeof(v));
}

/* A flat grey mpeg4 video of w x h, frames at 24 fps, at path. 0 ok. */
static inline int label_fx_grey_video(const char *path, int w, int h, int frames)
{
    tenc_video v = {.codec = "mpeg4",
                    .w = w,
                    .h = h,
                    .frames = frames,
                    .fps = 24,
                    .paint = label_fx_paint_grey};

    return tenc_write_video(path, &v);
}

/* A test with the fixture (setup: the file's own, or label_fx_setup). */
#define LABEL_TEST(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, label_fx_teardown)

#endif
