#!/usr/bin/python3
"""make-nn-fixtures.py - build the ONNX fixtures that tests/test_nn.c checks vas's nn engine against.

Run once by a person (never in CI) with Debian's python3-torch, python3-torchvision, python3-onnx:

    /usr/bin/python3 tools/make-nn-fixtures.py            # tests/fixtures/nn/ (small, committed)
    /usr/bin/python3 tools/make-nn-fixtures.py --bench DIR # full-width nets for bench/nn (not committed)

Each fixture case is CASE.onnx, CASE.in.f32 (the input, raw little-endian float32 NCHW) and
CASE.out.f32 (every graph output in order, flattened and concatenated), listed in cases.txt as
"CASE N C H W OUT_FLOATS". Expected values come from PyTorch (the networks and most operators) or
from numpy written here (Resize modes PyTorch cannot express) - never from vas.

The networks are DeepLabCut-style: a ResNet-50 (bottlenecks [3,4,6,3], layer4 dilated for output
stride 16) or MobileNetV2 backbone with DLC's deconvolution heads (heatmaps and location
refinement). The committed fixtures keep the exact topology but shrink channel widths so that the
files stay small; weights are random and BatchNorm statistics are non-trivial so that folding
BatchNorm into the convolution is really exercised.
"""
import argparse
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torchvision.models.mobilenetv2 import MobileNetV2
from torchvision.models.resnet import Bottleneck

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "nn")


# ---------------------------------------------------------------------------------------------
# DeepLabCut-style networks
# ---------------------------------------------------------------------------------------------
class ResNetDLC(nn.Module):
    """ResNet-50 topology with a width divisor; layer4 dilated (output stride 16)."""

    def __init__(self, width=64, keypoints=4):
        super().__init__()
        self.inplanes = width
        self.dilation = 1
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(width, 3, 1, False)
        self.layer2 = self._layer(width * 2, 4, 2, False)
        self.layer3 = self._layer(width * 4, 6, 2, False)
        self.layer4 = self._layer(width * 8, 3, 2, True)
        feat = width * 8 * 4
        self.heatmap = nn.ConvTranspose2d(feat, keypoints, 3, 2, 1, output_padding=1)
        self.locref = nn.ConvTranspose2d(feat, 2 * keypoints, 3, 2, 1, output_padding=1)

    def _layer(self, planes, blocks, stride, dilate):
        prev_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        down = None
        if stride != 1 or self.inplanes != planes * 4:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                                 nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, down, 1, 64, prev_dilation)]
        self.inplanes = planes * 4
        for _ in range(1, blocks):
            layers.append(Bottleneck(self.inplanes, planes, dilation=self.dilation))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.heatmap(x), self.locref(x)


