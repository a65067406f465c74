/* tri_run.c - triangulating a take from its cameras' 2D poses (see tri_run.h). */
#include "analyses/tri_run.h"

#include "core/util.h"
#include "geom/geom_tri.h"
#include "pose/dlc_csv.h"
#include "pose/dlc_h5.h"
#include "pose/dlc_read.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_LEN     4096
#define REFINE_ITERS 5 /* Gauss-Newton steps: plenty from the DLT's start (geom_tri.h) */

/* One take: the cameras' tables and where each output body part is in them. */
typedef struct tri_take {
    const geom_models3d_item *it;
    char *const *parts; /* the body parts in output order: camera 1's 2D model's, or (no 2D
                           model) camera 1's table's; borrowed */
    int n_parts;
    const char *ref;               /* where parts come from, for messages */
    double pcutoff;                /* views count when likelihood >= it */
    int n_cams;                    /* = it->model->n_cameras */
    dlc_table t[GEOM_MAX_CAMERAS]; /* x, y, likelihood */
    int *idx[GEOM_MAX_CAMERAS];    /* idx[c][p]: body part p's column in t[c] */
    int64_t frames;
    geom_tri_result *res; /* frames x n_parts */
} take;

/* ---- inputs ---- */

/* Camera c's input as a table: a pose file as it is, else a video analysed now; filtered when
 * o->filter is set. */
static int load_input(take *k, int c, const char *path, const tri_run_opts *o, tri_out *out,
                      vas_err *e)
{
    const char *cam = geom_model3d_camera(k->it->model, c);
    pose_video_out pv = {0};
    pose_run_opts po = o->pose;
    char prefix[PATH_LEN];
    vas_err re = {0};
    int rc = dlc_read(path, &k->t[c], &re);

    if (rc == VAS_OK) {
        rc = dlc_table_select_xyl(&k->t[c], &re);
        if (rc == VAS_OK && o->filter)
            rc = o->filter(o->filter_arg, &k->t[c], &re);
        return rc < 0 ? err_set(e, rc, "camera %s's pose file: %s", cam, re.msg) : VAS_OK;
    }
    if (rc == VAS_ENOMEM || rc == VAS_ETOOBIG)
        return err_set(e, rc, "camera %s's pose file: %s", cam, re.msg);
    if (!k->it->cam[c])
        return err_set(e, VAS_EINVAL,
                       "camera %s's input is not a DeepLabCut pose file (%s); a video needs a 2D "
                       "model, and 3D model %s names none for camera %s (give model_%s or "
                       "config_file_%s in its config.yaml, or a 2D pose file)",
                       cam, re.msg, k->it->model->name, cam, cam, cam);
    snprintf(prefix, sizeof(prefix), "%s/%s", o->tmp_dir ? o->tmp_dir : ".", cam);
    po.name = NULL;
    rc = pose_run_video(k->it->cam[c], path, prefix, &po, &pv, e);
    if (rc == VAS_EINVAL)
        return err_set(e, rc,
                       "camera %s's input is neither a DeepLabCut pose file (%s) nor a video", cam,
                       re.msg);
    if (rc == VAS_OK) {
        out->n_videos++;
        rc = dlc_read(pv.csv, &k->t[c], e);
    }
    if (rc == VAS_OK)
        rc = dlc_table_select_xyl(&k->t[c], e);
    if (rc == VAS_OK && o->filter)
        rc = o->filter(o->filter_arg, &k->t[c], e);
    pose_video_out_clear(&pv);
    return rc;
}

static int find_part(const dlc_table *t, const char *name)
{
    for (int i = 0; i < t->n_parts; i++)
        if (strcmp(t->bodyparts[i], name) == 0)
            return i;
    return -1;
}

/* "a, b" of the names in a[0..na) missing from b[0..nb). */
static void missing(char *const *a, int na, char *const *b, int nb, char *buf, size_t n)
{
    size_t k = 0;

    buf[0] = '\0';
    for (int i = 0; i < na && k < n; i++) {
        int found = 0;
        for (int j = 0; j < nb; j++)
            found |= strcmp(a[i], b[j]) == 0;
        if (!found)
            k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? ", " : "", a[i]);
    }
}

