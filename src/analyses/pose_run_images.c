/* pose_run_images.c - pose on still images (see pose_run.h): one image or an archive of them,
 * each run alone (batch 1) at its own size, padded like video frames; rows are indexed by name. */
#include "analyses/pose_run.h"

#include "core/util.h"
#include "media/media_archive.h"
#include "media/media_image.h"
#include "nn/nn.h"
#include "pose/dlc_csv.h"
#include "pose/dlc_h5.h"
#include "pose/pose_decode.h"
#include "pose/pose_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAD_TO    16
#define LABEL_MAX 1024 /* bytes of an image name in the HDF5 index (fixed width) */

typedef struct img_run {
    const pose_model *m;
    nn_graph *g;
    nn_session *s;
    int heat, loc;
    media_norm norm;
    dlc_csv *csv;
    dlc_h5 *h5;
    pose_json *js;
    float *in;
    size_t in_cap;
    double xyl[3 * POSE_MODEL_MAX_PARTS];
} img_run;

static char *cat(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);

    if (s)
        snprintf(s, n, "%s%s", a, b);
    return s;
}

static int open_all(img_run *r, const char *prefix, const pose_run_opts *o, pose_video_out *out,
                    vas_err *e)
{
    nn_options no = {.threads = o->threads, .bf16 = o->bf16};
    pose_layout l = {.scorer = r->m->scorer,
                     .bodyparts = (const char *const *)r->m->bodyparts,
                     .n_bodyparts = r->m->n_bodyparts,
                     .label_max = LABEL_MAX};
    json_t *head = json_pack("{s:s}", "model", r->m->name);
    int rc = nn_graph_load(r->m->onnx_path, &r->g, e);

    r->heat = r->loc = -1;
    for (int i = 0; rc == VAS_OK && i < nn_graph_n_outputs(r->g); i++) {
        const char *name = NULL;
        nn_graph_output_name(r->g, i, &name);
        if (name && strcmp(name, r->m->heatmap_name) == 0)
            r->heat = i;
        if (name && r->m->locref && strcmp(name, r->m->locref_name) == 0)
            r->loc = i;
    }
    if (rc == VAS_OK && (r->heat < 0 || (r->m->locref && r->loc < 0)))
        rc = err_set(e, VAS_EINVAL, "model '%s': the network lacks its outputs", r->m->name);
    if (rc == VAS_OK)
        rc = nn_session_new(r->g, &no, &r->s, e);
    if (rc == VAS_OK)
        rc = media_norm_init(&r->norm, r->m->mean, r->m->std, r->m->bgr, e);
    out->csv = cat(prefix, ".csv");
    out->h5 = cat(prefix, ".h5");
    out->json = cat(prefix, ".json");
    if (rc == VAS_OK && (!out->csv || !out->h5 || !out->json))
        rc = err_set(e, VAS_ENOMEM, "out of memory");
    if (rc == VAS_OK)
        rc = dlc_csv_open(out->csv, &l, &r->csv, e);
    if (rc == VAS_OK)
        rc = dlc_h5_open(out->h5, &l, &r->h5, e);
    if (rc == VAS_OK)
        rc = pose_json_open(out->json, &l, head, &r->js, e);
    json_decref(head);
    return rc;
}

/* Normalised, padded input for one image. */
static int prepare(img_run *r, const media_image *im, int *pw, int *ph, vas_err *e)
{
    size_t plane, need;

    *pw = (im->width + PAD_TO - 1) / PAD_TO * PAD_TO;
    *ph = (im->height + PAD_TO - 1) / PAD_TO * PAD_TO;
    plane = (size_t)*pw * (size_t)*ph;
    need = 3 * plane;
    if (need > r->in_cap) {
        float *n = realloc(r->in, need * sizeof(float));
        if (!n)
            return err_set(e, VAS_ENOMEM, "out of memory for a %dx%d image", im->width, im->height);
        r->in = n;
        r->in_cap = need;
    }
    memset(r->in, 0, need * sizeof(float));
    if (*pw == im->width && *ph == im->height) {
        media_rgb_to_chw(&r->norm, im->rgb, im->width, im->height, (size_t)im->width * 3, r->in);
        return VAS_OK;
    }
    /* Convert unpadded, then spread the rows into the padded planes (from the end backwards,
     * so nothing is overwritten before it is moved). */
    media_rgb_to_chw(&r->norm, im->rgb, im->width, im->height, (size_t)im->width * 3, r->in);
    for (int c = 2; c >= 0; c--)
        for (int y = im->height - 1; y >= 0; y--)
            memmove(r->in + (size_t)c * plane + (size_t)y * (size_t)*pw,
                    r->in + ((size_t)c * (size_t)im->height + (size_t)y) * (size_t)im->width,
                    (size_t)im->width * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < *ph; y++)
            for (int x = (y < im->height ? im->width : 0); x < *pw; x++)
                r->in[(size_t)c * plane + (size_t)y * (size_t)*pw + (size_t)x] = 0.0f;
    return VAS_OK;
}