class MobileNetDLC(nn.Module):
    """MobileNetV2 features (ReLU6 = Clip) with DLC's two-step deconvolution heads."""

    def __init__(self, width_mult=1.0, keypoints=4, mid=160):
        super().__init__()
        self.features = MobileNetV2(width_mult=width_mult).features
        feat = self.features[-1][0].out_channels
        self.up = nn.Sequential(nn.ConvTranspose2d(feat, mid, 4, 2, 1, bias=False),
                                nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
        self.heatmap = nn.ConvTranspose2d(mid, keypoints, 3, 2, 1, output_padding=1)
        self.locref = nn.ConvTranspose2d(mid, 2 * keypoints, 3, 2, 1, output_padding=1)

    def forward(self, x):
        x = self.up(self.features(x))
        return torch.sigmoid(self.heatmap(x)), self.locref(x)


def randomize_bn(model, gen):
    """Non-trivial BatchNorm statistics, kept near unit gain so deep stacks stay finite."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=gen) * 0.5 + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


def export(model, x, path, dynamic=False, opset=13):
    model.eval()
    axes = {"input": {0: "N", 2: "H", 3: "W"}} if dynamic else None
    names = ["heatmap", "locref"]
    with torch.no_grad():
        torch.onnx.export(model, x, path, input_names=["input"], output_names=names,
                          opset_version=opset, dynamic_axes=axes, do_constant_folding=True)


# ---------------------------------------------------------------------------------------------
# Fixture writing
# ---------------------------------------------------------------------------------------------
CASES = []


def save_case(name, model_path_or_proto, x, outs):
    path = os.path.join(OUT, name + ".onnx")
    if not isinstance(model_path_or_proto, str):
        onnx.checker.check_model(model_path_or_proto)
        onnx.save(model_path_or_proto, path)
    x = np.ascontiguousarray(x, dtype="<f4")
    x.tofile(os.path.join(OUT, name + ".in.f32"))
    flat = np.concatenate([np.asarray(o, dtype="<f4").ravel() for o in outs])
    flat.tofile(os.path.join(OUT, name + ".out.f32"))
    CASES.append("%s %d %d %d %d %d" % ((name,) + tuple(x.shape) + (flat.size,)))


def net_case(name, model, shape, gen):
    randomize_bn(model, gen)
    model.eval()
    x = torch.randn(*shape, generator=gen)
    path = os.path.join(OUT, name + ".onnx")
    export(model, x, path)
    with torch.no_grad():
        outs = [o.numpy() for o in model(x)]
    save_case(name, path, x.numpy(), outs)


# Per-operator graphs are written with onnx.helper so that any attribute can be set; their expected
# values are computed with torch.nn.functional or numpy.
def t(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def graph_case(name, nodes, x, inits, outs, out_shapes, opset=13):
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))]
    outputs = [helper.make_tensor_value_info("y%d" % i, TensorProto.FLOAT, list(s))
               for i, s in enumerate(out_shapes)]
    init = [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()]
    g = helper.make_graph(nodes, name, ins, outputs, init)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    save_case(name, m, x, outs)


def conv_cases(rng):
    x = rng.standard_normal((2, 4, 9, 11)).astype(np.float32)
    specs = [  # name, cout, k, stride, pads(t,l,b,r), dilation, group, bias
        ("op_conv_basic", 6, 3, 1, (1, 1, 1, 1), 1, 1, True),
        ("op_conv_stride_asym", 5, 3, 2, (0, 1, 1, 2), 1, 1, True),
        ("op_conv_dilated", 4, 3, 1, (2, 2, 2, 2), 2, 1, False),
        ("op_conv_group", 6, 3, 1, (1, 1, 1, 1), 1, 2, True),
        ("op_conv_depthwise", 4, 3, 2, (1, 1, 1, 1), 1, 4, True),
        ("op_conv_1x1", 8, 1, 1, (0, 0, 0, 0), 1, 1, True),
    ]
    for name, cout, k, s, p, d, g, bias in specs:
        w = rng.standard_normal((cout, 4 // g, k, k)).astype(np.float32) * 0.3
        b = rng.standard_normal(cout).astype(np.float32)
        xp = F.pad(t(x), (p[1], p[3], p[0], p[2]))
        y = F.conv2d(xp, t(w), t(b) if bias else None, s, 0, d, g).numpy()
        ins = ["x", "w", "b"] if bias else ["x", "w"]
        node = helper.make_node("Conv", ins, ["y0"], kernel_shape=[k, k], strides=[s, s],
                                pads=[p[0], p[1], p[2], p[3]], dilations=[d, d], group=g)
        inits = {"w": w, "b": b} if bias else {"w": w}
        graph_case(name, [node], x, inits, [y], [y.shape])


def dw_cases(rng):
    """Depthwise convolutions as DLC's MobileNet heads have them (dilated, a ReLU6 after), which
    oneDNN runs by a gemm on AVX2 and vas by its own loop (src/nn/nn_dwconv.c): channel counts off
    the vector width, strides, asymmetric pads, padding wider than the dilated kernel's reach."""
    specs = [  # name, (N, C, H, W), k, stride, pads(t,l,b,r), dilation, bias, relu6 after
        ("op_dw_dilated_relu6", (2, 12, 10, 11), 3, 1, (2, 2, 2, 2), 2, True, True),
        ("op_dw_dilated_s2_asym", (1, 8, 13, 9), 3, 2, (3, 1, 2, 4), 3, False, False),
        ("op_dw_k5_wide_pad", (2, 5, 9, 10), 5, 1, (8, 8, 8, 8), 4, True, False),
        # rows wide enough for the vector loops' 8-pixel runs, with border columns and a channel
        # tail on both sides of them (20: 16 + 4 on AVX-512, 8 + 8 + 4 on AVX2)
        ("op_dw_wide_rows", (2, 20, 6, 37), 3, 1, (1, 1, 1, 1), 1, True, True),
        ("op_dw_wide_s2", (1, 24, 7, 45), 3, 2, (1, 2, 1, 0), 2, True, False),
    ]
    for name, shape, k, s, p, d, bias, relu6 in specs:
        x = rng.standard_normal(shape).astype(np.float32)
        c = shape[1]
        w = rng.standard_normal((c, 1, k, k)).astype(np.float32) * 0.3
        b = rng.standard_normal(c).astype(np.float32)
        xp = F.pad(t(x), (p[1], p[3], p[0], p[2]))
        y = F.conv2d(xp, t(w), t(b) if bias else None, s, 0, d, c)
        ins = ["x", "w", "b"] if bias else ["x", "w"]
        nodes = [helper.make_node("Conv", ins, ["c" if relu6 else "y0"], kernel_shape=[k, k],
                                  strides=[s, s], pads=[p[0], p[1], p[2], p[3]],
                                  dilations=[d, d], group=c)]
        inits = {"w": w, "b": b} if bias else {"w": w}
        if relu6:
            y = torch.clamp(y, 0, 6)
            nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["y0"]))
            inits.update({"lo": np.float32(0), "hi": np.float32(6)})
        y = y.numpy()
        graph_case(name, nodes, x, inits, [y], [y.shape])