/* idx[c] for camera c; the table must hold exactly the reference body parts. */
static int map_parts(take *k, int c, const char *path, vas_err *e)
{
    const dlc_table *t = &k->t[c];
    char miss[512], extra[512];

    if (!k->parts) { /* no 2D model for camera 1: its table decides */
        k->parts = t->bodyparts;
        k->n_parts = t->n_parts;
    }
    k->idx[c] = calloc((size_t)k->n_parts, sizeof(int));
    if (!k->idx[c])
        return err_set(e, VAS_ENOMEM, "out of memory");
    for (int p = 0; p < k->n_parts; p++)
        k->idx[c][p] = find_part(t, k->parts[p]);
    missing(k->parts, k->n_parts, t->bodyparts, t->n_parts, miss, sizeof(miss));
    missing(t->bodyparts, t->n_parts, k->parts, k->n_parts, extra, sizeof(extra));
    if (!miss[0] && !extra[0])
        return VAS_OK;
    return err_set(e, VAS_EINVAL,
                   "camera %s's poses (%s) have body parts that differ from %s's: "
                   "missing [%s], not in the %s [%s]",
                   geom_model3d_camera(k->it->model, c), path, k->ref, miss,
                   k->it->cam[0] ? "model" : "poses", extra);
}

static int load_inputs(take *k, const char *const *inputs, const tri_run_opts *o, tri_out *out,
                       vas_err *e)
{
    int rc = VAS_OK;

    k->frames = INT64_MAX;
    for (int c = 0; c < k->n_cams && rc == VAS_OK; c++) {
        rc = load_input(k, c, inputs[c], o, out, e);
        if (rc == VAS_OK)
            rc = map_parts(k, c, inputs[c], e);
        if (rc == VAS_OK && k->t[c].n_rows < k->frames)
            k->frames = k->t[c].n_rows;
    }
    if (rc < 0)
        return rc;
    for (int c = 0; c < k->n_cams; c++)
        if (k->t[c].n_rows != k->frames) {
            snprintf(out->note, sizeof(out->note),
                     "the inputs differ in length (camera %s: %lld frames); the first %lld "
                     "frames, seen by every camera, were triangulated",
                     geom_model3d_camera(k->it->model, c), (long long)k->t[c].n_rows,
                     (long long)k->frames);
            break;
        }
    return VAS_OK;
}

/* ---- triangulation ---- */

static int triangulate(take *k, const tri_run_opts *o, vas_err *e)
{
    const geom_model3d *m = k->it->model;
    int np = k->n_parts, rc = VAS_OK;
    geom_tri_opts to = {.refine_iters = REFINE_ITERS,
                        .min_cameras = o->min_cameras,
                        .ransac_threshold = o->ransac_threshold};
    geom_tri *tri = NULL;
    double uv[2 * GEOM_MAX_CAMERAS];

    k->res = calloc((size_t)(k->frames ? k->frames : 1) * (size_t)np, sizeof(*k->res));
    if (!k->res)
        return err_set(e, VAS_ENOMEM, "out of memory for %lld frames", (long long)k->frames);
    rc = geom_tri_new(&m->calib, &to, &tri, e);
    for (int64_t f = 0; f < k->frames && rc == VAS_OK; f++) {
        for (int p = 0; p < np; p++) {
            for (int c = 0; c < k->n_cams; c++) {
                const double *v = &k->t[c].v[(f * k->t[c].n_parts + k->idx[c][p]) * 3];
                int seen = v[2] >= k->pcutoff; /* DeepLabCut: NaN where likelihood < pcutoff */
                uv[2 * c] = seen ? v[0] : NAN;
                uv[2 * c + 1] = seen ? v[1] : NAN;
            }
            geom_tri_point(tri, uv, &k->res[f * np + p]);
        }
        if (o->progress && (f % 64 == 63 || f + 1 == k->frames))
            rc = o->progress(o->arg, f + 1, k->frames, e);
    }
    geom_tri_free(tri);
    return rc;
}

