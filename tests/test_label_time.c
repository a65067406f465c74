/* test_label_time.c - the labeled video keeps every input frame's timestamp and the input's time
 * base (label_run.h), with ffprobe -show_frames as the judge: clips made here by the ffmpeg
 * program (variable rate by setpts in mp4 and mkv, and a constant 1000000/33333 fps), drawn from
 * synthetic poses; outputframerate writes a constant rate instead; start/end keep the input's
 * times of the frames they pick; and the pose JSON carries each frame's time (t, pts, time_base)
 * as ffprobe reads it. Skips, saying why, where ffmpeg or ffprobe is missing (Debian: ffmpeg). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyses/label_run.h"
#include "media/media_video.h"
#include "pose/dlc_csv.h"
#include "test_label_fx.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>

#define MAXF 64

/* 1, saying so, when the ffmpeg and ffprobe programs are missing: the test is skipped. */
static int no_ffmpeg(void)
{
    if (system("ffmpeg -version >/dev/null 2>&1 && ffprobe -version >/dev/null 2>&1") == 0)
        return 0;
    printf("skipped: no ffmpeg/ffprobe programs (Debian package ffmpeg)\n");
    return 1;
}

/* Runs cmd in the shell; fails the test when it fails. */
static void sh(const char *cmd)
{
    if (system(cmd) != 0)
        fail_msg("failed: %s", cmd);
}

/* A frame as ffprobe shows it. */
typedef struct probe_frame {
    int64_t pts;
    char pts_time[32];
} probe_frame;

typedef struct probe {
    char time_base[32], r_frame_rate[32];
    probe_frame f[MAXF];
    int n;
} probe;

/* ffprobe's view of path's video stream: time base, rate and every frame's pts. */
static void ffprobe(const char *path, probe *p)
{
    char cmd[1024], line[256];
    FILE *in;

    memset(p, 0, sizeof(*p));
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v:0 -show_entries stream=time_base,r_frame_rate "
             "-of csv=p=0 '%s'",
             path);
    in = popen(cmd, "r");
    assert_non_null(in);
    assert_non_null(fgets(line, sizeof(line), in));
    assert_int_equal(sscanf(line, "%31[^,],%31[^,\n]", p->r_frame_rate, p->time_base), 2);
    pclose(in);
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v:0 -show_frames -show_entries frame=pts,pts_time "
             "-of csv=p=0 '%s'",
             path);
    in = popen(cmd, "r");
    assert_non_null(in);
    while (p->n < MAXF && fgets(line, sizeof(line), in)) {
        probe_frame *f = &p->f[p->n];
        long long pts;
        if (sscanf(line, "%lld,%31[^,\n]", &pts, f->pts_time) != 2)
            continue; /* a line of side data (x264's SEI) */
        f->pts = pts;
        p->n++;
    }
    assert_int_equal(pclose(in), 0);
}

/* Poses for n frames: the snout moving right, the rest still. */
static void write_poses(fx *f, const char *path, int n)
{
    pose_layout l = {.scorer = f->m->scorer,
                     .bodyparts = (const char *const *)f->m->bodyparts,
                     .n_bodyparts = f->m->n_bodyparts};
    dlc_csv *w = NULL;
    vas_err e = {0};

    assert_int_equal(dlc_csv_open(path, &l, &w, &e), 0);
    for (int i = 0; i < n; i++) {
        double xyl[12] = {20 + 2 * i, 60, 0.95, 80, 40, 0.9, 80, 80, 0.9, 120, 60, 0.9};
        assert_int_equal(dlc_csv_add_row(w, i, NULL, xyl, &e), 0);
    }
    assert_int_equal(dlc_csv_close(w, &e), 0);
}

/* Labels clip (n frames) from synthetic poses with lo (NULL: defaults); ffprobe's view of the
 * labeled video into *p; the frames drawn returned. */
static int64_t label(fx *f, const char *clip, int n, const label_opts *lo, probe *p)
{
    char poses[600], prefix[600];
    label_out out = {0};
    vas_err e = {0};
    int64_t drawn;

    snprintf(poses, sizeof(poses), "%s/poses.csv", f->d.dir);
    snprintf(prefix, sizeof(prefix), "%s/out", f->d.dir);
    write_poses(f, poses, n);
    if (label_run_video_opts(f->m, clip, poses, prefix, NULL, lo, &out, &e) < 0)
        fail_msg("%s", e.msg);
    ffprobe(out.video, p);
    drawn = out.labeled_frames;
    label_out_clear(&out);
    return drawn;
}

/* The variable-rate clip: 30 frames 40 ms apart, then 100 ms, then 70 ms (setpts), in ext. */
static void make_vfr(fx *f, const char *ext, char *path, size_t n)
{
    char cmd[1400];

    snprintf(path, n, "%s/vfr.%s", f->d.dir, ext);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -v error -y -f lavfi -i testsrc=size=160x120:rate=25 -frames:v 30 "
             "-vf \"settb=1/1000,setpts='(0.04*N+0.06*max(0\\,N-9)-0.03*max(0\\,N-19))/TB'\" "
             "-enc_time_base -1 -fps_mode passthrough -c:v libx264 -preset ultrafast "
             "-pix_fmt yuv420p '%s'",
             path);
    sh(cmd);
}

/* in and out show the same frames at the same times in the same time base. */
static void same_times(const probe *in, const probe *out)
{
    assert_string_equal(out->time_base, in->time_base);
    assert_int_equal(out->n, in->n);
    for (int i = 0; i < in->n; i++) {
        if (out->f[i].pts != in->f[i].pts || strcmp(out->f[i].pts_time, in->f[i].pts_time) != 0)
            fail_msg("frame %d: pts %lld (%s s), the input's %lld (%s s)", i,
                     (long long)out->f[i].pts, out->f[i].pts_time, (long long)in->f[i].pts,
                     in->f[i].pts_time);
    }
}

