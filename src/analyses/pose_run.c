/* pose_run.c - pose on every frame of a video (see pose_run.h). One run's life: open the sink
 * (network and writers) and the pipe; loop take batch -> (pad) -> infer + write rows -> release
 * -> progress; close the sink (renaming its .part files), or free it (removing them). */
#include "analyses/pose_run.h"
#include "analyses/pose_sink.h"

#include "core/log.h"
#include "core/util.h"
#include "media/media_pipe.h"

#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run {
    const pose_run_opts *o;
    pose_sink k;
    media_pipe *p;
} run;

/* The cores this process may run on (0 when that cannot be read). */
static int process_cores(void)
{
    cpu_set_t set;

    return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
}

/* 1 when inference with this many threads (0: the default, every core) leaves no core idle:
 * decoding then goes between the batches, not beside them (media_pipe.h, DESIGN). */
static int engine_has_every_core(int threads)
{
    int cores = threads > 0 ? process_cores() : 0;

    return threads <= 0 || (cores > 0 && threads >= cores);
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

/* Sets the sink's picture and times for batch b (the rows' pictures and timestamps). */
static void batch_meta(run *r, const media_batch *b)
{
    const media_video_info *vi = media_pipe_info(r->p);

    r->k.rgb = b->rgb;
    r->k.rgb_w = vi->width;
    r->k.rgb_h = vi->height;
    r->k.pts = b->pts;
    r->k.tb = vi->tb_den > 0 ? (double)vi->tb_num / vi->tb_den : 0;
}

/* Counts batch b's frames as done and tells the caller's progress callback. */
static int batch_done(run *r, const media_batch *b, pose_video_out *out, vas_err *e)
{
    const media_video_info *vi = media_pipe_info(r->p);

    out->frames += b->n;
    if (r->o->progress) {
        int64_t total = vi->frames > out->frames ? vi->frames : out->frames;
        return r->o->progress(r->o->arg, out->frames, total, e);
    }
    return VAS_OK;
}

static int loop(run *r, pose_video_out *out, vas_err *e)
{
    media_batch b;
    int rc;

    while ((rc = media_pipe_take(r->p, &b, e)) == 1) {
        batch_meta(r, &b);
        rc = pose_sink_run(&r->k, b.data, b.n, b.height, b.width, b.index, NULL, e);
        media_pipe_release(r->p, &b);
        if (rc == VAS_OK)
            rc = batch_done(r, &b, out, e);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* ---- streams (DESIGN in pose_run.h) ---- */

enum { N_STREAMS = 2 };

typedef struct streams streams;

typedef struct stream {
    streams *ss;
    nn_session *s; /* stream 0: the sink's (cached) session; the others: their own */
    int threads;   /* OpenMP threads it runs on */
    double *xyl;   /* its batch's poses: batch x 3 x n_bodyparts */
    int64_t runs;  /* batches it ran */
    pthread_t th;
    int started;
} stream;

struct streams {
    run *r;
    pose_video_out *out;
    pthread_mutex_t take_mu; /* one take (decoding a batch) at a time */
    pthread_mutex_t s0_mu;   /* stream 0's session: its runs, and a retired stream's last */
    pthread_mutex_t mu;      /* the rest, below */
    pthread_cond_t cv;       /* next_write moved, or failed */
    int64_t next_take;       /* sequence number of the next batch taken */
    int64_t next_write;      /* the batch whose rows are written next */
    atomic_int failed;       /* 1: the first error is in rc, err; every stream stops (set
                                under mu, read anywhere) */
    atomic_int alone;        /* 1: the other stream retired; stream 0 takes every core */
    int cores;
    int rc;
    vas_err err;
    stream st[N_STREAMS];
};

/* Records the first error and stops the other streams and the decoder. */
static void streams_fail(streams *ss, int rc, const vas_err *e)
{
    pthread_mutex_lock(&ss->mu);
    if (!ss->failed) {
        ss->failed = 1;
        ss->rc = rc;
        ss->err = *e;
    }
    pthread_cond_broadcast(&ss->cv);
    pthread_mutex_unlock(&ss->mu);
    media_pipe_stop(ss->r->p);
}

/* Batch seq's rows, once every batch before it has its rows: in order, on any stream. */
static int stream_write(stream *w, int64_t seq, const media_batch *b, int64_t ms, int rc,
                        vas_err *e)
{
    streams *ss = w->ss;
    run *r = ss->r;

    pthread_mutex_lock(&ss->mu);
    while (ss->next_write != seq && !ss->failed)
        pthread_cond_wait(&ss->cv, &ss->mu);
    if (ss->failed && rc == VAS_OK)
        rc = VAS_ECANCELLED; /* another stream's error is the one reported */
    if (rc == VAS_OK) {
        pose_sink_timed(&r->k, ms);
        batch_meta(r, b);
        rc = pose_sink_write(&r->k, b->n, b->index, NULL, w->xyl, e);
    }
    if (rc == VAS_OK)
        rc = batch_done(r, b, ss->out, e);
    ss->next_write++;
    pthread_cond_broadcast(&ss->cv);
    pthread_mutex_unlock(&ss->mu);
    return rc;
}

/* Batch b on stream w's session. Stream 0's session is under s0_mu. A stream whose own
 * session fails on its first batch (its plan: memory, most likely, under LIMIT_WORKER_MEMORY)
 * frees that session, runs the batch on stream 0's, and retires (*retire = 1): the video goes
 * on as one session on every core, as without streams, instead of failing. */
static int stream_infer(stream *w, const media_batch *b, int64_t *ms, int *retire, vas_err *e)
{
    streams *ss = w->ss;
    run *r = ss->r;
    int rc;

    if (w != &ss->st[0]) {
        rc = pose_sink_infer(&r->k, w->s, b->data, b->n, b->height, b->width, w->xyl, ms, e);
#ifdef VAS_TEST_BUILD /* tests: a second stream whose plan does not fit */
        if (w->runs == 0 && getenv("VAS_TEST_STREAM_NOMEM")) /* NOLINT(concurrency-mt-unsafe) */
            rc = err_set(e, VAS_ENOMEM, "out of memory planning (VAS_TEST_STREAM_NOMEM)");
#endif
        if (rc == VAS_OK || w->runs > 0)
            return rc;
        log_warn("pose", "event=stream_retired why=\"%s\"", e->msg);
        nn_session_free(w->s);
        w->s = NULL;
        *retire = 1;
    }
    pthread_mutex_lock(&ss->s0_mu);
    if (atomic_load(&ss->alone) && w == &ss->st[0] && w->threads != ss->cores) {
        w->threads = ss->cores; /* the other stream retired: every core to this one */
        omp_set_num_threads(ss->cores);
        nn_session_set_threads(r->k.s, ss->cores);
    }
    rc = pose_sink_infer(&r->k, r->k.s, b->data, b->n, b->height, b->width, w->xyl, ms, e);
    if (rc < 0)
        r->k.net_failed = 1; /* under s0_mu; read after the join */
    pthread_mutex_unlock(&ss->s0_mu);
    return rc;
}

/* A stream: take the next batch, run it on its own session, write its rows in turn; until
 * the video ends, a stream fails, or (not stream 0) it retires. */
static void stream_loop(stream *w)
{
    streams *ss = w->ss;
    run *r = ss->r;

    omp_set_num_threads(w->threads);
    for (;;) {
        media_batch b;
        vas_err e = {0};
        int64_t seq, ms = 0;
        int rc, retire = 0;
        pthread_mutex_lock(&ss->take_mu);
        rc = ss->failed ? 0 : media_pipe_take(r->p, &b, &e);
        seq = ss->next_take++;
        pthread_mutex_unlock(&ss->take_mu);
        if (rc <= 0) {
            if (rc < 0)
                streams_fail(ss, rc, &e);
            return;
        }
        rc = stream_infer(w, &b, &ms, &retire, &e);
        w->runs++;
        rc = stream_write(w, seq, &b, ms, rc, &e);
        media_pipe_release(r->p, &b);
        if (rc < 0) {
            streams_fail(ss, rc, &e); /* only the first error is kept */
            return;
        }
        if (retire) {
            atomic_store(&ss->alone, 1);
            return;
        }
    }
}

static void *stream_main(void *arg)
{
    stream_loop(arg);
    return NULL;
}

/* Whether this run's frames go to streams, and on how many cores: every core is inference's
 * (decoding inline), there are 2 or more, the frames are large (64 K pixels: where one frame has
 * work for every thread, nn.h) and the video long enough to repay a second plan (16 batches).
 * int8 sessions calibrate on their own first frames, so they keep one session. */
static int streams_cores(const run *r, const pose_model *m)
{
    const media_video_info *vi = media_pipe_info(r->p);
    int batch = r->o->batch > 0 ? r->o->batch : 4;
    int cores = r->o->threads > 0 ? r->o->threads : process_cores();

    if (r->o->one_stream || r->o->int8 || m->int8 || !engine_has_every_core(r->o->threads))
        return 0;
    if (cores < N_STREAMS || (int64_t)vi->width * vi->height < 65536 ||
        vi->frames < (int64_t)16 * batch)
        return 0;
    return cores;
}

/* Frees what loop_streams made for its streams. */
static void streams_free(streams *ss)
{
    for (int i = 0; i < N_STREAMS; i++) {
        if (i > 0)
            nn_session_free(ss->st[i].s);
        free(ss->st[i].xyl);
    }
    pthread_cond_destroy(&ss->cv);
    pthread_mutex_destroy(&ss->mu);
    pthread_mutex_destroy(&ss->s0_mu);
    pthread_mutex_destroy(&ss->take_mu);
}

/* Runs the video as streams over `cores` cores; where a stream cannot be made (memory), as one
 * session (loop), saying so in the log. */
static int loop_streams(run *r, int cores, pose_video_out *out, vas_err *e)
{
    streams ss = {.r = r, .out = out, .failed = 0, .alone = 0, .cores = cores};
    nn_options no = {.bf16 = r->o->bf16};
    int batch = r->o->batch > 0 ? r->o->batch : 4, saved = omp_get_max_threads();
    int keep = nn_session_threads(r->k.s), rc = VAS_OK, ran = 1;
    vas_err se = {0};

    pthread_mutex_init(&ss.take_mu, NULL);
    pthread_mutex_init(&ss.s0_mu, NULL);
    pthread_mutex_init(&ss.mu, NULL);
    pthread_cond_init(&ss.cv, NULL);
    for (int i = 0; i < N_STREAMS && rc == VAS_OK; i++) {
        stream *w = &ss.st[i];
        w->ss = &ss;
        w->threads = cores / N_STREAMS + (i < cores % N_STREAMS);
        w->xyl = calloc((size_t)batch * 3 * (size_t)r->k.m->n_bodyparts, sizeof(double));
        no.threads = w->threads;
        if (!w->xyl)
            rc = err_set(&se, VAS_ENOMEM, "out of memory for a stream's poses");
        else if (i > 0)
            rc = nn_session_new(r->k.g, &no, &w->s, &se);
    }
    if (rc < 0) {
        log_warn("pose", "event=one_stream why=\"%s\"", se.msg);
        streams_free(&ss);
        return loop(r, out, e);
    }
    ss.st[0].s = r->k.s;
    nn_session_set_threads(r->k.s, ss.st[0].threads);
    for (int i = 1; i < N_STREAMS; i++) {
        ss.st[i].started = pthread_create(&ss.st[i].th, NULL, stream_main, &ss.st[i]) == 0;
        if (!ss.st[i].started) /* stream 0 runs the video alone, on every core */
            atomic_store(&ss.alone, 1);
    }
    stream_loop(&ss.st[0]);
    for (int i = 1; i < N_STREAMS; i++)
        if (ss.st[i].started)
            pthread_join(ss.st[i].th, NULL);
    nn_session_set_threads(r->k.s, keep);
    omp_set_num_threads(saved);
    rc = ss.failed ? ss.rc : VAS_OK;
    if (ss.failed)
        *e = ss.err;
    for (int i = 1; i < N_STREAMS; i++)
        ran += ss.st[i].started && ss.st[i].s; /* ran on a session of its own to the end */
    /* The sink added every batch's network time, which adds up over the streams running side
     * by side: per stream, it is a wall time again, comparable with one session's. */
    r->k.infer_ms /= ran;
    out->streams = ran;
    streams_free(&ss);
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
    if (rc == VAS_OK) {
        int cores = streams_cores(&r, m);
        out->streams = 1;
        rc = cores ? loop_streams(&r, cores, out, e) : loop(&r, out, e);
    }
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