/* ---- outputs ---- */

static int64_t frame_no(const take *k, int64_t f)
{
    return k->t[0].frames ? k->t[0].frames[f] : f;
}

static int write_tables(const take *k, const char *csv, const char *h5, vas_err *e)
{
    static const char *const xyz[] = {"x", "y", "z"};
    int np = k->n_parts, rc;
    pose_layout l = {.scorer = k->it->model->scorername_3d,
                     .bodyparts = (const char *const *)k->parts,
                     .n_bodyparts = np,
                     .coords = xyz,
                     .n_coords = 3};
    dlc_csv *wc = NULL;
    dlc_h5 *wh = NULL;
    double *row = malloc((size_t)np * 3 * sizeof(double));

    if (!row)
        return err_set(e, VAS_ENOMEM, "out of memory");
    rc = dlc_csv_open(csv, &l, &wc, e);
    if (rc == VAS_OK)
        rc = dlc_h5_open(h5, &l, &wh, e);
    for (int64_t f = 0; f < k->frames && rc == VAS_OK; f++) {
        for (int p = 0; p < np; p++)
            memcpy(&row[3 * p], k->res[f * np + p].X, 3 * sizeof(double));
        rc = dlc_csv_add_row(wc, frame_no(k, f), NULL, row, e);
        if (rc == VAS_OK)
            rc = dlc_h5_add_row(wh, frame_no(k, f), NULL, row, e);
    }
    free(row);
    if (rc < 0) {
        dlc_csv_abort(wc);
        dlc_h5_abort(wh);
        return rc;
    }
    rc = dlc_csv_close(wc, e);
    if (rc == VAS_OK)
        return dlc_h5_close(wh, e);
    dlc_h5_abort(wh);
    return rc;
}

/* s as a JSON string. */
static void put_str(FILE *f, const char *s)
{
    json_t *j = json_string(s);
    char *d = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

    fputs(d ? d : "null", f);
    free(d);
    json_decref(j);
}

static void put_num(FILE *f, double v, int digits)
{
    if (isfinite(v))
        fprintf(f, "%.*g", digits, v);
    else
        fputs("null", f);
}

/* One column of body part p: what = 0..2 x y z, 3 cameras, 4 reproj. */
static void put_column(FILE *f, const take *k, int p, int what)
{
    static const char *const keys[] = {"x", "y", "z", "cameras", "reproj"};
    int np = k->n_parts;

    fprintf(f, "%s\"%s\": [", what ? ", " : "", keys[what]);
    for (int64_t i = 0; i < k->frames; i++) {
        const geom_tri_result *r = &k->res[i * np + p];
        if (i)
            fputc(',', f);
        if (what < 3)
            put_num(f, r->X[what], 17);
        else if (what == 3)
            fprintf(f, "%d", r->n_cams);
        else
            put_num(f, r->reproj, 6);
    }
    fputc(']', f);
}

static void put_json(FILE *f, const take *k)
{
    const geom_model3d *m = k->it->model;

    fputs("{\"model\": ", f);
    put_str(f, m->name);
    fputs(", \"scorer\": ", f);
    put_str(f, m->scorername_3d);
    fputs(", \"cameras\": [", f);
    for (int c = 0; c < k->n_cams; c++) {
        fputs(c ? ", " : "", f);
        put_str(f, geom_model3d_camera(m, c));
    }
    fprintf(f, "], \"pcutoff\": %.17g, \"units\": \"calibration\", \"frames\": %lld, \"index\": [",
            k->pcutoff, (long long)k->frames);
    for (int64_t i = 0; i < k->frames; i++)
        fprintf(f, "%s%lld", i ? "," : "", (long long)frame_no(k, i));
    fputs("], \"bodyparts\": [", f);
    for (int p = 0; p < k->n_parts; p++) {
        fputs(p ? ", " : "", f);
        put_str(f, k->parts[p]);
    }
    fputs("], \"points\": {", f);
    for (int p = 0; p < k->n_parts; p++) {
        fputs(p ? ",\n  " : "\n  ", f);
        put_str(f, k->parts[p]);
        fputs(": {", f);
        for (int w = 0; w < 5; w++)
            put_column(f, k, p, w);
        fputc('}', f);
    }
    fputs("}}\n", f);
}

