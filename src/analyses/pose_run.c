/* pose_run.c - pose on every frame of a video (see pose_run.h). One run's life: open the sink
 * (network and writers) and the pipe; loop take batch -> (pad) -> infer + write rows -> release
 * -> progress; close the sink (renaming its .part files), or free it (removing them). */
#include "analyses/pose_run.h"
#include "analyses/pose_sink.h"

#include "core/util.h"
#include "media/media_pipe.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run {
    const pose_run_opts *o;
    pose_sink k;
    media_pipe *p;
} run;

/* 1 when inference with this many threads (0: the default, every core) leaves no core idle:
 * decoding then goes between the batches, not beside them (media_pipe.h, DESIGN). */
static int engine_has_every_core(int threads)
{
    cpu_set_t set;

    if (threads <= 0)
        return 1;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 0;
    return threads >= CPU_COUNT(&set);
}

static int open_pipe(run *r, const pose_model *m, const char *video, vas_err *e)
{
    media_norm norm;
    media_pipe_opts po = {.batch = r->o->batch > 0 ? r->o->batch : 4,
                          .depth = 3,
                          .layout = MEDIA_LAYOUT_CHW_F32,
                          .pad_to = m->pad_to, /* slots are the network's input, in place */
                          .pad_reflect = m->pad_reflect,
                          .norm = &norm,
                          .threads = 1, /* inference has the cores; one decoder keeps up */
                          .inline_decode = engine_has_every_core(r->o->threads),
                          .keep_rgb = r->o->keep_rgb,
                          .cancel = r->o->cancel,
                          .lim = r->o->lim};
    int rc = media_norm_init(&norm, m->mean, m->std, m->bgr, e);

    return rc < 0 ? rc : media_pipe_start(video, &po, &r->p, e);
}

static int open_sink(run *r, const pose_model *m, const char *video, const char *prefix,
                     pose_video_out *out, vas_err *e)
{
    const media_video_info *vi = media_pipe_info(r->p);
    const char *base = strrchr(video, '/');
    json_t *head =
        json_pack("{s:s, s:s, s:f, s:i, s:i, s:I, s:s, s:[i,i]}", "model", m->name, "video",
                  r->o->name ? r->o->name
                  : base     ? base + 1
                             : video,
                  "fps", vi->fps, "width", vi->width, "height", vi->height, "frames_estimate",
                  (json_int_t)vi->frames, "codec", vi->codec, "time_base", vi->tb_num, vi->tb_den);
    int rc = pose_sink_open(&r->k, m, r->o, prefix, 0, head, out, e);

    json_decref(head);
    return rc;
}

static int loop(run *r, pose_video_out *out, vas_err *e)
{
    const media_video_info *vi = media_pipe_info(r->p);
    media_batch b;
    int rc;

    while ((rc = media_pipe_take(r->p, &b, e)) == 1) {
        r->k.rgb = b.rgb;
        r->k.rgb_w = vi->width;
        r->k.rgb_h = vi->height;
        r->k.pts = b.pts;
        r->k.tb = vi->tb_den > 0 ? (double)vi->tb_num / vi->tb_den : 0;
        rc = pose_sink_run(&r->k, b.data, b.n, b.height, b.width, b.index, NULL, e);
        media_pipe_release(r->p, &b);
        if (rc < 0)
            return rc;
        out->frames += b.n;
        if (r->o->progress) {
            int64_t total = vi->frames > out->frames ? vi->frames : out->frames;
            rc = r->o->progress(r->o->arg, out->frames, total, e);
            if (rc < 0)
                return rc;
        }
    }
    return rc;
}

static int finish(run *r, pose_video_out *out, int64_t t0, vas_err *e)
{
    const media_video_info *vi = media_pipe_info(r->p);
    media_video_stats st;

    media_pipe_stats(r->p, &st);
    snprintf(out->note, sizeof(out->note), "%s", st.note);
    out->fps = vi->fps;
    out->width = vi->width;
    out->height = vi->height;
    return pose_sink_finish(&r->k, out, t0, "no frame could be decoded from the video", e);
}

int pose_run_video(const pose_model *m, const char *video, const char *prefix,
                   const pose_run_opts *o, pose_video_out *out, vas_err *e)
{
    pose_run_opts def = {0};
    run r = {.o = o ? o : &def};
    int64_t t0 = util_mono_ms();
    int rc;

    memset(out, 0, sizeof(*out));
    rc = open_pipe(&r, m, video, e);
    if (rc == VAS_OK)
        rc = open_sink(&r, m, video, prefix, out, e);
    if (rc == VAS_OK)
        rc = loop(&r, out, e);
    if (rc == VAS_OK)
        rc = finish(&r, out, t0, e);
    media_pipe_free(r.p);
    pose_sink_free(&r.k);
    return rc;
}

void pose_video_out_clear(pose_video_out *out)
{
    free(out->csv);
    free(out->h5);
    free(out->json);
    out->csv = out->h5 = out->json = NULL;
}