def fuse_case(rng):
    """HRNet's fuse step in small: a half-resolution branch upsampled (Resize, nearest) and added
    to the full one, a ReLU, a bilinear Resize, a 1x1 head; 16 and 8 channels, so that on AVX2 the
    Resizes run on channel-blocked tensors (src/nn/nn_plan_layout.c)."""
    x = rng.standard_normal((2, 3, 12, 10)).astype(np.float32)
    w1 = rng.standard_normal((16, 3, 3, 3)).astype(np.float32) * 0.3
    w2 = rng.standard_normal((16, 3, 3, 3)).astype(np.float32) * 0.3
    w3 = rng.standard_normal((8, 16, 1, 1)).astype(np.float32) * 0.3
    b1, b2, b3 = (rng.standard_normal(c).astype(np.float32) for c in (16, 16, 8))
    hi = F.relu(F.conv2d(t(x), t(w1), t(b1), 1, 1)).numpy()
    lo = F.relu(F.conv2d(t(x), t(w2), t(b2), 2, 1)).numpy()
    up = resize_ref(lo, 12, 10, "nearest", "asymmetric", "floor")
    sm = np.maximum(hi + up, 0).astype(np.float32)
    big = resize_ref(sm, 24, 20, "linear", "half_pixel")
    y = F.conv2d(t(np.ascontiguousarray(big, np.float32)), t(w3), t(b3)).numpy()
    empty = np.zeros((0,), np.float32)
    two = np.array([1, 1, 2, 2], np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("Relu", ["c1"], ["hi"]),
             helper.make_node("Conv", ["x", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1] * 4,
                              strides=[2, 2]),
             helper.make_node("Relu", ["c2"], ["lo"]),
             helper.make_node("Resize", ["lo", "roi", "two"], ["up"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             helper.make_node("Add", ["hi", "up"], ["a"]),
             helper.make_node("Relu", ["a"], ["sm"]),
             helper.make_node("Resize", ["sm", "roi", "two"], ["big"], mode="linear",
                              coordinate_transformation_mode="half_pixel"),
             helper.make_node("Conv", ["big", "w3", "b3"], ["y0"], kernel_shape=[1, 1])]
    inits = {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "w3": w3, "b3": b3, "roi": empty, "two": two}
    graph_case("net_fuse_resize", nodes, x, inits, [y], [y.shape])


def fused_cases(rng):
    x = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.3
    b = rng.standard_normal(4).astype(np.float32)
    sc, bi = rng.random(4).astype(np.float32) + 0.5, rng.standard_normal(4).astype(np.float32)
    mu, var = rng.standard_normal(4).astype(np.float32) * 0.2, rng.random(4).astype(np.float32) + 0.5
    conv = F.conv2d(t(x), t(w), t(b), 1, 1)
    bn = F.batch_norm(conv, t(mu), t(var), t(sc), t(bi), False, 0.0, 1e-5)
    inits = {"w": w, "b": b, "sc": sc, "bi": bi, "mu": mu, "var": var}
    cnode = helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1] * 4)
    bnode = helper.make_node("BatchNormalization", ["c", "sc", "bi", "mu", "var"], ["n"],
                             epsilon=1e-5)
    graph_case("op_conv_bn_relu", [cnode, bnode, helper.make_node("Relu", ["n"], ["y0"])], x,
               inits, [F.relu(bn).numpy()], [x.shape])
    y = F.relu(bn + t(x)).numpy()
    nodes = [cnode, bnode, helper.make_node("Add", ["n", "x"], ["a"]),
             helper.make_node("Relu", ["a"], ["y0"])]
    graph_case("op_conv_bn_add_relu", nodes, x, inits, [y], [x.shape])
    # Two outputs: the conv result is also a graph output, so it must not be fused away.
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y0"], kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("Relu", ["y0"], ["y1"])]
    graph_case("op_conv_two_outputs", nodes, x, {"w": w, "b": b},
               [conv.numpy(), F.relu(conv).numpy()], [x.shape, x.shape])