static int one_image(img_run *r, const media_image *im, const char *name, vas_err *e)
{
    const float *heat = NULL, *loc = NULL;
    nn_tensor_info hi, li;
    int pw, ph, rc = prepare(r, im, &pw, &ph, e);

    if (rc == VAS_OK)
        rc = nn_session_run(r->s, r->in, 1, ph, pw, e);
    if (rc == VAS_OK)
        rc = nn_session_output(r->s, r->heat, &heat, &hi, e);
    if (rc == VAS_OK && r->loc >= 0)
        rc = nn_session_output(r->s, r->loc, &loc, &li, e);
    if (rc < 0)
        return rc;
    if (hi.ndims != 4 || hi.dims[1] != r->m->n_bodyparts)
        return err_set(e, VAS_EINVAL, "model '%s' gives the wrong number of score maps",
                       r->m->name);
    pose_maps pm = {.scores = heat,
                    .locref = loc,
                    .n_joints = r->m->n_bodyparts,
                    .h = (int)hi.dims[2],
                    .w = (int)hi.dims[3],
                    .stride = r->m->stride,
                    .locref_stdev = r->m->locref_stdev};
    rc = pose_decode(&pm, r->xyl, e);
    if (rc == VAS_OK)
        rc = dlc_csv_add_row(r->csv, 0, name, r->xyl, e);
    if (rc == VAS_OK)
        rc = dlc_h5_add_row(r->h5, 0, name, r->xyl, e);
    if (rc == VAS_OK)
        rc = pose_json_add_row(r->js, 0, name, r->xyl, e);
    return rc;
}

static int from_archive(img_run *r, media_archive *a, const pose_run_opts *o, pose_video_out *out,
                        vas_err *e)
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
        if (o->progress && (rc = o->progress(o->arg, out->frames, total, e)) < 0)
            return rc;
    }
    return rc;
}

static void close_all(img_run *r)
{
    dlc_csv_abort(r->csv);
    dlc_h5_abort(r->h5);
    pose_json_abort(r->js);
    nn_session_free(r->s);
    nn_graph_free(r->g);
    free(r->in);
}

static int finish(img_run *r, pose_video_out *out, vas_err *e)
{
    json_t *tail =
        json_pack("{s:{s:f}, s:s}", "timings", "seconds", out->seconds, "note", out->note);
    int rc = dlc_csv_close(r->csv, e);

    r->csv = NULL;
    if (rc == VAS_OK)
        rc = dlc_h5_close(r->h5, e);
    r->h5 = NULL;
    if (rc == VAS_OK)
        rc = pose_json_close(r->js, tail, e);
    r->js = NULL;
    json_decref(tail);
    return rc;
}

int pose_run_images(const pose_model *m, const char *path, const char *prefix,
                    const pose_run_opts *o, pose_video_out *out, vas_err *e)
{
    pose_run_opts def = {0};
    img_run *r = calloc(1, sizeof(*r));
    media_archive *a = NULL;
    media_image im = {0};
    int64_t t0 = util_mono_ms();
    vas_err ie = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    if (!r)
        return err_set(e, VAS_ENOMEM, "out of memory");
    o = o ? o : &def;
    r->m = m;
    rc = media_image_load(path, &im, &ie);
    if (rc == VAS_EINVAL && media_archive_open(path, &a, e) < 0)
        rc = err_set(e, VAS_EINVAL, "not an image, nor an archive of images: %s", ie.msg);
    else if (rc < 0 && rc != VAS_EINVAL)
        rc = err_set(e, rc, "%s", ie.msg);
    else
        rc = open_all(r, prefix, o, out, e);
    if (rc == VAS_OK && a)
        rc = from_archive(r, a, o, out, e);
    else if (rc == VAS_OK) {
        const char *base = o->name ? o->name : strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        rc = one_image(r, &im, base, e);
        out->frames = rc == VAS_OK ? 1 : 0;
    }
    if (rc == VAS_OK && a) {
        const char *const *notes = NULL;
        size_t n_notes = 0, skipped = media_archive_skipped(a, &notes, &n_notes);
        if (skipped)
            snprintf(out->note, sizeof(out->note), "%zu entries skipped; first: %s", skipped,
                     n_notes ? notes[0] : "");
    }
    out->seconds = (double)(util_mono_ms() - t0) / 1000.0;
    if (rc == VAS_OK)
        rc = out->frames > 0 ? finish(r, out, e) : err_set(e, VAS_EINVAL, "no image to analyse");
    media_image_clear(&im);
    media_archive_close(a);
    close_all(r);
    free(r);
    return rc;
}
