/* nn_geom.c - a convolution's or pooling's geometry from its attributes and weights: kernel,
 * strides, dilations, pads (explicit or auto_pad) and output size, checked (nn_geom_get, used by
 * shape inference and the planners). The kernel comes from the weights; a kernel_shape that
 * disagrees with them is refused, since the planners size buffers from one and walk the other. */
#include <string.h>

#include "nn/nn_int.h"

/* The largest kernel, stride, dilation or pad taken: far beyond any image (so that the sizes
 * computed from them cannot overflow), small enough for products of two of them in 64 bits. */
#define GEOM_MAX (1 << 20)

static int auto_pads(const nn_node *nd, int64_t in_sz, int64_t k, int64_t s, int64_t d, int64_t *pl,
                     int64_t *pr)
{
    const char *ap = nn_attr_str(nd, "auto_pad", "NOTSET");
    int64_t kd = (k - 1) * d + 1, o, total;

    if (strcmp(ap, "VALID") == 0) {
        *pl = *pr = 0;
    } else if (strncmp(ap, "SAME", 4) == 0) {
        o = (in_sz + s - 1) / s;
        total = (o - 1) * s + kd - in_sz;
        total = total < 0 ? 0 : total;
        *pl = strcmp(ap, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
        *pr = total - *pl;
    }
    return 0;
}

int nn_geom_get(const nn_node *nd, const int64_t *in_dims, const int64_t *wdims, nn_geom *gm,
                vas_err *e)
{
    int64_t pads[4] = {0, 0, 0, 0}, op[2] = {0, 0};
    int ks = nn_attr_ints(nd, "kernel_shape", gm->k, 2);
    int gap = nd->op == NN_OP_GAP;

    if (wdims && !ks) {
        gm->k[0] = wdims[2];
        gm->k[1] = wdims[3];
    } else if (gap) {
        gm->k[0] = in_dims[2];
        gm->k[1] = in_dims[3];
    } else if (ks != 2) {
        return err_set(e, VAS_EUNSUPPORTED, "node '%s' (%s): only 2-D kernels are supported",
                       nd->name, nd->op_type);
    } else if (wdims && (gm->k[0] != wdims[2] || gm->k[1] != wdims[3])) {
        /* the planner sizes its buffers from the weights and walks the kernel's taps */
        return err_set(e, VAS_EINVAL,
                       "node '%s' (%s): kernel_shape %lldx%lld does not match the weights' "
                       "%lldx%lld",
                       nd->name, nd->op_type, (long long)gm->k[0], (long long)gm->k[1],
                       (long long)wdims[2], (long long)wdims[3]);
    }
    gm->s[0] = gm->s[1] = gm->d[0] = gm->d[1] = 1;
    if (!gap &&
        (nn_attr_ints(nd, "strides", gm->s, 2) > 2 || nn_attr_ints(nd, "dilations", gm->d, 2) > 2 ||
         nn_attr_ints(nd, "pads", pads, 4) > 4 || nn_attr_ints(nd, "output_padding", op, 2) > 2))
        return err_set(e, VAS_EUNSUPPORTED, "node '%s' (%s): only 2-D geometry is supported",
                       nd->name, nd->op_type);
    gm->group = nn_attr_int(nd, "group", 1);
    for (int i = 0; i < 2; i++) {
        int64_t kd, o; /* the kernel's reach, once the checks bound its factors */
        gm->pl[i] = pads[i];
        gm->pr[i] = pads[i + 2];
        if (gm->k[i] <= 0 || gm->s[i] <= 0 || gm->d[i] <= 0 || pads[i] < 0 || pads[i + 2] < 0 ||
            op[i] < 0 || gm->k[i] > GEOM_MAX || gm->s[i] > GEOM_MAX || gm->d[i] > GEOM_MAX ||
            pads[i] > GEOM_MAX || pads[i + 2] > GEOM_MAX || op[i] > GEOM_MAX)
            return err_set(e, VAS_EINVAL, "node '%s' (%s): bad kernel, stride, dilation or pads",
                           nd->name, nd->op_type);
        kd = (gm->k[i] - 1) * gm->d[i] + 1;
        if (nd->op == NN_OP_CONVT) {
            gm->out[i] = gm->s[i] * (in_dims[2 + i] - 1) + op[i] + kd - gm->pl[i] - gm->pr[i];
            gm->pr[i] -= op[i]; /* oneDNN: output_padding is less right padding */
            continue;
        }
        auto_pads(nd, in_dims[2 + i], gm->k[i], gm->s[i], gm->d[i], &gm->pl[i], &gm->pr[i]);
        o = in_dims[2 + i] + gm->pl[i] + gm->pr[i] - kd;
        if (o < 0)
            return err_set(e, VAS_EINVAL,
                           "node '%s' (%s): input %lldpx is smaller than the "
                           "kernel",
                           nd->name, nd->op_type, (long long)in_dims[2 + i]);
        if (nn_attr_int(nd, "ceil_mode", 0)) {
            gm->out[i] = (o + gm->s[i] - 1) / gm->s[i] + 1;
            if ((gm->out[i] - 1) * gm->s[i] >= in_dims[2 + i] + gm->pl[i])
                gm->out[i]--;
            gm->pr[i] = (gm->out[i] - 1) * gm->s[i] + kd - in_dims[2 + i] - gm->pl[i];
        } else {
            gm->out[i] = o / gm->s[i] + 1;
        }
    }
    if (gm->out[0] <= 0 || gm->out[1] <= 0)
        return err_set(e, VAS_EINVAL, "node '%s' (%s): empty output", nd->name, nd->op_type);
    return VAS_OK;
}
