/* pose_run_images.c - pose on still images (see pose_run.h): one image or an archive of them,
 * each run alone (batch 1) at its own size, padded like video frames; rows are indexed by name. */
#include "analyses/pose_run.h"
#include "analyses/pose_sink.h"

#include "core/util.h"
#include "media/media_archive.h"
#include "media/media_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 1024 /* bytes of an image name in the HDF5 index (fixed width) */

typedef struct img_run {
    const pose_run_opts *o;
    pose_sink k;
    media_norm norm;
    float *in;
    size_t in_cap;
} img_run;

/* Normalised, padded input for one image into r->in; its padded size in *pw, *ph. */
static int prepare(img_run *r, const media_image *im, int *pw, int *ph, vas_err *e)
{
    const pose_model *m = r->k.m;
    int pad = m->pad_to > 1 ? m->pad_to : 1;
    size_t plane, need;

    *pw = (im->width + pad - 1) / pad * pad;
    *ph = (im->height + pad - 1) / pad * pad;
    plane = (size_t)*pw * (size_t)*ph;
    need = 3 * plane;
    if (need > r->in_cap) {
        float *n = realloc(r->in, need * sizeof(float));
        if (!n)
            return err_set(e, VAS_ENOMEM, "out of memory for a %dx%d image", im->width, im->height);
        r->in = n;
        r->in_cap = need;
    }
    media_rgb_to_chw(&r->norm, im->rgb, im->width, im->height, (size_t)im->width * 3, r->in);
    if (*pw == im->width && *ph == im->height)
        return VAS_OK;
    /* Spread the rows into the padded planes, from the end backwards so nothing is overwritten
     * before it moves, then zero the padding (the mean colour after normalisation). */
    for (int c = 2; c >= 0; c--)
        for (int y = im->height - 1; y >= 0; y--)
            memmove(r->in + (size_t)c * plane + (size_t)y * (size_t)*pw,
                    r->in + ((size_t)c * (size_t)im->height + (size_t)y) * (size_t)im->width,
                    (size_t)im->width * sizeof(float));
    if (m->pad_reflect) {
        media_chw_pad_reflect(r->in, im->width, im->height, *pw, *ph);
        return VAS_OK;
    }
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < *ph; y++)
            for (int x = (y < im->height ? im->width : 0); x < *pw; x++)
                r->in[(size_t)c * plane + (size_t)y * (size_t)*pw + (size_t)x] = 0.0f;
    return VAS_OK;
}

static int one_image(img_run *r, const media_image *im, const char *name, vas_err *e)
{
    int pw, ph, rc = prepare(r, im, &pw, &ph, e);

    r->k.rgb = r->o->keep_rgb ? im->rgb : NULL;
    r->k.rgb_w = im->width;
    r->k.rgb_h = im->height;
    return rc < 0 ? rc : pose_sink_run(&r->k, r->in, 1, ph, pw, NULL, &name, e);
}

static int from_archive(img_run *r, media_archive *a, pose_video_out *out, vas_err *e)
{
    int64_t total = (int64_t)media_archive_count(a);
    media_image im = {0};
    const char *name = NULL;
    int rc;

    while ((rc = media_archive_next(a, &im, &name, e)) == 1) {
        rc = one_image(r, &im, name, e);
        media_image_clear(&im);
        if (rc < 0)
            return rc;
        out->frames++;
        if (r->o->progress && (rc = r->o->progress(r->o->arg, out->frames, total, e)) < 0)
            return rc;
    }
    return rc;
}

/* One image, or else an archive of them; *a is set for an archive. An archive over a limit
 * says so (VAS_ETOOBIG); any other archive failure is told as the image's. */
static int open_input(const char *path, const media_limits *lim, media_image *im, media_archive **a,
                      vas_err *e)
{
    vas_err ie = {0}, ae = {0};
    int rc = media_image_load_lim(path, lim, im, &ie);

    if (rc == VAS_OK)
        return VAS_OK;
    if (rc != VAS_EINVAL)
        return err_set(e, rc, "%s", ie.msg);
    rc = media_archive_open_lim(path, lim, a, &ae);
    if (rc == VAS_ETOOBIG || rc == VAS_ENOMEM)
        return err_set(e, rc, "%s", ae.msg);
    if (rc < 0)
        return err_set(e, VAS_EINVAL, "not an image, nor an archive of images: %s", ie.msg);
    return VAS_OK;
}

static int finish(img_run *r, media_archive *a, pose_video_out *out, int64_t t0, vas_err *e)
{
    const char *const *notes = NULL;
    size_t n_notes = 0, skipped = a ? media_archive_skipped(a, &notes, &n_notes) : 0;

    if (skipped)
        snprintf(out->note, sizeof(out->note), "%zu entries skipped; first: %s", skipped,
                 n_notes ? notes[0] : "");
    return pose_sink_finish(&r->k, out, t0, "no image to analyse", e);
}

int pose_run_images(const pose_model *m, const char *path, const char *prefix,
                    const pose_run_opts *o, pose_video_out *out, vas_err *e)
{
    pose_run_opts def = {0};
    img_run r = {.o = o ? o : &def};
    media_archive *a = NULL;
    media_image im = {0};
    json_t *head = json_pack("{s:s}", "model", m->name);
    int64_t t0 = util_mono_ms();
    const char *slash = strrchr(path, '/');
    const char *name = r.o->name ? r.o->name : slash ? slash + 1 : path;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = open_input(path, &r.o->lim, &im, &a, e);
    if (rc == VAS_OK)
        rc = media_norm_init(&r.norm, m->mean, m->std, m->bgr, e);
    if (rc == VAS_OK)
        rc = pose_sink_open(&r.k, m, r.o, prefix, LABEL_MAX, head, out, e);
    if (rc == VAS_OK && a)
        rc = from_archive(&r, a, out, e);
    else if (rc == VAS_OK && (rc = one_image(&r, &im, name, e)) == VAS_OK)
        out->frames = 1;
    if (rc == VAS_OK)
        rc = finish(&r, a, out, t0, e);
    json_decref(head);
    media_image_clear(&im);
    media_archive_close(a);
    pose_sink_free(&r.k);
    free(r.in);
    return rc;
}

int pose_run_image_files(const pose_model *m, const char *const *paths, int n, const char *prefix,
                         const pose_run_opts *o, pose_video_out *out, vas_err *e)
{
    pose_run_opts def = {0};
    img_run r = {.o = o ? o : &def};
    json_t *head = json_pack("{s:s}", "model", m->name);
    int64_t t0 = util_mono_ms();
    int rc;

    memset(out, 0, sizeof(*out));
    rc = media_norm_init(&r.norm, m->mean, m->std, m->bgr, e);
    if (rc == VAS_OK)
        rc = pose_sink_open(&r.k, m, r.o, prefix, LABEL_MAX, head, out, e);
    for (int i = 0; rc == VAS_OK && i < n; i++) {
        const char *slash = strrchr(paths[i], '/');
        media_image im = {0};
        rc = media_image_load_lim(paths[i], &r.o->lim, &im, e);
        if (rc == VAS_OK)
            rc = one_image(&r, &im, slash ? slash + 1 : paths[i], e);
        media_image_clear(&im);
        if (rc == VAS_OK && r.o->progress)
            rc = r.o->progress(r.o->arg, ++out->frames, n, e);
        else if (rc == VAS_OK)
            out->frames++;
    }
    if (rc == VAS_OK)
        rc = finish(&r, NULL, out, t0, e);
    json_decref(head);
    pose_sink_free(&r.k);
    free(r.in);
    return rc;
}