def deconv_cases(rng):
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    specs = [("op_convt_s2_op1", 3, 3, 2, 1, 1, 1), ("op_convt_group", 6, 4, 2, 1, 0, 2),
             ("op_convt_s1", 2, 3, 1, 0, 0, 1)]
    for name, cout, k, s, p, op, g in specs:
        w = rng.standard_normal((4, cout // g, k, k)).astype(np.float32) * 0.3
        b = rng.standard_normal(cout).astype(np.float32)
        y = F.conv_transpose2d(t(x), t(w), t(b), s, p, op, g).numpy()
        node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y0"], kernel_shape=[k, k],
                                strides=[s, s], pads=[p] * 4, output_padding=[op, op], group=g)
        graph_case(name, [node], x, {"w": w, "b": b}, [y], [y.shape])


def act_cases(rng):
    x = (rng.standard_normal((2, 3, 5, 7)) * 4).astype(np.float32)
    tx = t(x)
    one = lambda op, **kw: [helper.make_node(op, ["x"], ["y0"], **kw)]
    graph_case("op_relu", one("Relu"), x, {}, [F.relu(tx).numpy()], [x.shape])
    graph_case("op_leakyrelu", one("LeakyRelu", alpha=0.15), x, {},
               [F.leaky_relu(tx, 0.15).numpy()], [x.shape])
    graph_case("op_sigmoid", one("Sigmoid"), x, {}, [torch.sigmoid(tx).numpy()], [x.shape])
    graph_case("op_hardsigmoid", one("HardSigmoid", alpha=0.25, beta=0.4), x, {},
               [np.clip(0.25 * x + 0.4, 0, 1)], [x.shape])
    graph_case("op_hardswish", one("HardSwish"), x, {}, [F.hardswish(tx).numpy()], [x.shape],
               opset=14)
    graph_case("op_identity", one("Identity"), x, {}, [x], [x.shape])
    clip = [helper.make_node("Clip", ["x", "lo", "hi"], ["y0"])]
    graph_case("op_clip_relu6", clip, x, {"lo": np.float32(0), "hi": np.float32(6)},
               [np.clip(x, 0, 6)], [x.shape], opset=11)
    # Activations fused behind a conv, including a two-step one (HardSigmoid) and LeakyRelu.
    w = rng.standard_normal((3, 3, 1, 1)).astype(np.float32)
    conv = F.conv2d(tx, t(w))
    for op, ref, kw in [("LeakyRelu", F.leaky_relu(conv, 0.2), {"alpha": 0.2}),
                        ("HardSigmoid", torch.clamp(conv * 0.2 + 0.5, 0, 1), {}),
                        ("Sigmoid", torch.sigmoid(conv), {})]:
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
                 helper.make_node(op, ["c"], ["y0"], **kw)]
        graph_case("op_conv_" + op.lower(), nodes, x, {"w": w}, [ref.numpy()], [x.shape])


