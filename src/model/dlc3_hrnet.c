/* dlc3_hrnet.c - timm's HRNet (models/hrnet.py HighResolutionNetFeatures, features_only=True,
 * out_indices (1, 2, 3, 4)) as DLC's HRNet backbone runs it (models/backbones/hrnet.py: the
 * stride-4 branch 0 of the last stage, y_list[0]).
 *
 * Stem: conv1, bn1, conv2, bn2 (3x3, stride 2 each); layer1: four Bottlenecks. Then stages 2, 3,
 * 4 with 1, 4 and 3 HighResolutionModules of 2, 3, 4 branches, four BasicBlocks a branch. Before
 * each stage a transition: per branch, Identity, a 3x3 conv (.<i>.0/.1) or, for a new branch,
 * stride-2 3x3 convs (.<i>.<k>.0/.1) on the previous stage's last branch. A module fuses: output
 * i = ReLU(sum over branches j of: j > i, 1x1 conv + BN + nearest upsampling by 2^(j-i)
 * (fuse_layers.i.j.0/.1); j == i, the branch itself; j < i, i-j stride-2 3x3 conv + BN, ReLU
 * between (fuse_layers.i.j.k.0/.1)). DLC reads only output 0 of the last module, so that
 * module's other fusions (and, with increased_channel_count, incre_modules 1-3) are in the file
 * but never computed: they are skipped here. Widths come from the weights. */
#include "model/dlc3_int.h"

#include <stdio.h>

#define HR        "backbone.model."
#define MAX_BR    4
#define BR_BLOCKS 4

static const int stage_modules[3] = {1, 4, 3}; /* stages 2, 3, 4 of hrnet_w18 ... hrnet_w64 */

typedef struct branches {
    int v[MAX_BR];      /* values */
    int64_t ch[MAX_BR]; /* their channels */
    int n;
} branches;

static int basic_block(dlc3_w *w, const char *pfx, int x, int64_t in_ch, int64_t *out_ch)
{
    char c[256], n[256];
    int64_t ch = 0, sc_ch = in_ch;
    int v, sc = x;

    snprintf(c, sizeof(c), "%s.conv1", pfx);
    snprintf(n, sizeof(n), "%s.bn1", pfx);
    v = dlc3_conv_norm(w, x, in_ch, c, n, DLC3_NORM_BN, 1, 1, 1, &ch);
    snprintf(c, sizeof(c), "%s.conv2", pfx);
    snprintf(n, sizeof(n), "%s.bn2", pfx);
    v = dlc3_conv_norm(w, v, ch, c, n, DLC3_NORM_BN, 1, 1, 0, &ch);
    if (dlc3_has(w, "%s.downsample.0.weight", pfx)) {
        snprintf(c, sizeof(c), "%s.downsample.0", pfx);
        snprintf(n, sizeof(n), "%s.downsample.1", pfx);
        sc = dlc3_conv_norm(w, x, in_ch, c, n, DLC3_NORM_BN, 1, 1, 0, &sc_ch);
    }
    if (nn_build_error(w->b, NULL) >= 0 && sc_ch != ch)
        return nn_build_fail(w->b, VAS_EINVAL, "%s gives %lld channels from %lld, no downsample",
                             pfx, (long long)ch, (long long)sc_ch);
    *out_ch = ch;
    return dlc3_add_relu(w, pfx, v, sc);
}

/* Fusion output i of module pfx: the sum of every branch brought to branch i, then ReLU. */
static int fuse(dlc3_w *w, const char *pfx, const branches *x, int i)
{
    char c[256], n[256];
    int y = -1;

    for (int j = 0; j < x->n; j++) {
        int t = x->v[j];
        int64_t ch = x->ch[j];
        if (j > i) {
            snprintf(c, sizeof(c), "%s.fuse_layers.%d.%d.0", pfx, i, j);
            snprintf(n, sizeof(n), "%s.fuse_layers.%d.%d.1", pfx, i, j);
            t = dlc3_conv_norm(w, t, ch, c, n, DLC3_NORM_BN, 1, 1, 0, &ch);
            snprintf(c, sizeof(c), "%s.fuse_layers.%d.%d.2", pfx, i, j);
            t = nn_build_upsample(w->b, c, t, 1 << (j - i));
        }
        for (int k = 0; j < i && k < i - j; k++) {
            snprintf(c, sizeof(c), "%s.fuse_layers.%d.%d.%d.0", pfx, i, j, k);
            snprintf(n, sizeof(n), "%s.fuse_layers.%d.%d.%d.1", pfx, i, j, k);
            t = dlc3_conv_norm(w, t, ch, c, n, DLC3_NORM_BN, 2, 1, k < i - j - 1, &ch);
        }
        if (nn_build_error(w->b, NULL) >= 0 && ch != x->ch[i])
            return nn_build_fail(w->b, VAS_EINVAL,
                                 "%s.fuse_layers.%d.%d gives %lld channels, "
                                 "branch %d has %lld",
                                 pfx, i, j, (long long)ch, i, (long long)x->ch[i]);
        snprintf(c, sizeof(c), "%s.fuse.%d.%d", pfx, i, j);
        y = y < 0 ? t : nn_build_binary(w->b, "Add", c, y, t);
    }
    snprintf(c, sizeof(c), "%s.fuse.%d.relu", pfx, i);
    return nn_build_unary(w->b, "Relu", c, y);
}