static int write_json(const take *k, const char *path, vas_err *e)
{
    char *part = NULL;
    FILE *f;
    int rc = pose_part_path(path, &part, e);

    if (rc < 0)
        return rc;
    f = fopen(part, "w");
    if (!f) {
        rc = err_sys(e, VAS_EIO, errno, "cannot write %s", part);
        free(part);
        return rc;
    }
    put_json(f, k);
    rc = pose_part_close(f, part, path, e);
    free(part);
    return rc;
}

/* <prefix><ext> as a new string. */
static char *with_ext(const char *prefix, const char *ext)
{
    size_t n = strlen(prefix) + strlen(ext) + 1;
    char *s = malloc(n);

    if (s)
        snprintf(s, n, "%s%s", prefix, ext);
    return s;
}

static void take_clear(take *k)
{
    for (int c = 0; c < GEOM_MAX_CAMERAS; c++) {
        dlc_table_free(&k->t[c]);
        free(k->idx[c]);
    }
    free(k->res);
}

int tri_run(const geom_models3d_item *it, const char *const *inputs, const char *prefix,
            const tri_run_opts *o, tri_out *out, vas_err *e)
{
    take k = {.it = it, .n_cams = it->model->n_cameras};
    int64_t t0 = util_mono_ms();
    char ref[GEOM_NAME_MAX + 256];
    int rc;

    if (it->cam[0]) {
        k.parts = it->cam[0]->bodyparts;
        k.n_parts = it->cam[0]->n_bodyparts;
    }
    snprintf(ref, sizeof(ref), "%s %s", it->cam[0] ? "model" : "camera",
             it->cam[0] ? it->cam[0]->name : geom_model3d_camera(it->model, 0));
    k.ref = ref;
    k.pcutoff = o->pcutoff_set ? o->pcutoff : it->model->pcutoff;
    rc = load_inputs(&k, inputs, o, out, e);

    if (rc == VAS_OK)
        rc = triangulate(&k, o, e);
    if (rc == VAS_OK) {
        out->csv = with_ext(prefix, ".csv");
        out->h5 = with_ext(prefix, ".h5");
        out->json = with_ext(prefix, ".json");
        if (!out->csv || !out->h5 || !out->json)
            rc = err_set(e, VAS_ENOMEM, "out of memory");
    }
    if (rc == VAS_OK)
        rc = write_tables(&k, out->csv, out->h5, e);
    if (rc == VAS_OK)
        rc = write_json(&k, out->json, e);
    if (rc == VAS_OK && o->on_take)
        rc = o->on_take(o->take_arg, &k, e);
    out->frames = k.frames;
    out->seconds = (double)(util_mono_ms() - t0) / 1000.0;
    take_clear(&k);
    return rc;
}

void tri_out_clear(tri_out *out)
{
    free(out->csv);
    free(out->h5);
    free(out->json);
    memset(out, 0, sizeof(*out));
}

int64_t tri_take_frames(const tri_take *k)
{
    return k->frames;
}

int tri_take_parts(const tri_take *k, const char *const **names)
{
    if (names)
        *names = (const char *const *)k->parts;
    return k->n_parts;
}

double *tri_take_xyz(const tri_take *k)
{
    size_t n = (size_t)k->frames * (size_t)k->n_parts;
    double *xyz = malloc((n ? n : 1) * 3 * sizeof(double));

    for (size_t i = 0; xyz && i < n; i++)
        memcpy(&xyz[3 * i], k->res[i].X, 3 * sizeof(double));
    return xyz;
}

void tri_take_xyl(const tri_take *k, int c, int64_t f, double *xyl)
{
    const dlc_table *t = &k->t[c];

    for (size_t p = 0; p < (size_t)k->n_parts; p++)
        memcpy(&xyl[3 * p], &t->v[(f * t->n_parts + k->idx[c][p]) * 3], 3 * sizeof(double));
}