def binary_cases(rng):
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    tx = t(x)
    # Squeeze-excitation: x * sigmoid(conv(gap(x))), N x C x H x W times N x C x 1 x 1.
    w = rng.standard_normal((4, 4, 1, 1)).astype(np.float32)
    se = torch.sigmoid(F.conv2d(F.adaptive_avg_pool2d(tx, 1), t(w)))
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["g"]),
             helper.make_node("Conv", ["g", "w"], ["c"], kernel_shape=[1, 1]),
             helper.make_node("Sigmoid", ["c"], ["s"]),
             helper.make_node("Mul", ["s", "x"], ["y0"])]
    graph_case("op_mul_se", nodes, x, {"w": w}, [(tx * se).numpy()], [x.shape])
    c = rng.standard_normal((4, 1, 1)).astype(np.float32)
    graph_case("op_add_const", [helper.make_node("Add", ["x", "c"], ["y0"])], x, {"c": c},
               [x + c], [x.shape])
    graph_case("op_mul_scalar", [helper.make_node("Mul", ["x", "k"], ["y0"])], x,
               {"k": np.float32(1.5)}, [x * 1.5], [x.shape])
    w2 = rng.standard_normal((3, 4, 1, 1)).astype(np.float32)
    a = F.conv2d(tx, t(w2))
    nodes = [helper.make_node("Conv", ["x", "w2"], ["a"], kernel_shape=[1, 1]),
             helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("Concat", ["a", "r", "x"], ["y0"], axis=1)]
    graph_case("op_concat", nodes, x, {"w2": w2},
               [torch.cat([a, F.relu(tx), tx], 1).numpy()], [(2, 11, 5, 6)])
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "x"], ["s"]),
             helper.make_node("Mul", ["s", "x"], ["y0"])]
    graph_case("op_add_mul_same", nodes, x, {}, [((F.relu(tx) + tx) * tx).numpy()], [x.shape])


def pool_cases(rng):
    x = rng.standard_normal((2, 3, 9, 10)).astype(np.float32)
    tx = t(x)
    mp = helper.make_node("MaxPool", ["x"], ["y0"], kernel_shape=[3, 3], strides=[2, 2],
                          pads=[1, 1, 1, 1])
    graph_case("op_maxpool", [mp], x, {}, [F.max_pool2d(tx, 3, 2, 1).numpy()], [(2, 3, 5, 5)])
    mp = helper.make_node("MaxPool", ["x"], ["y0"], kernel_shape=[2, 2], strides=[2, 2],
                          ceil_mode=1)
    y = F.max_pool2d(tx, 2, 2, 0, ceil_mode=True).numpy()
    graph_case("op_maxpool_ceil", [mp], x, {}, [y], [y.shape])
    for inc in (0, 1):
        ap = helper.make_node("AveragePool", ["x"], ["y0"], kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1], count_include_pad=inc)
        y = F.avg_pool2d(tx, 3, 2, 1, count_include_pad=bool(inc)).numpy()
        graph_case("op_avgpool_pad%d" % inc, [ap], x, {}, [y], [y.shape])
    y = F.adaptive_avg_pool2d(tx, 1).numpy()
    graph_case("op_gap", [helper.make_node("GlobalAveragePool", ["x"], ["y0"])], x, {}, [y],
               [y.shape])