/* One HighResolutionModule: each branch's blocks, then n_out fusions (x is replaced). */
static void hr_module(dlc3_w *w, const char *pfx, branches *x, int n_out)
{
    char b[192];
    branches y = *x;

    for (int br = 0; br < x->n; br++)
        for (int k = 0; k < BR_BLOCKS; k++) {
            snprintf(b, sizeof(b), "%s.branches.%d.%d", pfx, br, k);
            y.v[br] = basic_block(w, b, y.v[br], y.ch[br], &y.ch[br]);
        }
    for (int i = 0; i < n_out; i++)
        x->v[i] = fuse(w, pfx, &y, i);
    for (int i = 0; i < x->n; i++)
        x->ch[i] = y.ch[i];
    x->n = n_out;
}

/* transition<t>: from x (its branches) to nb branches. */
static void transition(dlc3_w *w, int t, branches *x, int nb)
{
    char c[256], n[256];
    branches y = *x;
    int last = x->n - 1;

    for (int i = 0; i < nb; i++) {
        if (i < x->n && !dlc3_has(w, HR "transition%d.%d.0.weight", t, i))
            continue; /* Identity */
        if (i < x->n) {
            snprintf(c, sizeof(c), HR "transition%d.%d.0", t, i);
            snprintf(n, sizeof(n), HR "transition%d.%d.1", t, i);
            y.v[i] =
                dlc3_conv_norm(w, x->v[last], x->ch[last], c, n, DLC3_NORM_BN, 1, 1, 1, &y.ch[i]);
            continue;
        }
        y.v[i] = x->v[last];
        y.ch[i] = x->ch[last];
        for (int k = 0; k == 0 || dlc3_has(w, HR "transition%d.%d.%d.0.weight", t, i, k); k++) {
            snprintf(c, sizeof(c), HR "transition%d.%d.%d.0", t, i, k);
            snprintf(n, sizeof(n), HR "transition%d.%d.%d.1", t, i, k);
            y.v[i] = dlc3_conv_norm(w, y.v[i], y.ch[i], c, n, DLC3_NORM_BN, 2, 1, 1, &y.ch[i]);
        }
    }
    y.n = nb;
    *x = y;
}

int dlc3_hrnet_build(dlc3_w *w, const dlc3_spec *s, int image, int64_t *out_ch)
{
    char pfx[128];
    branches x = {{0}, {0}, 1};
    int64_t ch = 0;
    int v;

    v = dlc3_conv_norm(w, image, 3, HR "conv1", HR "bn1", DLC3_NORM_BN, 2, 1, 1, &ch);
    v = dlc3_conv_norm(w, v, ch, HR "conv2", HR "bn2", DLC3_NORM_BN, 2, 1, 1, &ch);
    for (int b = 0; b < 4; b++) {
        snprintf(pfx, sizeof(pfx), HR "layer1.%d", b);
        v = dlc3_bottleneck(w, pfx, v, ch, DLC3_NORM_BN, 1, 1, &ch);
    }
    x.v[0] = v;
    x.ch[0] = ch;
    for (int st = 2; st <= 4; st++) {
        transition(w, st - 1, &x, st);
        for (int m = 0; m < stage_modules[st - 2]; m++) {
            int last = st == 4 && m == stage_modules[st - 2] - 1;
            snprintf(pfx, sizeof(pfx), HR "stage%d.%d", st, m);
            hr_module(w, pfx, &x, last ? 1 : st);
            for (int i = 1; last && i < st; i++) {
                snprintf(pfx, sizeof(pfx), HR "stage%d.%d.fuse_layers.%d.", st, m, i);
                dlc3_skip(w, pfx);
            }
        }
    }
    v = x.v[0];
    ch = x.ch[0];
    if (s->hr_incre) { /* feature_location "incre": a Bottleneck on each branch; DLC reads 0 */
        v = dlc3_bottleneck(w, HR "incre_modules.0.0", v, ch, DLC3_NORM_BN, 1, 1, &ch);
        for (int i = 1; i < MAX_BR; i++) {
            snprintf(pfx, sizeof(pfx), HR "incre_modules.%d.", i);
            dlc3_skip(w, pfx);
        }
    }
    *out_ch = ch;
    return v;
}
