/* pose_plots.c - see pose_plots.h. */
#include "analyses/pose_plots.h"

#include "pose/pose_draw.h"
#include "pose/pose_plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pose_plots_keys[POSE_PLOTS_N] = {"plot_trajectories", "plot_likelihood",
                                                   "plot_histogram", "plot_positions"};
/* DeepLabCut/DeepLabCut: deeplabcut/utils/plotting.py (PlottingResults) saves "trajectory",
 * "plot-likelihood", "hist" and "plot" + suffix; vas puts the video's prefix in front. */
static const char *const suffix[POSE_PLOTS_N] = {"_trajectory.png", "_plot-likelihood.png",
                                                 "_hist.png", "_plot.png"};

int pose_plots_add(pose_plots *p, int n_parts, const double *xyl, vas_err *e)
{
    size_t row = 3 * (size_t)n_parts;

    if (p->n == 0)
        p->n_parts = n_parts;
    if (n_parts != p->n_parts)
        return err_set(e, VAS_EINVAL, "rows of %d and %d bodyparts in one track", p->n_parts,
                       n_parts);
    if (p->n == p->cap) {
        int64_t cap = p->cap ? p->cap * 2 : 1024;
        double *v = realloc(p->v, (size_t)cap * row * sizeof(double));
        if (!v)
            return err_set(e, VAS_ENOMEM, "out of memory for the track of %lld frames",
                           (long long)p->n);
        p->v = v;
        p->cap = cap;
    }
    memcpy(p->v + (size_t)p->n * row, xyl, row * sizeof(double));
    p->n++;
    return VAS_OK;
}

int pose_plots_write(const pose_plots *p, const pose_model *m, int w, int h, double fps,
                     const char *prefix, char *out[POSE_PLOTS_N], vas_err *e)
{
    pose_track t = {.n_frames = p->n,
                    .n_parts = m->n_bodyparts,
                    .xyl = p->v,
                    .names = (const char *const *)m->bodyparts,
                    .width = w,
                    .height = h,
                    .fps = fps};
    int (*const draw[POSE_PLOTS_N])(const pose_track *, const pose_style *, const char *,
                                    vas_err *) = {pose_plot_trajectories, pose_plot_likelihood,
                                                  pose_plot_histogram, pose_plot_positions};
    pose_style s;
    int rc;

    memset(out, 0, sizeof(char *) * POSE_PLOTS_N);
    if (p->n > 0 && p->n_parts != m->n_bodyparts)
        return err_set(e, VAS_EINVAL, "the track has %d bodyparts, model '%s' %d", p->n_parts,
                       m->name, m->n_bodyparts);
    rc = pose_style_init(&s, m, e);
    for (int i = 0; i < POSE_PLOTS_N && rc == VAS_OK; i++) {
        size_t n = strlen(prefix) + strlen(suffix[i]) + 1;
        out[i] = malloc(n);
        if (!out[i])
            return err_set(e, VAS_ENOMEM, "out of memory");
        snprintf(out[i], n, "%s%s", prefix, suffix[i]);
        rc = draw[i](&t, &s, out[i], e);
    }
    return rc;
}

void pose_plots_free(pose_plots *p)
{
    free(p->v);
    memset(p, 0, sizeof(*p));
}