def resize_ref(x, oh, ow, mode, ctm, nearest_mode="round_prefer_floor"):
    """numpy Resize following the ONNX operator text, for the modes vas supports."""
    n, c, h, w = x.shape

    def src(o, insz, outsz):
        sc = outsz / insz
        if ctm == "align_corners":
            return o * (insz - 1) / (outsz - 1) if outsz > 1 else 0.0
        if ctm == "asymmetric":
            return o / sc
        if ctm == "pytorch_half_pixel" and outsz == 1:
            return 0.0
        return (o + 0.5) / sc - 0.5

    y = np.zeros((n, c, oh, ow), np.float32)
    for i in range(oh):
        for j in range(ow):
            sy, sx = src(i, h, oh), src(j, w, ow)
            if mode == "nearest":
                r = {"floor": np.floor, "ceil": np.ceil,
                     "round_prefer_floor": lambda v: np.ceil(v - 0.5),
                     "round_prefer_ceil": lambda v: np.floor(v + 0.5)}[nearest_mode]
                yi, xi = int(min(max(r(sy), 0), h - 1)), int(min(max(r(sx), 0), w - 1))
                y[:, :, i, j] = x[:, :, yi, xi]
            else:
                sy, sx = min(max(sy, 0), h - 1), min(max(sx, 0), w - 1)
                y0, x0 = int(np.floor(sy)), int(np.floor(sx))
                y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
                fy, fx = sy - y0, sx - x0
                y[:, :, i, j] = (x[:, :, y0, x0] * (1 - fy) * (1 - fx) +
                                 x[:, :, y0, x1] * (1 - fy) * fx +
                                 x[:, :, y1, x0] * fy * (1 - fx) + x[:, :, y1, x1] * fy * fx)
    return y


