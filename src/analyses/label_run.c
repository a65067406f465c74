/* label_run.c - labeled videos (see label_run.h); images are in label_images.c. */
#include "analyses/label_run.h"

#include "analyses/label_enc.h"
#include "core/util.h"
#include "media/media_pipe.h"
#include "pose/dlc_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lrun {
    const pose_model *m;
    const pose_run_opts *o; /* the caller's */
    pose_run_opts inner;    /* what pose_run sees: the caller's, plus our row hook */
    label_enc *le;
    pose_plots plots;
    int64_t first, stop; /* frames [first, stop) are drawn (start/end) */
    int trail;           /* frames before first pushed for the trail: trailpoints - 1 */
    int64_t written;     /* frames pushed to be written */
} lrun;

/* The video's size and rate, read before the run (the writer needs them up front). */
static int probe(const char *video, const media_limits *lim, media_video_info *vi, vas_err *e)
{
    media_video_opts vo = {.threads = 1, .lim = *lim};
    media_video *v = NULL;
    int rc = media_video_open(video, &vo, &v, e);

    if (rc == VAS_OK)
        *vi = *media_video_info_get(v);
    media_video_close(v);
    return rc;
}

static int on_row(void *arg, const pose_row *r, vas_err *e)
{
    lrun *l = arg;
    int rc = pose_plots_add(&l->plots, l->m->n_bodyparts, r->xyl, e);

    int in = r->frame >= l->first && r->frame < l->stop;

    if (rc == VAS_OK && l->le && in && !r->rgb)
        rc = err_set(e, VAS_EIO, "frame %lld reached the labeler without its picture",
                     (long long)r->frame);
    if (rc == VAS_OK && l->le && in) {
        rc = label_enc_push(l->le, r->rgb, r->xyl, r->pts, e);
        l->written++;
    } else if (rc == VAS_OK && l->le && r->frame < l->first && r->frame >= l->first - l->trail) {
        rc = label_enc_push(l->le, NULL, r->xyl, r->pts, e); /* the trail into `start` */
    }
    if (rc == VAS_OK && l->o->on_row)
        rc = l->o->on_row(l->o->row_arg, r, e);
    return rc;
}

/* ---- poses read from a file ---- */

typedef struct given {
    dlc_table t;
    int cx, cy, cl; /* columns of x, y, likelihood within a part */
} given;

static int load_poses(const pose_model *m, const char *path, given *g, vas_err *e)
{
    int rc = dlc_read(path, &g->t, e);

    if (rc < 0)
        return rc;
    if (g->t.n_parts != m->n_bodyparts)
        return err_set(e, VAS_EINVAL, "the pose file has %d bodyparts, model '%s' has %d",
                       g->t.n_parts, m->name, m->n_bodyparts);
    for (int i = 0; i < m->n_bodyparts; i++)
        if (strcmp(g->t.bodyparts[i], m->bodyparts[i]) != 0)
            return err_set(e, VAS_EINVAL,
                           "the pose file's bodypart %d is '%s', model '%s' says '%s'", i + 1,
                           g->t.bodyparts[i], m->name, m->bodyparts[i]);
    g->cx = g->cy = g->cl = -1;
    for (int c = 0; c < g->t.n_coords; c++) {
        if (strcmp(g->t.coords[c], "x") == 0)
            g->cx = c;
        else if (strcmp(g->t.coords[c], "y") == 0)
            g->cy = c;
        else if (strcmp(g->t.coords[c], "likelihood") == 0)
            g->cl = c;
    }
    if (g->cx < 0 || g->cy < 0 || g->cl < 0)
        return err_set(e, VAS_EINVAL, "the pose file lacks x, y or likelihood columns");
    return VAS_OK;
}

/* The pose of frame f into xyl; 0 when the file has no row for it. */
static int pose_of(const given *g, int64_t f, double *xyl)
{
    int64_t r = f;
    const double *v;

    if (!g->t.frames || r >= g->t.n_rows || g->t.frames[r] != f) {
        for (r = 0; r < g->t.n_rows && (!g->t.frames || g->t.frames[r] != f); r++)
            ;
        if (r >= g->t.n_rows)
            return 0;
    }
    v = g->t.v + (size_t)r * (size_t)g->t.n_parts * (size_t)g->t.n_coords;
    for (int p = 0; p < g->t.n_parts; p++, v += g->t.n_coords) {
        xyl[3 * p] = v[g->cx];
        xyl[3 * p + 1] = v[g->cy];
        xyl[3 * p + 2] = v[g->cl];
    }
    return 1;
}

static int draw_given(lrun *l, const char *video, const given *g, pose_video_out *out, vas_err *e)
{
    media_pipe_opts po = {.batch = 8,
                          .depth = 3,
                          .layout = MEDIA_LAYOUT_RGB24,
                          .threads = 1,
                          .cancel = l->o->cancel,
                          .lim = l->o->lim};
    media_pipe *p = NULL;
    media_batch b;
    media_video_stats st;
    double xyl[3 * POSE_MODEL_MAX_PARTS];
    int rc = media_pipe_start(video, &po, &p, e);
    const media_video_info *vi = rc == VAS_OK ? media_pipe_info(p) : NULL;

    while (rc == VAS_OK && (rc = media_pipe_take(p, &b, e)) == 1) {
        rc = VAS_OK;
        for (int i = 0; i < b.n && rc == VAS_OK; i++) {
            pose_row r = {.frame = b.index[i],
                          .xyl = xyl,
                          .rgb = (const uint8_t *)b.data + (size_t)i * b.frame_bytes,
                          .width = vi->width,
                          .height = vi->height,
                          .timed = 1,
                          .pts = b.pts[i]};
            if (!pose_of(g, b.index[i], xyl))
                for (int k = 0; k < 3 * l->m->n_bodyparts; k++)
                    xyl[k] = k % 3 == 2 ? 0.0 : NAN;
            rc = on_row(l, &r, e);
        }
        media_pipe_release(p, &b);
        out->frames += b.n;
        if (rc == VAS_OK && l->o->progress)
            rc = l->o->progress(l->o->arg, out->frames,
                                vi->frames > out->frames ? vi->frames : out->frames, e);
    }
    if (p) {
        media_pipe_stats(p, &st);
        snprintf(out->note, sizeof(out->note), "%s", st.note);
    }
    media_pipe_free(p);
    if (rc == VAS_OK && out->frames == 0)
        rc = err_set(e, VAS_EINVAL, "no frame could be decoded from the video");
    return rc;
}

