/* dlc3_resnet.c - timm's ResNet (models/resnet.py) as DLC's ResNet backbone runs it
 * (models/backbones/resnet.py: timm.create_model(model_name, output_stride=...), fc set to
 * Identity, forward_features): 7x7 stem, 3x3 max pool, four stages of Bottlenecks; past the
 * output stride, timm's make_blocks turns stage strides into dilation, the stage's first block
 * keeping the previous dilation in its 3x3 conv. Keys: backbone.model.conv1, .bn1,
 * .layer<s>.<b>.{conv1,bn1,conv2,bn2,conv3,bn3,downsample.0,downsample.1}. */
#include "model/dlc3_int.h"

#include <stdio.h>

int dlc3_resnet_build(dlc3_w *w, const dlc3_spec *s, int image, int64_t *out_ch)
{
    int norm = s->gn ? DLC3_NORM_GN : DLC3_NORM_BN;
    int net_stride = 4, dilation = 1, prev_dilation = 1, v;
    int64_t ch = 0;
    char pfx[128];

    v = dlc3_conv_norm(w, image, 3, "backbone.model.conv1", "backbone.model.bn1", norm, 2, 1, 1,
                       &ch);
    v = nn_build_maxpool(w->b, "backbone.model.maxpool", v, 3, 2, (int64_t[4]){1, 1, 1, 1});
    for (int st = 0; st < 4; st++) {
        int stride = st == 0 ? 1 : 2;
        if (net_stride >= s->output_stride) {
            dilation *= stride;
            stride = 1;
        } else {
            net_stride *= stride;
        }
        for (int b = 0; b < s->blocks[st]; b++) {
            snprintf(pfx, sizeof(pfx), "backbone.model.layer%d.%d", st + 1, b);
            v = dlc3_bottleneck(w, pfx, v, ch, norm, b == 0 ? stride : 1, prev_dilation, &ch);
            prev_dilation = dilation;
        }
    }
    *out_ch = ch;
    return v;
}