def resize_cases(rng):
    x = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    empty = np.zeros((0,), np.float32)
    specs = [("op_resize_nearest2x", "nearest", "asymmetric", "floor", [1, 1, 2, 2]),
             ("op_resize_linear_half", "linear", "half_pixel", "round_prefer_floor", [1, 1, 2, 2]),
             ("op_resize_linear_align", "linear", "align_corners", "round_prefer_floor",
              [1, 1, 2.5, 1.6]),
             ("op_resize_nearest_half", "nearest", "half_pixel", "round_prefer_ceil",
              [1, 1, 1.5, 3])]
    for name, mode, ctm, nm, scales in specs:
        oh, ow = int(np.floor(4 * scales[2])), int(np.floor(5 * scales[3]))
        node = helper.make_node("Resize", ["x", "roi", "scales"], ["y0"], mode=mode,
                                coordinate_transformation_mode=ctm, nearest_mode=nm)
        graph_case(name, [node], x, {"roi": empty, "scales": np.array(scales, np.float32)},
                   [resize_ref(x, oh, ow, mode, ctm, nm)], [(1, 3, oh, ow)])
    # PyTorch's export of interpolate(size=2*input): Shape/Gather/Mul/Concat folded at load.
    nodes = [helper.make_node("Shape", ["x"], ["sh"]),
             helper.make_node("Gather", ["sh", "i23"], ["hw"], axis=0),
             helper.make_node("Mul", ["hw", "two"], ["hw2"]),
             helper.make_node("Slice", ["sh", "s0", "s2"], ["nc"]),
             helper.make_node("Concat", ["nc", "hw2"], ["sizes"], axis=0),
             helper.make_node("Resize", ["x", "", "", "sizes"], ["y0"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor")]
    inits = {"i23": np.array([2, 3], np.int64), "two": np.array(2, np.int64),
             "s0": np.array([0], np.int64), "s2": np.array([2], np.int64)}
    graph_case("op_resize_shape_folded", nodes, x, inits,
               [resize_ref(x, 8, 10, "nearest", "asymmetric", "floor")], [(1, 3, 8, 10)])
    # Reshape/Flatten/Unsqueeze that only compute shapes, and a Reshape that is a no-op.
    nodes = [helper.make_node("Shape", ["x"], ["sh"]),
             helper.make_node("Reshape", ["x", "sh"], ["r"]),
             helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(
                 np.array([[2.0]], np.float32))),
             helper.make_node("Flatten", ["k"], ["kf"], axis=0),
             helper.make_node("Unsqueeze", ["kf", "ax"], ["ku"]),
             helper.make_node("Mul", ["r", "ku"], ["y0"])]
    graph_case("op_shape_ops", nodes, x, {"ax": np.array([0, 1], np.int64)}, [x * 2.0],
               [x.shape])


def unsupported_cases(rng):
    """Models vas must refuse at load; only the .onnx is used (expected outputs are empty)."""
    x = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    bad = [("bad_op", [helper.make_node("Softmax", ["x"], ["y0"], name="soft")], {}),
           ("bad_attr", [helper.make_node("Resize", ["x", "roi", "sc"], ["y0"], name="up",
                                          mode="cubic")],
            {"roi": np.zeros(0, np.float32), "sc": np.array([1, 1, 2, 2], np.float32)}),
           ("bad_dynamic", [helper.make_node("Relu", ["x"], ["r"]),
                            helper.make_node("Cast", ["r"], ["ri"], to=7),
                            helper.make_node("Reshape", ["x", "ri"], ["y0"], name="dyn")], {})]
    for name, nodes, inits in bad:
        ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))]
        outs = [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)]
        init = [numpy_helper.from_array(v, k) for k, v in inits.items()]
        m = helper.make_model(helper.make_graph(nodes, name, ins, outs, init),
                              opset_imports=[helper.make_opsetid("", 13)])
        onnx.save(m, os.path.join(OUT, name + ".onnx"))
    # A FLOAT initializer whose values sit in int64_data (8 bytes each): the field of another type
    # is refused, never copied into the tensor's 4-byte elements (a fuzzer found that overflow).
    sc = TensorProto(name="sc", data_type=TensorProto.FLOAT, dims=[4], int64_data=[1, 1, 2, 2])
    nodes = [helper.make_node("Resize", ["x", "", "sc"], ["y0"], mode="nearest")]
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))]
    outs = [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)]
    m = helper.make_model(helper.make_graph(nodes, "bad_typed_field", ins, outs, [sc]),
                          opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(m, os.path.join(OUT, "bad_typed_field.onnx"))


def extra_cases(rng):
    """Standalone BatchNormalization, more fused activations, SAME padding, Sub/Div, Dropout,
    and weights in an ONNX external-data file."""
    x = rng.standard_normal((2, 4, 6, 7)).astype(np.float32)
    tx = t(x)
    sc, bi = rng.random(4).astype(np.float32) + 0.5, rng.standard_normal(4).astype(np.float32)
    mu, var = rng.standard_normal(4).astype(np.float32), rng.random(4).astype(np.float32) + 0.5
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("BatchNormalization", ["r", "sc", "bi", "mu", "var"], ["n"]),
             helper.make_node("Relu", ["n"], ["y0"])]
    y = F.relu(F.batch_norm(F.relu(tx), t(mu), t(var), t(sc), t(bi), False, 0.0, 1e-5))
    graph_case("op_bn_standalone", nodes, x, {"sc": sc, "bi": bi, "mu": mu, "var": var},
               [y.numpy()], [x.shape])
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32) * 0.3
    for op, ref, kw, opset in [("HardSwish", F.hardswish, {}, 14),
                               ("Clip", lambda v: torch.clamp(v, -0.5, 0.7), {}, 11)]:
        ins = ["c", "lo", "hi"] if op == "Clip" else ["c"]
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1] * 4),
                 helper.make_node(op, ins, ["y0"], **kw)]
        inits = {"w": w, "lo": np.float32(-0.5), "hi": np.float32(0.7)} if op == "Clip" \
            else {"w": w}
        graph_case("op_conv_" + op.lower(), nodes, x, inits,
                   [ref(F.conv2d(tx, t(w), None, 1, 1)).numpy()], [(2, 5, 6, 7)], opset=opset)
    # auto_pad SAME_UPPER, stride 2: 6x7 -> 3x4; total pads 1 (H: 0 top, 1 bottom), 2 (W: 1, 1).
    node = helper.make_node("Conv", ["x", "w"], ["y0"], kernel_shape=[3, 3], strides=[2, 2],
                            auto_pad="SAME_UPPER")
    y = F.conv2d(F.pad(tx, (1, 1, 0, 1)), t(w), None, 2)
    graph_case("op_conv_same_upper", [node], x, {"w": w}, [y.numpy()], [tuple(y.shape)])
    c = rng.random((4, 1, 1)).astype(np.float32) + 0.5
    nodes = [helper.make_node("Sub", ["x", "c"], ["s"]), helper.make_node("Div", ["s", "c"], ["d"]),
             helper.make_node("Dropout", ["d"], ["y0"])]
    graph_case("op_sub_div_dropout", nodes, x, {"c": c}, [(x - c) / c], [x.shape])
    # External data: the weights go to op_conv_external.data beside the model.
    b = rng.standard_normal(5).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y0"], kernel_shape=[3, 3], pads=[1] * 4)
    graph_case("op_conv_external", [node], x, {"w": w, "b": b},
               [F.conv2d(tx, t(w), t(b), 1, 1).numpy()], [(2, 5, 6, 7)])
    m = onnx.load(os.path.join(OUT, "op_conv_external.onnx"))
    onnx.save_model(m, os.path.join(OUT, "op_conv_external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="op_conv_external.data",
                    size_threshold=0)


def dynamic_case(rng):
    """A model with free N, H, W (like the bench models): checked at 2x4x9x11, and run by the
    test at other sizes to exercise re-planning."""
    x = rng.standard_normal((2, 4, 9, 11)).astype(np.float32)
    w = rng.standard_normal((3, 4, 3, 3)).astype(np.float32) * 0.3
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("Relu", ["c"], ["y0"])]
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, "H", "W"])]
    outs = [helper.make_tensor_value_info("y0", TensorProto.FLOAT, ["N", 3, "H", "W"])]
    g = helper.make_graph(nodes, "dyn", ins, outs, [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    save_case("op_dynamic_size", m, x, [F.relu(F.conv2d(t(x), t(w), None, 1, 1)).numpy()])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", help="write full-width 640x480 bench models to this folder")
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    if args.bench:
        os.makedirs(args.bench, exist_ok=True)
        x = torch.randn(1, 3, 480, 640)
        for name, m in [("resnet50_dlc", ResNetDLC(64, 17)), ("mobilenetv2_dlc", MobileNetDLC(1.0, 17))]:
            randomize_bn(m, gen)
            export(m, x, os.path.join(args.bench, name + ".onnx"), dynamic=True)
        return 0
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    conv_cases(rng)
    fused_cases(rng)
    deconv_cases(rng)
    act_cases(rng)
    binary_cases(rng)
    pool_cases(rng)
    resize_cases(rng)
    unsupported_cases(rng)
    extra_cases(rng)
    dynamic_case(rng)
    net_case("net_resnet50_dlc", ResNetDLC(8, 4), (2, 3, 64, 80), gen)
    net_case("net_mobilenetv2_dlc", MobileNetDLC(0.35, 4, 16), (2, 3, 64, 80), gen)
    dw_cases(np.random.default_rng(11))  # its own generator: the cases above stay as they were
    fuse_case(np.random.default_rng(12))
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# case N C H W out_floats (written by tools/make-nn-fixtures.py)\n")
        f.write("\n".join(CASES) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
