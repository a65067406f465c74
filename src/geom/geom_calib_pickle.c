/* geom_calib_pickle.c - DeepLabCut's camera_matrix/stereo_params.pickle (dlc-facts §6;
 * DeepLabCut/DeepLabCut: deeplabcut/pose_estimation_3d/camera_calibration.py
 * (calibrate_cameras)) into two geom_calib cameras, as tools/dlc3d_import.py --world camera1
 * does: {"<cam1>-<cam2>": {cameraMatrix1/2, distCoeffs1/2, R, T, image_shape, ...}} with
 * x2 = R x1 + T (cv2.stereoCalibrate), so camera 1 is the world (R = I, t = 0) and camera 2
 * gets R, T. The pair's key is split into the two camera names where the halves share the
 * longest prefix ("camera-1-camera-2" -> camera-1, camera-2). image_shape: [(w, h), (w, h)],
 * as the import script reads it; optional. The rectification (R1, P1, ...) is not used:
 * vas triangulates in camera 1's frame (DeepLabCut's output is in camera 1's rectified one). */
#include "geom/geom_calib_int.h"
#include "geom/geom_pickle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key's split into a and b (of the '-' splits, the one whose halves share the longest
 * prefix, then the most even). -1 when none. */
static int split_pair(const char *key, char *a, char *b)
{
    size_t len = strlen(key), best = 0;
    long score = -1;

    for (size_t i = 1; i + 1 < len; i++) {
        size_t common = 0;
        long s;
        if (key[i] != '-')
            continue;
        while (common < i && i + 1 + common < len && key[common] == key[i + 1 + common])
            common++;
        s = (long)common * 100000 - labs((long)i - (long)(len - i - 1));
        if (s > score) {
            score = s;
            best = i;
        }
    }
    if (score < 0 || best >= GEOM_NAME_MAX || len - best - 1 >= GEOM_NAME_MAX)
        return -1;
    snprintf(a, GEOM_NAME_MAX, "%.*s", (int)best, key);
    snprintf(b, GEOM_NAME_MAX, "%s", key + best + 1);
    return 0;
}

/* p's key k as exactly want numbers (want < 0: up to -want, at least one; count in *n). */
static int nums(const geom_pk *p, int d, const char *k, double *out, int want, int *n,
                const char *path, vas_err *e)
{
    int cap = want < 0 ? -want : want, got = 0;

    if (geom_pk_get(p, d, k) < 0)
        return err_set(e, VAS_EINVAL, "%s: the stereo parameters have no %s", path, k);
    if (geom_pk_numbers(p, geom_pk_get(p, d, k), out, cap, &got) < 0 || got < 1 ||
        (want > 0 && got != want))
        return err_set(e, VAS_EINVAL, "%s: the stereo parameters' %s is not %d numbers", path, k,
                       cap);
    for (int i = 0; i < got; i++)
        if (!isfinite(out[i]))
            return err_set(e, VAS_EINVAL, "%s: the stereo parameters' %s is not finite", path, k);
    if (n)
        *n = got;
    return VAS_OK;
}

/* Camera i (1 or 2) of the pair dict d. */
static int read_cam(const geom_pk *p, int d, int i, geom_camera *c, const char *path, vas_err *e)
{
    char km[32], kd[32];
    double K[9], D[GEOM_MAX_DIST], shp[4] = {0};
    int nd = 0, ns = 0, rc;

    snprintf(km, sizeof(km), "cameraMatrix%d", i);
    snprintf(kd, sizeof(kd), "distCoeffs%d", i);
    rc = nums(p, d, km, K, 9, NULL, path, e);
    if (rc == VAS_OK)
        rc = nums(p, d, kd, D, -GEOM_MAX_DIST, &nd, path, e);
    if (rc == VAS_OK && geom_pk_get(p, d, "image_shape") >= 0)
        rc = nums(p, d, "image_shape", shp, 4, &ns, path, e);
    if (rc == VAS_OK && i == 2)
        rc = nums(p, d, "R", c->R, 9, NULL, path, e);
    if (rc == VAS_OK && i == 2)
        rc = nums(p, d, "T", c->t, 3, NULL, path, e);
    if (rc == VAS_OK)
        rc = geom_calib_set_intrinsics(c, K, D, nd, path, e);
    if (rc == VAS_OK)
        rc = geom_calib_set_size(c, shp[2 * i - 2], shp[2 * i - 1], path, e);
    return rc < 0 ? rc : geom_calib_check_camera(c, path, e);
}

int geom_calib_load_pickle(const char *path, const unsigned char *buf, size_t len, geom_calib *out,
                           vas_err *e)
{
    geom_pk *p = NULL;
    const char *key;
    int rc = geom_pk_load(buf, len, path, &p, e), root, d;

    out->n = 0;
    if (rc < 0)
        return rc;
    root = geom_pk_root(p);
    key = geom_pk_str(p, geom_pk_key(p, root, 0));
    d = geom_pk_at(p, root, 0);
    if (geom_pk_type(p, root) != GEOM_PK_DICT || geom_pk_len(p, root) != 1 || !key ||
        geom_pk_type(p, d) != GEOM_PK_DICT)
        rc = err_set(e, VAS_EINVAL,
                     "%s: not DeepLabCut stereo parameters (a dict holding one camera pair, "
                     "{\"camera-1-camera-2\": {cameraMatrix1, ...}})",
                     path);
    memset(out->cam, 0, 2 * sizeof(out->cam[0]));
    if (rc == VAS_OK && split_pair(key, out->cam[0].name, out->cam[1].name) < 0)
        rc = err_set(e, VAS_EINVAL, "%s: cannot split the pair '%.64s' into two camera names", path,
                     key);
    out->cam[0].R[0] = out->cam[0].R[4] = out->cam[0].R[8] = 1;
    for (int i = 0; i < 2 && rc == VAS_OK; i++)
        rc = read_cam(p, d, i + 1, &out->cam[i], path, e);
    if (rc == VAS_OK && strcmp(out->cam[0].name, out->cam[1].name) == 0)
        rc = err_set(e, VAS_EINVAL, "%s: camera %s is named twice", path, out->cam[0].name);
    out->n = rc == VAS_OK ? 2 : 0;
    geom_pk_free(p);
    return rc;
}