/* The frames drawn: [floor(n * start), ceil(n * end)) of the n frames the container gives, as
 * DeepLabCut/DeepLabCut: deeplabcut/utils/frameselectiontools.py (UniformFrames) counts them;
 * all of them when start/end are 0/1, whatever n is (an estimate for some files). */
static void pick_frames(lrun *l, const label_opts *lo, const media_video_info *vi)
{
    int64_t n = vi->frames;

    l->first = lo->start > 0 && n > 0 ? (int64_t)floor((double)n * lo->start) : 0;
    l->stop = lo->end < 1 && n > 0 ? (int64_t)ceil((double)n * lo->end) : INT64_MAX;
    l->trail = lo->trailpoints > 1 ? lo->trailpoints - 1 : 0;
}

/* The writer: the input's timestamps and time base, or a constant outputframerate. */
static int open_writer(lrun *l, const char *path, const label_opts *lo, const media_video_info *vi,
                       const pose_style *s, vas_err *e)
{
    label_enc_opts eo = {.w = vi->width,
                         .h = vi->height,
                         .fps = vi->fps,
                         .s = s,
                         .trailpoints = lo->trailpoints,
                         .keypoints_only = lo->keypoints_only};

    if (lo->outputframerate > 0) {
        eo.fps = lo->outputframerate;
    } else if (vi->tb_num > 0 && vi->tb_den > 0) {
        eo.tb_num = vi->tb_num;
        eo.tb_den = vi->tb_den;
        eo.rate_num = vi->rate_num;
        eo.rate_den = vi->rate_den;
        if (!(eo.fps > 0 && eo.fps <= 1000)) /* only x264's rate control reads it then */
            eo.fps = 25;
    }
    return label_enc_open(path, &eo, &l->le, e);
}

int label_run_video(const pose_model *m, const char *video, const char *poses, const char *prefix,
                    const pose_run_opts *o, label_out *out, vas_err *e)
{
    return label_run_video_opts(m, video, poses, prefix, o, NULL, out, e);
}

int label_run_video_opts(const pose_model *m, const char *video, const char *poses,
                         const char *prefix, const pose_run_opts *o, const label_opts *lo,
                         label_out *out, vas_err *e)
{
    pose_run_opts def = {0};
    label_opts dlo;
    lrun l = {.m = m, .o = o ? o : &def};
    given g = {0};
    media_video_info vi = {0};
    pose_style s;
    int64_t t0 = util_mono_ms(), n;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!lo) {
        label_opts_default(&dlo);
        lo = &dlo;
    }
    l.inner = *l.o;
    l.inner.on_row = on_row;
    l.inner.row_arg = &l;
    l.inner.keep_rgb = 1;
    rc = probe(video, &l.o->lim, &vi, e);
    if (rc == VAS_OK && poses)
        rc = load_poses(m, poses, &g, e);
    if (rc == VAS_OK)
        rc = pose_style_init(&s, m, e);
    if (rc == VAS_OK)
        rc = label_opts_style(lo, &s, e);
    if (rc == VAS_OK && !(out->video = util_concat(prefix, "_labeled.mp4")))
        rc = err_set(e, VAS_ENOMEM, "out of memory");
    pick_frames(&l, lo, &vi);
    if (rc == VAS_OK)
        rc = open_writer(&l, out->video, lo, &vi, &s, e);
    if (rc == VAS_OK && poses)
        rc = draw_given(&l, video, &g, &out->pose, e);
    else if (rc == VAS_OK)
        rc = pose_run_video(m, video, prefix, &l.inner, &out->pose, e);
    if (l.le) {
        if (rc == VAS_OK)
            label_enc_stats(l.le, &n, &out->draw_seconds);
        if (rc == VAS_OK && l.written == 0)
            rc = err_set(e, VAS_EINVAL, "start and end leave no frame of the %lld to draw",
                         (long long)out->pose.frames);
        if (rc == VAS_OK)
            rc = label_enc_close(l.le, e);
        else
            label_enc_abort(l.le);
    }
    if (rc == VAS_OK)
        rc = pose_plots_write(&l.plots, m, vi.width, vi.height, vi.fps, prefix, out->plots, e);
    out->labeled_frames = l.written;
    out->pose.fps = vi.fps;
    out->pose.width = vi.width;
    out->pose.height = vi.height;
    out->pose.seconds = (double)(util_mono_ms() - t0) / 1000.0;
    pose_plots_free(&l.plots);
    dlc_table_free(&g.t);
    return rc;
}

void label_out_clear(label_out *out)
{
    pose_video_out_clear(&out->pose);
    free(out->video);
    for (int i = 0; i < POSE_PLOTS_N; i++)
        free(out->plots[i]);
    for (int i = 0; i < out->n_images; i++)
        free(out->images[i]);
    free(out->images);
    free(out->archive);
    memset(out, 0, sizeof(*out));
}
