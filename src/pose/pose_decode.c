/* pose_decode.c - argmax + location refinement per joint (see pose_decode.h for the formula and
 * the DeepLabCut sources it follows). */
#include "pose/pose_decode.h"

#include <math.h>
#include <stddef.h>

/* Index of the first maximum of c[0..n), NaN skipped; 0 if all are NaN. */
static size_t first_argmax(const float *c, size_t n)
{
    size_t best = 0, i = 0;

    while (i < n && isnan(c[i]))
        i++;
    if (i == n)
        return 0;
    best = i;
    for (i++; i < n; i++)
        if (c[i] > c[best]) /* strict: ties keep the first, as numpy.argmax */
            best = i;
    return best;
}

static double clip01(double v)
{
    if (v < 0)
        return 0;
    if (v > 1)
        return 1;
    return v; /* NaN stays NaN */
}

int pose_decode(const pose_maps *m, double *xyl, vas_err *e)
{
    size_t plane, at, row, col;
    int j;

    if (!m || !m->scores || !xyl)
        return err_set(e, VAS_EINVAL, "pose_decode: missing score map or output");
    if (m->n_joints < 1 || m->n_joints > POSE_MAX_JOINTS || m->h < 1 || m->h > POSE_MAX_MAP ||
        m->w < 1 || m->w > POSE_MAX_MAP)
        return err_set(e, VAS_EINVAL, "pose maps of %d joints x %d x %d are out of range",
                       m->n_joints, m->h, m->w);
    if (!(m->stride > 0) || (m->locref && !isfinite(m->locref_stdev)))
        return err_set(e, VAS_EINVAL,
                       "pose decoding needs a positive stride and a finite "
                       "locref_stdev");
    plane = (size_t)m->h * (size_t)m->w;
    for (j = 0; j < m->n_joints; j++) {
        const float *c = m->scores + (size_t)j * plane;
        double dx = 0, dy = 0;

        at = first_argmax(c, plane);
        if (m->locref) {
            dx = (double)m->locref[(size_t)(2 * j) * plane + at] * m->locref_stdev;
            dy = (double)m->locref[(size_t)(2 * j + 1) * plane + at] * m->locref_stdev;
        }
        row = at / (size_t)m->w;
        col = at % (size_t)m->w;
        xyl[3 * j + 0] = (double)col * m->stride + 0.5 * m->stride + dx;
        xyl[3 * j + 1] = (double)row * m->stride + 0.5 * m->stride + dy;
        xyl[3 * j + 2] = clip01((double)c[at]);
    }
    return VAS_OK;
}