static void vfr_in(fx *f, const char *ext)
{
    char clip[600];
    probe in, out;

    make_vfr(f, ext, clip, sizeof(clip));
    ffprobe(clip, &in);
    assert_int_equal(in.n, 30);
    /* the clip is variable-rate: its gaps are not all the same */
    assert_true(in.f[5].pts - in.f[4].pts != in.f[15].pts - in.f[14].pts);
    int64_t drawn = label(f, clip, 30, NULL, &out);
    same_times(&in, &out);
    assert_int_equal(drawn, 30);
}

static void vfr_mp4_keeps_timestamps(void **state)
{
    if (no_ffmpeg())
        return;
    vfr_in(*state, "mp4");
}

static void vfr_mkv_keeps_time_base(void **state)
{
    if (no_ffmpeg())
        return;
    vfr_in(*state, "mkv"); /* 1/1000: not doubled up to mp4's usual 1/16000 */
}

/* 1000000/33333 fps stays that, not 30/1, and every timestamp is the input's. */
static void cfr_1000000_33333(void **state)
{
    fx *f = *state;
    char clip[600], cmd[1400];
    probe in, out;

    if (no_ffmpeg())
        return;
    snprintf(clip, sizeof(clip), "%s/cfr.mp4", f->d.dir);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -v error -y -f lavfi -i testsrc=size=160x120:rate=1000000/33333 "
             "-frames:v 20 -c:v libx264 -preset ultrafast -pix_fmt yuv420p '%s'",
             clip);
    sh(cmd);
    ffprobe(clip, &in);
    assert_string_equal(in.r_frame_rate, "1000000/33333");
    int64_t drawn = label(f, clip, 20, NULL, &out);
    assert_int_equal(drawn, 20);
    same_times(&in, &out);
    assert_string_equal(out.r_frame_rate, "1000000/33333");
}

/* outputframerate: the frames at a constant 10 fps, whatever the input's times. */
static void outputframerate_is_constant(void **state)
{
    fx *f = *state;
    char clip[600];
    probe out;
    label_opts o;

    if (no_ffmpeg())
        return;
    make_vfr(f, "mp4", clip, sizeof(clip));
    label_opts_default(&o);
    o.outputframerate = 10;
    int64_t drawn = label(f, clip, 30, &o, &out);
    assert_int_equal(drawn, 30);
    assert_int_equal(out.n, 30);
    assert_string_equal(out.r_frame_rate, "10/1");
    for (int i = 0; i < out.n; i++)
        assert_true(fabs(atof(out.f[i].pts_time) - i * 0.1) < 1e-6);
}

/* start/end: frames floor(30 * 0.2) = 6 to ceil(30 * 0.55) - 1 = 16, at their input times. */
static void start_end_keep_times(void **state)
{
    fx *f = *state;
    char clip[600];
    probe in, out;
    label_opts o;

    if (no_ffmpeg())
        return;
    make_vfr(f, "mp4", clip, sizeof(clip));
    ffprobe(clip, &in);
    label_opts_default(&o);
    o.start = 0.2;
    o.end = 0.55;
    int64_t drawn = label(f, clip, 30, &o, &out);
    assert_int_equal(drawn, 11);
    assert_int_equal(out.n, 11);
    for (int i = 0; i < out.n; i++)
        assert_string_equal(out.f[i].pts_time, in.f[6 + i].pts_time);
}

/* The network on the variable-rate clip: the JSON's rows carry ffprobe's pts and pts_time. */
static void pose_json_has_times(void **state)
{
    fx *f = *state;
    char clip[600], prefix[600];
    probe in;
    label_out lo = {0};
    vas_err e = {0};
    json_error_t je;
    json_t *js, *rows, *tb;

    if (no_ffmpeg())
        return;
    make_vfr(f, "mkv", clip, sizeof(clip));
    ffprobe(clip, &in);
    snprintf(prefix, sizeof(prefix), "%s/net", f->d.dir);
    if (label_run_video(f->m, clip, NULL, prefix, NULL, &lo, &e) < 0)
        fail_msg("%s", e.msg);
    js = json_load_file(lo.pose.json, 0, &je);
    assert_non_null(js);
    tb = json_object_get(js, "time_base");
    assert_int_equal(json_integer_value(json_array_get(tb, 0)), 1);
    assert_int_equal(json_integer_value(json_array_get(tb, 1)), 1000);
    rows = json_object_get(js, "predictions");
    assert_int_equal((int)json_array_size(rows), in.n);
    for (int i = 0; i < in.n; i++) {
        json_t *r = json_array_get(rows, (size_t)i);
        assert_int_equal(json_integer_value(json_object_get(r, "pts")), in.f[i].pts);
        assert_true(fabs(json_number_value(json_object_get(r, "t")) - atof(in.f[i].pts_time)) <
                    1e-9);
    }
    json_decref(js);
    label_out_clear(&lo);
}

int main(void)
{
    media_log_setup();
    const struct CMUnitTest tests[] = {
        LABEL_TEST(vfr_mp4_keeps_timestamps, label_fx_setup),
        LABEL_TEST(vfr_mkv_keeps_time_base, label_fx_setup),
        LABEL_TEST(cfr_1000000_33333, label_fx_setup),
        LABEL_TEST(outputframerate_is_constant, label_fx_setup),
        LABEL_TEST(start_end_keep_times, label_fx_setup),
        LABEL_TEST(pose_json_has_times, label_fx_setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
