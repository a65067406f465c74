#!/usr/bin/python3
"""make-dlc2-fixtures.py OUTDIR - DeepLabCut 2 exported models (frozen TensorFlow graphs) for
tests/test_dlc2_net.c, written without TensorFlow (not in Debian) by Debian's python3-protobuf,
with reference outputs from an independent PyTorch forward pass.

Run by mk/model.mk when the tests are built (OUTDIR = build/<variant>/fixtures/dlc2/). Seeded,
so every run writes the same bytes. Each case is a folder:

    OUTDIR/<case>/export/      what deeplabcut.export_model writes: pose_cfg.yaml (sorted keys,
                               as ruamel dumps DLC's dict) and snapshot-<iteration>.pb
    OUTDIR/<case>/image.u8     the test image, H x W x 3 bytes, RGB
    OUTDIR/<case>/heatmap.f32  reference score maps (sigmoid applied), J x h x w float32 (NCHW)
    OUTDIR/<case>/locref.f32   reference location refinement, 2J x h x w (2j = x, 2j+1 = y)
    OUTDIR/<case>/poses.f64    reference poses as DLC 2 decodes them (argmax_pose_predict):
                               J x (x, y, likelihood) float64
    OUTDIR/<case>/meta.txt     "key value" lines: net_type, h, w, joints, map_h, map_w, locref,
                               params, uid, margin
and OUTDIR/cases.txt lists the good cases; OUTDIR/bad/<name>/ are exports vas must refuse.

The graphs hold exactly the nodes DeepLabCut 2.3's exported frozen graphs hold (DeepLabCut
v2.3.11 deeplabcut/pose_estimation_tensorflow: nnets/{resnet,mobilenet,efficientnet,base,
layers}.py, backbones/{mobilenet,mobilenet_v2,efficientnet_builder,efficientnet_model}.py,
nnets/conv_blocks.py, core/predict.py, export.py; tf_slim's resnet_v1/resnet_utils; TensorFlow's
nn_ops/_WithSpaceToBatch, keras Conv2DTranspose and tf.nn.swish): TF-slim resnet_v1 with
conv2d_same (Pad + VALID at stride 2) and output_stride 16 (block4 atrous: SpaceToBatchND ->
Conv2D -> BatchToSpaceND with the paddings computed from Shape), FusedBatchNorm not folded,
DLC's MobileNetV2 (stride 16; built under TF-slim's training_scope, so its batch norms run in
training mode: batch statistics) and EfficientNet (stride 16, swish as TF 2's custom-gradient
IdentityN or TF 1's swish_f32 function, squeeze-excite with Mean), the conv2d_transpose heads
pose/part_pred/block4 and pose/locref_pred/block4 with their Shape/StridedSlice/Mul/Pack output
size, "Sigmoid", and for one case the GPU form ending in "concat_1". Both TensorFlow 1.x
(FusedBatchNorm, Add, "/read") and 2.x (FusedBatchNormV3, AddV2, ReadVariableOp) spellings occur.

Weights are random; each inference batch norm gets the statistics of the activation it sees on
the test image (jittered), and the heads are scaled so that logits stay O(1) and every score map
has a clear maximum (margin >= 2e-3), so that vas and the reference pick the same cell.
"""
import math
import os
import shutil
import time
import sys

import numpy as np
import torch
import torch.nn.functional as F
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

torch.set_num_threads(2)
DT_FLOAT, DT_INT32, DT_INT64, DT_BOOL = 1, 3, 9, 10
MEAN_PIXEL = [123.68, 116.779, 103.939]
STDDEV_RGB = [0.229 * 255, 0.224 * 255, 0.225 * 255]
LOCREF_STDEV = 7.2801


# ---------------------------------------------------------------------------------------------
# TensorFlow's GraphDef schema (tensorflow/core/framework/*.proto, proto3), built in Python
# ---------------------------------------------------------------------------------------------
def _schema():
    FD = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name="vas_tf_fixture.proto", package="tensorflow",
                                           syntax="proto3")

    def add(m, name, num, typ, rep=False, tn=None, oneof=None):
        fd = m.field.add(name=name, number=num, type=typ,
                         label=FD.LABEL_REPEATED if rep else FD.LABEL_OPTIONAL)
        if tn:
            fd.type_name = tn
        if oneof is not None:
            fd.oneof_index = oneof

    sh = f.message_type.add(name="TensorShapeProto")
    dim = sh.nested_type.add(name="Dim")
    add(dim, "size", 1, FD.TYPE_INT64)
    add(dim, "name", 2, FD.TYPE_STRING)
    add(sh, "dim", 2, FD.TYPE_MESSAGE, True, ".tensorflow.TensorShapeProto.Dim")
    add(sh, "unknown_rank", 3, FD.TYPE_BOOL)

    t = f.message_type.add(name="TensorProto")
    add(t, "dtype", 1, FD.TYPE_INT32)
    add(t, "tensor_shape", 2, FD.TYPE_MESSAGE, tn=".tensorflow.TensorShapeProto")
    add(t, "version_number", 3, FD.TYPE_INT32)
    add(t, "tensor_content", 4, FD.TYPE_BYTES)
    add(t, "float_val", 5, FD.TYPE_FLOAT, True)
    add(t, "double_val", 6, FD.TYPE_DOUBLE, True)
    add(t, "int_val", 7, FD.TYPE_INT32, True)
    add(t, "int64_val", 10, FD.TYPE_INT64, True)
    add(t, "bool_val", 11, FD.TYPE_BOOL, True)
    add(t, "half_val", 13, FD.TYPE_INT32, True)

    a = f.message_type.add(name="AttrValue")
    lv = a.nested_type.add(name="ListValue")
    add(lv, "s", 2, FD.TYPE_BYTES, True)
    add(lv, "i", 3, FD.TYPE_INT64, True)
    add(lv, "f", 4, FD.TYPE_FLOAT, True)
    add(lv, "b", 5, FD.TYPE_BOOL, True)
    add(lv, "type", 6, FD.TYPE_INT32, True)
    add(lv, "shape", 7, FD.TYPE_MESSAGE, True, ".tensorflow.TensorShapeProto")
    add(lv, "tensor", 8, FD.TYPE_MESSAGE, True, ".tensorflow.TensorProto")
    a.oneof_decl.add(name="value")
    add(a, "list", 1, FD.TYPE_MESSAGE, tn=".tensorflow.AttrValue.ListValue", oneof=0)
    add(a, "s", 2, FD.TYPE_BYTES, oneof=0)
    add(a, "i", 3, FD.TYPE_INT64, oneof=0)
    add(a, "f", 4, FD.TYPE_FLOAT, oneof=0)
    add(a, "b", 5, FD.TYPE_BOOL, oneof=0)
    add(a, "type", 6, FD.TYPE_INT32, oneof=0)
    add(a, "shape", 7, FD.TYPE_MESSAGE, tn=".tensorflow.TensorShapeProto", oneof=0)
    add(a, "tensor", 8, FD.TYPE_MESSAGE, tn=".tensorflow.TensorProto", oneof=0)
    add(a, "placeholder", 9, FD.TYPE_STRING, oneof=0)

    n = f.message_type.add(name="NodeDef")
    e = n.nested_type.add(name="AttrEntry")
    e.options.map_entry = True
    add(e, "key", 1, FD.TYPE_STRING)
    add(e, "value", 2, FD.TYPE_MESSAGE, tn=".tensorflow.AttrValue")
    add(n, "name", 1, FD.TYPE_STRING)
    add(n, "op", 2, FD.TYPE_STRING)
    add(n, "input", 3, FD.TYPE_STRING, True)
    add(n, "device", 4, FD.TYPE_STRING)
    add(n, "attr", 5, FD.TYPE_MESSAGE, True, ".tensorflow.NodeDef.AttrEntry")

    v = f.message_type.add(name="VersionDef")
    add(v, "producer", 1, FD.TYPE_INT32)
    add(v, "min_consumer", 2, FD.TYPE_INT32)
    add(v, "bad_consumers", 3, FD.TYPE_INT32, True)

    op = f.message_type.add(name="OpDef")  # only its name: the library names swish_f32
    add(op, "name", 1, FD.TYPE_STRING)
    fn = f.message_type.add(name="FunctionDef")
    add(fn, "signature", 1, FD.TYPE_MESSAGE, tn=".tensorflow.OpDef")
    lib = f.message_type.add(name="FunctionDefLibrary")
    add(lib, "function", 1, FD.TYPE_MESSAGE, True, ".tensorflow.FunctionDef")

    g = f.message_type.add(name="GraphDef")
    add(g, "node", 1, FD.TYPE_MESSAGE, True, ".tensorflow.NodeDef")
    add(g, "library", 2, FD.TYPE_MESSAGE, tn=".tensorflow.FunctionDefLibrary")
    add(g, "version", 3, FD.TYPE_INT32)
    add(g, "versions", 4, FD.TYPE_MESSAGE, tn=".tensorflow.VersionDef")

    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    get = getattr(message_factory, "GetMessageClass", None)
    fac = message_factory.MessageFactory(pool)
    out = {}
    for name in ("GraphDef", "TensorProto"):
        d = pool.FindMessageTypeByName("tensorflow." + name)
        out[name] = get(d) if get else fac.GetPrototype(d)
    return out


PB = _schema()


def tensor_proto(arr):
    arr = np.asarray(arr)
    t = PB["TensorProto"]()
    if arr.dtype == np.float32:
        t.dtype = DT_FLOAT
    elif arr.dtype == np.int32:
        t.dtype = DT_INT32
    elif arr.dtype == np.int64:
        t.dtype = DT_INT64
    else:
        raise ValueError(arr.dtype)
    for d in arr.shape:
        t.tensor_shape.dim.add(size=d)
    if arr.ndim == 0 or arr.size == 0:  # scalars (and empty tensors) as TensorFlow writes them
        if arr.size:
            (t.float_val if t.dtype == DT_FLOAT else t.int_val).append(arr.item())
    else:
        t.tensor_content = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    return t


def set_attr(av, v):
    kind, val = v
    if kind == "type":
        av.type = val
    elif kind == "s":
        av.s = val.encode() if isinstance(val, str) else val
    elif kind == "i":
        av.i = val
    elif kind == "f":
        av.f = val
    elif kind == "b":
        av.b = val
    elif kind == "ints":
        av.list.i.extend(val)
        av.list.SetInParent()
    elif kind == "types":
        av.list.type.extend(val)
        av.list.SetInParent()
    elif kind == "strs":
        av.list.s.extend([s.encode() for s in val])
        av.list.SetInParent()
    elif kind == "shape":
        av.shape.SetInParent()
        for d in val:
            av.shape.dim.add(size=d)
    elif kind == "tensor":
        av.tensor.CopyFrom(val)
    else:
        raise ValueError(kind)


F32 = ("type", DT_FLOAT)
I32 = ("type", DT_INT32)


class A:
    """A TensorFlow tensor: its name and, for runtime tensors, the reference value (NCHW,
    float64)."""

    def __init__(self, n, v=None):
        self.n, self.v = n, v


# ---------------------------------------------------------------------------------------------
# The graph writer and reference computation, op by op (TensorFlow semantics in PyTorch)
# ---------------------------------------------------------------------------------------------
def same_pads(size, k, s, d=1):
    """TensorFlow SAME: (before, after), the odd pixel after."""
    kd = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + kd - size, 0)
    return total // 2, total - total // 2


class G:
    def __init__(self, seed, tf1=False):
        self.gd = PB["GraphDef"]()
        self.gd.versions.producer = 27 if tf1 else 808
        self.rng = np.random.default_rng(seed)
        self.tf1 = tf1
        self.names = set()
        self.count = {}
        self.params = 0  # float weights as vas holds them (BatchNorm folded)

    def node(self, name, op, inputs=(), **attrs):
        assert name not in self.names, name
        self.names.add(name)
        n = self.gd.node.add(name=name, op=op)
        n.input.extend(inputs)
        for k, v in attrs.items():
            set_attr(n.attr[k], v)
        return name

    def uniq(self, base):
        """TensorFlow's name uniquifier: base, base_1, base_2 ..."""
        k = self.count.get(base, 0)
        self.count[base] = k + 1
        return base if k == 0 else "%s_%d" % (base, k)

    def const(self, name, arr):
        arr = np.asarray(arr)
        t = tensor_proto(arr)
        return self.node(name, "Const", dtype=("type", t.dtype), value=("tensor", t))

    def ints(self, name, vals):
        return self.const(name, np.array(vals, dtype=np.int32))

    def var(self, name, arr):
        """A frozen variable: the Const, and the read TensorFlow 1.x (VariableV2 -> "/read"
        Identity) or 2.x (VarHandleOp -> ReadVariableOp Identity) left in front of it."""
        self.const(name, np.asarray(arr, dtype=np.float32))
        rd = name + ("/read" if self.tf1 else "/Read/ReadVariableOp")
        return self.node(rd, "Identity", [name], T=F32)

    # ---- element-wise ----
    def add(self, name, a, b):
        return A(self.node(name, "Add" if self.tf1 else "AddV2", [a.n, b.n], T=F32), a.v + b.v)

    def relu(self, name, x):
        return A(self.node(name, "Relu", [x.n], T=F32), torch.relu(x.v))

    def relu6(self, name, x):
        return A(self.node(name, "Relu6", [x.n], T=F32), torch.clamp(x.v, 0, 6))

    def identity(self, name, x):
        return A(self.node(name, "Identity", [x.n], T=F32), x.v)

    def swish(self, scope, x, form):
        v = x.v * torch.sigmoid(x.v)
        if form == "tf1":  # TF 1.x tf.nn.swish: a Defun, called as op "swish_f32"
            return A(self.node(self.uniq(scope + "/swish_f32"), "swish_f32", [x.n]), v)
        # TF 2.x: custom_gradient -> features * sigmoid(beta * features), then IdentityN
        beta = self.const(self.uniq(scope + "/beta"), np.float32(1.0))
        m = self.node(self.uniq(scope + "/mul"), "Mul", [beta, x.n], T=F32)
        s = self.node(self.uniq(scope + "/Sigmoid"), "Sigmoid", [m], T=F32)
        m1 = self.node(self.uniq(scope + "/mul"), "Mul", [x.n, s], T=F32)
        idn = self.node(self.uniq(scope + "/IdentityN"), "IdentityN", [m1, x.n, beta],
                        T=("types", [DT_FLOAT] * 3))
        return A(idn, v)

    # ---- convolutions ----
    def conv(self, name, x, w, stride=1, padding="SAME", bias=None):
        """Conv2D (HWIO filter, read from a frozen variable) + optional bias, reference included."""
        k = w.shape[0]
        v = x.v
        if padding == "SAME":
            t, b = same_pads(v.shape[2], k, stride)
            l, r = same_pads(v.shape[3], k, stride)
            v = F.pad(v, (l, r, t, b))
        wt = torch.from_numpy(w.astype(np.float64)).permute(3, 2, 0, 1)
        v = F.conv2d(v, wt, stride=stride)
        self.params += w.size
        return A(name, v)

    def conv_node(self, name, x, wread, stride, padding):
        return self.node(name, "Conv2D", [x.n, wread], T=F32, strides=("ints", [1, stride, stride, 1]),
                         padding=("s", padding), data_format=("s", "NHWC"),
                         dilations=("ints", [1, 1, 1, 1]), use_cudnn_on_gpu=("b", True),
                         explicit_paddings=("ints", []))

    def dwconv(self, name, x, w, stride):
        """DepthwiseConv2dNative, SAME: filter kh x kw x C x 1."""
        k = w.shape[0]
        t, b = same_pads(x.v.shape[2], k, stride)
        l, r = same_pads(x.v.shape[3], k, stride)
        c = w.shape[2]
        wt = torch.from_numpy(w.astype(np.float64)).permute(2, 3, 0, 1).reshape(c, 1, k, k)
        self.params += w.size
        return F.conv2d(F.pad(x.v, (l, r, t, b)), wt, stride=stride, groups=c)

    def pad(self, name, x, p):
        pn = self.ints(name + "/paddings", [[0, 0], [p[0], p[1]], [p[0], p[1]], [0, 0]])
        return A(self.node(name, "Pad", [x.n, pn], T=F32, Tpaddings=I32),
                 F.pad(x.v, (p[0], p[1], p[0], p[1])))

    def bn(self, scope, x, eps, training=False, gamma=(0.6, 1.4), after_conv_bias=True):
        """FusedBatchNorm (TF 1.x) / FusedBatchNormV3 in inference or training mode."""
        c = x.v.shape[1]
        g = self.rng.uniform(*gamma, c).astype(np.float32)
        be = self.rng.normal(0, 0.2, c).astype(np.float32)
        gr = self.var(scope + "/gamma", g)
        br = self.var(scope + "/beta", be)
        ver = "FusedBatchNorm" if self.tf1 else "FusedBatchNormV3"
        extra = {} if self.tf1 else {"U": F32, "exponential_avg_factor": ("f", 1.0)}
        mu_t = x.v.mean(dim=(0, 2, 3))
        var_t = x.v.var(dim=(0, 2, 3), unbiased=False)
        if training:
            m = self.const(scope + "/Const", np.zeros(0, np.float32))
            vv = self.const(scope + "/Const_1", np.zeros(0, np.float32))
            mu, var = mu_t, var_t
            self.params += 2 * c
        else:  # the statistics of the activation on the test image, jittered
            mu = (mu_t + 0.1 * var_t.sqrt() * torch.from_numpy(self.rng.normal(0, 1, c))).float()
            # a near-constant channel would amplify float32 rounding: floor its variance
            floor = 0.1 * float(var_t.mean()) + 1e-3
            var = (torch.clamp(var_t, min=floor) * torch.from_numpy(self.rng.uniform(0.7, 1.3, c)))
            var = var.float()
            m = self.var(scope + "/moving_mean", mu.numpy())
            vv = self.var(scope + "/moving_variance", var.numpy())
            mu, var = mu.double(), var.double()
            self.params += c if after_conv_bias else 4 * c
        name = self.node(scope + "/" + ver, ver, [x.n, gr, br, m, vv], T=F32, epsilon=("f", eps),
                         data_format=("s", "NHWC"), is_training=("b", training), **extra)
        eps32 = float(np.float32(eps))
        gt = torch.from_numpy(g.astype(np.float64))[None, :, None, None]
        bt = torch.from_numpy(be.astype(np.float64))[None, :, None, None]
        v = (x.v - mu[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + eps32) * gt + bt
        return A(name, v)

    def maxpool(self, name, x, k, s):
        t, b = same_pads(x.v.shape[2], k, s)
        l, r = same_pads(x.v.shape[3], k, s)
        v = F.max_pool2d(F.pad(x.v, (l, r, t, b), value=-math.inf), k, s)
        return A(self.node(name, "MaxPool", [x.n], T=F32, ksize=("ints", [1, k, k, 1]),
                           strides=("ints", [1, s, s, 1]), padding=("s", "SAME"),
                           data_format=("s", "NHWC")), v)

    # ---- shape arithmetic (integer tensors; no reference values) ----
    def sslice(self, name, x, b, e, s, shrink=0, bmask=0, emask=0):
        bn = self.ints(name + "/stack", b)
        en = self.ints(name + "/stack_1", e)
        sn = self.ints(name + "/stack_2", s)
        return self.node(name, "StridedSlice", [x, bn, en, sn], T=I32, Index=I32,
                         begin_mask=("i", bmask), end_mask=("i", emask), ellipsis_mask=("i", 0),
                         new_axis_mask=("i", 0), shrink_axis_mask=("i", shrink))

    def pack(self, name, xs):
        return self.node(name, "Pack", xs, T=I32, N=("i", len(xs)), axis=("i", 0))

    def imath(self, name, op, a, b):
        return self.node(name, op, [a, b], T=I32)


def conv_bn(g, scope, x, cout, k, stride, padding, eps, act, training=False, gamma=(0.6, 1.4),
            op="Conv2D", w_name="weights", bn_name="BatchNorm"):
    """slim.conv2d with batch norm (no bias): Conv2D -> FusedBatchNorm -> activation."""
    cin = x.v.shape[1]
    w = g.rng.normal(0, math.sqrt(2.0 / (k * k * cin)), (k, k, cin, cout)).astype(np.float32)
    wr = g.var(scope + "/" + w_name, w)
    y = g.conv(scope + "/" + op, x, w, stride, padding)
    g.conv_node(y.n, x, wr, stride, padding)
    y = g.bn(scope + "/" + bn_name, y, eps, training, gamma)
    if act == "relu":
        y = g.relu(scope + "/Relu", y)
    elif act == "relu6":
        y = g.relu6(scope + "/Relu6", y)
    return y


# ---------------------------------------------------------------------------------------------
# TF-slim resnet_v1 (output_stride 16)
# ---------------------------------------------------------------------------------------------
def atrous_conv(g, scope, x, w, rate):
    """slim.conv2d(rate=2, SAME) as TensorFlow builds it for an unknown input size:
    nn_ops._WithSpaceToBatch (SpaceToBatchND -> VALID Conv2D -> BatchToSpaceND) with paddings and
    crops from required_space_to_batch_paddings. The reference runs the same three steps."""
    P = scope + "/Conv2D"
    wr = g.var(scope + "/weights", w)
    shape = g.node(P + "/Shape", "Shape", [x.n], T=F32, out_type=I32)
    h = g.sslice(P + "/strided_slice", shape, [1], [2], [1], shrink=1)
    wd = g.sslice(P + "/strided_slice_1", shape, [2], [3], [1], shrink=1)
    hw = g.pack(P + "/stack", [h, wd])
    R = P + "/required_space_to_batch_paddings"
    k = w.shape[0]
    pe = (k - 1) * rate
    base = [[pe // 2, pe - pe // 2]] * 2
    block = g.ints(R + "/block_shape", [rate, rate])
    bp = g.ints(R + "/base_paddings", base)
    ps = g.sslice(R + "/strided_slice", bp, [0, 0], [0, 1], [1, 1], shrink=2, bmask=1, emask=1)
    pe0 = g.sslice(R + "/strided_slice_1", bp, [0, 1], [0, 2], [1, 1], shrink=2, bmask=1, emask=1)
    addop = "Add" if g.tf1 else "AddV2"
    full = g.imath(R + "/add_1", addop, g.imath(R + "/add", addop, hw, ps), pe0)
    extra = g.imath(R + "/mod_1", "FloorMod",
                    g.imath(R + "/sub", "Sub", block,
                            g.imath(R + "/mod", "FloorMod", full, block)), block)
    pend = g.imath(R + "/add_2", addop, pe0, extra)
    rows = []
    for i in range(2):
        a = g.sslice(R + "/strided_slice_%d" % (2 + 2 * i), ps, [i], [i + 1], [1], shrink=1)
        b = g.sslice(R + "/strided_slice_%d" % (3 + 2 * i), pend, [i], [i + 1], [1], shrink=1)
        rows.append(g.pack(R + "/paddings/%d" % i, [a, b]))
    pads = g.pack(R + "/paddings", rows)
    rows = []
    for i in range(2):
        z = g.ints(R + "/crops/%d/0" % i, 0)
        b = g.sslice(R + "/strided_slice_%d" % (6 + i), extra, [i], [i + 1], [1], shrink=1)
        rows.append(g.pack(R + "/crops/%d" % i, [z, b]))
    crops = g.pack(R + "/crops", rows)
    # _with_space_to_batch_adjust: a slice and a one-input concat (an Identity)
    pads = g.node(P + "/concat", "Identity",
                  [g.sslice(P + "/strided_slice_2", pads, [0], [2], [1])], T=I32)
    crops = g.node(P + "/concat_1", "Identity",
                   [g.sslice(P + "/strided_slice_3", crops, [0], [2], [1])], T=I32)
    s2b = g.node(P + "/SpaceToBatchND", "SpaceToBatchND",
                 [x.n, g.ints(P + "/SpaceToBatchND/block_shape", [rate, rate]), pads], T=F32,
                 Tblock_shape=I32, Tpaddings=I32)
    cv = g.conv_node(P + "/Conv2D", A(s2b), wr, 1, "VALID")
    out = g.node(P + "/BatchToSpaceND", "BatchToSpaceND",
                 [cv, g.ints(P + "/BatchToSpaceND/block_shape", [rate, rate]), crops], T=F32,
                 Tblock_shape=I32, Tcrops=I32)
    # reference: the same three steps
    v = x.v
    H, W = v.shape[2], v.shape[3]
    ex = [(rate - (H + pe) % rate) % rate, (rate - (W + pe) % rate) % rate]
    v = F.pad(v, (base[1][0], base[1][1] + ex[1], base[0][0], base[0][1] + ex[0]))
    B, C, Hp, Wp = v.shape
    v = v.reshape(B, C, Hp // rate, rate, Wp // rate, rate).permute(3, 5, 0, 1, 2, 4)
    v = v.reshape(rate * rate * B, C, Hp // rate, Wp // rate)
    v = F.conv2d(v, torch.from_numpy(w.astype(np.float64)).permute(3, 2, 0, 1))
    h2, w2 = v.shape[2], v.shape[3]
    v = v.reshape(rate, rate, B, -1, h2, w2).permute(2, 3, 4, 0, 5, 1).reshape(B, -1, h2 * rate,
                                                                               w2 * rate)
    v = v[:, :, :v.shape[2] - ex[0], :v.shape[3] - ex[1]]
    g.params += w.size
    return A(out, v)


def bottleneck(g, scope, x, depth, base, stride, rate):
    """tf_slim resnet_v1.bottleneck."""
    s = scope + "/bottleneck_v1"
    cin = x.v.shape[1]
    if depth == cin:
        if stride == 1:
            short = x
        else:
            short = g.maxpool(s + "/shortcut/MaxPool", x, 1, stride)
    else:
        short = conv_bn(g, s + "/shortcut", x, depth, 1, stride, "SAME", 1e-5, None)
    r = conv_bn(g, s + "/conv1", x, base, 1, 1, "SAME", 1e-5, "relu")
    if stride == 1 and rate == 1:
        r = conv_bn(g, s + "/conv2", r, base, 3, 1, "SAME", 1e-5, "relu")
    elif stride == 1:
        w = g.rng.normal(0, math.sqrt(2.0 / (9 * base)), (3, 3, base, base)).astype(np.float32)
        r = atrous_conv(g, s + "/conv2", r, w, rate)
        r = g.relu(s + "/conv2/Relu", g.bn(s + "/conv2/BatchNorm", r, 1e-5))
    else:  # conv2d_same: explicit Pad, then a VALID convolution
        r = g.pad(s + "/Pad", r, (1, 1))
        r = conv_bn(g, s + "/conv2", r, base, 3, stride, "VALID", 1e-5, "relu")
    r = conv_bn(g, s + "/conv3", r, depth, 1, 1, "SAME", 1e-5, None, gamma=(0.1, 0.3))
    return g.relu(s + "/Relu", g.add(s + "/add", short, r))


def resnet(g, x, layers, div):
    name = "resnet_v1_%d" % layers
    units = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}[layers]
    net = g.pad(name + "/Pad", x, (3, 3))
    net = conv_bn(g, name + "/conv1", net, 64 // div, 7, 2, "VALID", 1e-5, "relu")
    net = g.maxpool(name + "/pool1/MaxPool", net, 3, 2)
    # stack_blocks_dense with output_stride 16 / 4 (the root's stride): once the units' strides
    # reach 4, later units run at stride 1 with an atrous rate multiplied by the skipped strides
    current, rate = 1, 1
    for b, (n, base) in enumerate(zip(units, [64, 128, 256, 512])):
        for u in range(n):
            stride = (2 if b < 3 else 1) if u == n - 1 else 1
            scope = "%s/block%d/unit_%d" % (name, b + 1, u + 1)
            if current == 4:
                net = bottleneck(g, scope, net, 4 * base // div, base // div, 1, rate)
                rate *= stride
            else:
                net = bottleneck(g, scope, net, 4 * base // div, base // div, stride, 1)
                current *= stride
    return net


# ---------------------------------------------------------------------------------------------
# DLC's MobileNetV2 (stride 16, batch norm in training mode)
# ---------------------------------------------------------------------------------------------
def make_divisible(v, divisor, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def mobilenet_v2(g, x, mult):
    x = g.identity("MobilenetV2/input", x)
    spec = [(2, 24), (1, 24), (2, 32), (1, 32), (1, 32), (2, 64), (1, 64), (1, 64), (1, 64),
            (1, 96), (1, 96), (1, 96), (1, 160), (1, 160), (1, 160), (1, 320)]
    kw = dict(eps=1e-3, training=True, gamma=(0.3, 0.6))
    net = conv_bn(g, "MobilenetV2/Conv", x, make_divisible(32 * mult, 8, 8), 3, 2, "SAME",
                  act="relu6", **kw)
    blocks = [(1, 16, 1)] + [(s, c, 6) for s, c in spec]
    for i, (stride, cout, expand) in enumerate(blocks):
        s = "MobilenetV2/expanded_conv" + ("_%d" % i if i else "")
        cout = make_divisible(cout * mult, 8, 8)
        inp = g.identity(s + "/input", net)
        cin = inp.v.shape[1]
        inner = make_divisible(cin * expand, 8) if expand > 1 else cin
        h = inp
        if inner > cin:
            h = conv_bn(g, s + "/expand", h, inner, 1, 1, "SAME", act="relu6", **kw)
            h = g.identity(s + "/expansion_output", h)
        w = g.rng.normal(0, math.sqrt(2.0 / 9), (3, 3, inner, 1)).astype(np.float32)
        wr = g.var(s + "/depthwise/depthwise_weights", w)
        dn = g.node(s + "/depthwise/depthwise", "DepthwiseConv2dNative", [h.n, wr], T=F32,
                    strides=("ints", [1, stride, stride, 1]), padding=("s", "SAME"),
                    data_format=("s", "NHWC"), dilations=("ints", [1, 1, 1, 1]),
                    explicit_paddings=("ints", []))
        h = A(dn, g.dwconv(dn, h, w, stride))
        h = g.bn(s + "/depthwise/BatchNorm", h, 1e-3, True, gamma=(0.3, 0.6))
        h = g.relu6(s + "/depthwise/Relu6", h)
        h = g.identity(s + "/depthwise_output", h)
        h = conv_bn(g, s + "/project", h, cout, 1, 1, "SAME", 1e-3, None, True,
                    (0.1, 0.3) if stride == 1 and cout == cin else (0.3, 0.6))
        h = g.identity(s + "/project/Identity", h)  # project_activation_fn = tf.identity
        if stride == 1 and cout == cin:
            h = g.add(s + "/add", h, inp)
        net = g.identity(s + "/output", h)
    # finegrain_classification_mode: the last layer keeps 1280 channels for multipliers < 1
    last = 1280 / mult * mult if mult < 1 else 1280 * mult
    return conv_bn(g, "MobilenetV2/Conv_1", net, make_divisible(last, 8, 8), 1, 1, "SAME",
                   act="relu6", **kw)


# ---------------------------------------------------------------------------------------------
# DLC's EfficientNet (stride 16: block 6 keeps stride 1), features only
# ---------------------------------------------------------------------------------------------
EFF_PARAMS = {"efficientnet-b0": (1.0, 1.0), "efficientnet-b3": (1.2, 1.4),
              "efficientnet-b6": (1.8, 2.6)}
EFF_BLOCKS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
              (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 1, 6, 112, 192),
              (1, 3, 1, 6, 192, 320)]  # repeats, kernel, stride, expand, in, out


def round_filters(f, width, div):
    f *= width
    new = max(8, int(f + 4) // 8 * 8)
    if new < 0.9 * f:
        new += 8
    return max(4, int(new) // div)


def eff_conv(g, name, x, cout, k, stride, bias):
    cin = x.v.shape[1]
    w = g.rng.normal(0, math.sqrt(2.0 / (k * k * cin)), (k, k, cin, cout)).astype(np.float32)
    wr = g.var(name + "/kernel", w)
    y = g.conv(name + "/Conv2D", x, w, stride, "SAME")
    g.conv_node(y.n, x, wr, stride, "SAME")
    if bias:
        b = g.rng.normal(0, 0.1, cout).astype(np.float32)
        br = g.var(name + "/bias", b)
        n = g.node(name + "/BiasAdd", "BiasAdd", [y.n, br], T=F32, data_format=("s", "NHWC"))
        y = A(n, y.v + torch.from_numpy(b.astype(np.float64))[None, :, None, None])
        g.params += cout
    return y


def efficientnet(g, x, net_type, div, swish_form):
    width, depth = EFF_PARAMS[net_type]
    root = "efficientnet/" + net_type
    bn_i = {}

    def bn(scope, y):
        k = bn_i.get(scope, 0)
        bn_i[scope] = k + 1
        return g.bn(scope + "/tpu_batch_normalization" + ("_%d" % k if k else ""), y, 1e-3, gamma=(0.3, 0.6))

    s = root + "/stem"
    net = g.swish(s, bn(s, eff_conv(g, s + "/conv2d", x, round_filters(32, width, div), 3, 2,
                                     False)), swish_form)
    idx = 0
    for rep, k, stride, expand, fin, fout in EFF_BLOCKS:
        fin, fout = round_filters(fin, width, div), round_filters(fout, width, div)
        for r in range(int(math.ceil(depth * rep))):
            s = root + "/blocks_%d" % idx
            cin = fin if r == 0 else fout
            st = stride if r == 0 else 1
            inp, h, ci = net, net, 0
            filters = cin * expand
            if expand != 1:
                h = g.swish(s, bn(s, eff_conv(g, s + "/conv2d", h, filters, 1, 1, False)),
                            swish_form)
                ci = 1
            w = g.rng.normal(0, math.sqrt(2.0 / (k * k)), (k, k, filters, 1)).astype(np.float32)
            wr = g.var(s + "/depthwise_conv2d/depthwise_kernel", w)
            dn = g.node(s + "/depthwise_conv2d/depthwise", "DepthwiseConv2dNative", [h.n, wr],
                        T=F32, strides=("ints", [1, st, st, 1]), padding=("s", "SAME"),
                        data_format=("s", "NHWC"), dilations=("ints", [1, 1, 1, 1]),
                        explicit_paddings=("ints", []))
            h = g.swish(s, bn(s, A(dn, g.dwconv(dn, h, w, st))), swish_form)
            # squeeze-excite
            ax = g.ints(s + "/se/Mean/reduction_indices", [1, 2])
            se = A(g.node(s + "/se/Mean", "Mean", [h.n, ax], T=F32, Tidx=I32,
                          keep_dims=("b", True)), h.v.mean(dim=(2, 3), keepdim=True))
            se = g.swish(s + "/se", eff_conv(g, s + "/se/conv2d", se, max(1, int(cin * 0.25)),
                                             1, 1, True), swish_form)
            se = eff_conv(g, s + "/se/conv2d_1", se, filters, 1, 1, True)
            sg = g.node(g.uniq(s + "/se/Sigmoid"), "Sigmoid", [se.n], T=F32)
            h = A(g.node(g.uniq(s + "/se/mul"), "Mul", [sg, h.n], T=F32), torch.sigmoid(se.v) * h.v)
            h = bn(s, eff_conv(g, s + "/conv2d" + ("_1" if ci else ""), h, fout, 1, 1, False))
            if st == 1 and cin == fout:
                h = A(g.node(s + "/Add", "Add" if g.tf1 else "AddV2", [h.n, inp.n], T=F32),
                      h.v + inp.v)
            net = h
            idx += 1
    return g.identity("efficientnet/features", net)


# ---------------------------------------------------------------------------------------------
# DLC's heads (slim.conv2d_transpose through keras Conv2DTranspose) and the pose
# ---------------------------------------------------------------------------------------------
def head(g, scope, x, cout, target_std, bias_std, tries_seed=None):
    """pose/<name>/block4: Shape -> StridedSlice x3 -> Mul x2 -> Pack -> Conv2DBackpropInput ->
    BiasAdd, weights (3, 3, out, in). The reference crops the full transposed convolution as
    TensorFlow's SAME rule does."""
    rng = np.random.default_rng(tries_seed) if tries_seed is not None else g.rng
    cin = x.v.shape[1]
    w = rng.normal(0, 1.0, (3, 3, cout, cin))
    b = rng.normal(0, bias_std, cout)
    full = F.conv_transpose2d(x.v, torch.from_numpy(w).permute(3, 2, 0, 1), stride=2)
    w = (w * target_std / float(full.std())).astype(np.float32)
    b = b.astype(np.float32)
    H, W = x.v.shape[2], x.v.shape[3]
    full = F.conv_transpose2d(x.v, torch.from_numpy(w.astype(np.float64)).permute(3, 2, 0, 1),
                              stride=2)
    ph, pw = (max((H - 1) * 2 + 3 - 2 * H, 0)) // 2, (max((W - 1) * 2 + 3 - 2 * W, 0)) // 2
    v = full[:, :, ph:ph + 2 * H, pw:pw + 2 * W]
    v = v + torch.from_numpy(b.astype(np.float64))[None, :, None, None]
    return w, b, v


def head_nodes(g, scope, x, w, b):
    wr = g.var(scope + "/weights", w)
    br = g.var(scope + "/biases", b)
    shape = g.node(scope + "/Shape", "Shape", [x.n], T=F32, out_type=I32)
    n0 = g.sslice(scope + "/strided_slice", shape, [0], [1], [1], shrink=1)
    h = g.sslice(scope + "/strided_slice_1", shape, [1], [2], [1], shrink=1)
    wd = g.sslice(scope + "/strided_slice_2", shape, [2], [3], [1], shrink=1)
    mh = g.imath(scope + "/mul", "Mul", h, g.ints(scope + "/mul/y", 2))
    mw = g.imath(scope + "/mul_1", "Mul", wd, g.ints(scope + "/mul_1/y", 2))
    st = g.pack(scope + "/stack", [n0, mh, mw, g.ints(scope + "/stack/3", w.shape[2])])
    ct = g.node(scope + "/conv2d_transpose", "Conv2DBackpropInput", [st, wr, x.n], T=F32,
                strides=("ints", [1, 2, 2, 1]), padding=("s", "SAME"), data_format=("s", "NHWC"),
                dilations=("ints", [1, 1, 1, 1]), use_cudnn_on_gpu=("b", True),
                explicit_paddings=("ints", []))
    g.params += w.size + b.size
    return g.node(scope + "/BiasAdd", "BiasAdd", [ct, br], T=F32, data_format=("s", "NHWC"))


def margins(scores):
    """Per joint: best minus second-best score."""
    flat = scores.reshape(scores.shape[0], -1)
    top = torch.topk(flat, 2, dim=1).values
    return (top[:, 0] - top[:, 1]).min().item()


def heads(g, feat, joints, locref, seed):
    """Part and locref heads; reseeds the part head until every score map has a clear max."""
    for t in range(200):
        w, b, logits = head(g, "pose/part_pred/block4", feat, joints, 1.0, 0.4, seed * 1000 + t)
        scores = torch.sigmoid(logits[0])
        if margins(scores) >= 2e-3:
            break
    else:
        raise RuntimeError("no head with clear maxima")
    part = head_nodes(g, "pose/part_pred/block4", feat, w, b)
    loc = None
    if locref:
        lw, lb, loc = head(g, "pose/locref_pred/block4", feat, 2 * joints, 0.2, 0.1)
        head_nodes(g, "pose/locref_pred/block4", feat, lw, lb)
        loc = loc[0]
    g.node("Sigmoid", "Sigmoid", [part], T=F32)
    return scores, loc, margins(scores)


def gpu_tail(g):
    """DLC's inference() pose extraction (batch size None) after the maps, ending in concat_1.
    vas never reads it; its ops (ArgMax, UnravelIndex, GatherNd ...) are ones vas lacks."""
    I64 = ("type", DT_INT64)
    loc = "pose/locref_pred/block4/BiasAdd"
    sh = g.node("Shape", "Shape", ["Sigmoid"], T=F32, out_type=I32)
    parts = [g.sslice("strided_slice_%d" % i if i else "strided_slice", sh, [i], [i + 1], [1],
                      shrink=1) for i in range(4)]
    rs = g.pack("Reshape/shape", parts + [g.ints("Reshape/shape/4", 2)])
    lr = g.node("Reshape", "Reshape", [loc, rs], T=F32, Tshape=I32)
    lt = g.node("transpose", "Transpose", [lr, g.ints("transpose/perm", [1, 2, 0, 3, 4])], T=F32,
                Tperm=I32)
    pt = g.node("transpose_1", "Transpose", ["Sigmoid", g.ints("transpose_1/perm", [1, 2, 0, 3])],
                T=F32, Tperm=I32)
    sh1 = g.node("Shape_1", "Shape", [pt], T=F32, out_type=I32)
    a = g.sslice("strided_slice_4", sh1, [0], [1], [1], shrink=1)
    b = g.sslice("strided_slice_5", sh1, [1], [2], [1], shrink=1)
    hw = g.imath("mul", "Mul", a, b)
    l1 = g.node("Reshape_1", "Reshape", [lt, g.pack("Reshape_1/shape", [
        hw, g.ints("Reshape_1/shape/1", -1), g.ints("Reshape_1/shape/2", 2)])], T=F32, Tshape=I32)
    p2 = g.node("Reshape_2", "Reshape", [pt, g.pack("Reshape_2/shape", [
        hw, g.ints("Reshape_2/shape/1", -1)])], T=F32, Tshape=I32)
    am = g.node("ArgMax", "ArgMax", [p2, g.ints("ArgMax/dimension", 0)], T=F32, Tidx=I32,
                output_type=I64)
    dims = g.pack("UnravelIndex/dims", [g.node("Cast", "Cast", [a], SrcT=I32, DstT=I64),
                                        g.node("Cast_1", "Cast", [b], SrcT=I32, DstT=I64)])
    ui = g.node("UnravelIndex", "UnravelIndex", [am, dims], Tidx=I64)
    ml = g.node("Reshape_3", "Reshape", [am, g.ints("Reshape_3/shape", [1, -1])], T=I64,
                Tshape=I32)
    cat = g.node("concat", "ConcatV2", [ml, ml, g.ints("concat/axis", 0)], T=I64, N=("i", 2),
                 Tidx=I32)
    idx = g.node("transpose_2", "Transpose", [cat, g.ints("transpose_2/perm", [1, 0])], T=I64,
                 Tperm=I32)
    off = g.node("GatherNd", "GatherNd", [l1, idx], Tparams=F32, Tindices=I64)
    off = g.node("GatherV2", "GatherV2", [off, g.ints("GatherV2/indices", [1, 0]),
                                          g.ints("GatherV2/axis", 1)], Tparams=F32, Tindices=I32,
                 Taxis=I32, batch_dims=("i", 0))
    lk = g.node("GatherNd_1", "GatherNd", [p2, idx], Tparams=F32, Tindices=I64)
    lk = g.node("Reshape_4", "Reshape", [lk, g.ints("Reshape_4/shape", [-1, 1])], T=F32,
                Tshape=I32)
    pos = g.node("Cast_2", "Cast", [g.node("transpose_3", "Transpose", [
        ui, g.ints("transpose_3/perm", [1, 0])], T=I64, Tperm=I32)], SrcT=I64, DstT=F32)
    pos = g.node("add", "AddV2", [g.node("mul_1", "Mul", [pos, g.const("mul_1/y", np.float32(8))],
                                         T=F32), g.const("add/y", np.float32(4))], T=F32)
    pos = g.node("add_1", "AddV2", [pos, g.node("mul_2", "Mul", [off, g.const(
        "mul_2/y", np.float32(LOCREF_STDEV))], T=F32)], T=F32)
    g.node("concat_1", "ConcatV2", [pos, lk, g.ints("concat_1/axis", 1)], T=F32, N=("i", 2),
           Tidx=I32)


def dlc_poses(scores, loc, stride=8.0):
    """DLC 2's argmax_pose_predict on the reference maps (NCHW here)."""
    J, h, w = scores.shape
    out = np.zeros((J, 3))
    for j in range(J):
        k = int(torch.argmax(scores[j].reshape(-1)))
        r, c = divmod(k, w)
        off = (0.0, 0.0) if loc is None else (float(loc[2 * j, r, c]) * LOCREF_STDEV,
                                               float(loc[2 * j + 1, r, c]) * LOCREF_STDEV)
        out[j] = (c * stride + 0.5 * stride + off[0], r * stride + 0.5 * stride + off[1],
                  float(scores[j, r, c]))
    return out


# ---------------------------------------------------------------------------------------------
# pose_cfg.yaml, as export_model dumps the sorted dict with ruamel
# ---------------------------------------------------------------------------------------------
def pose_cfg(net_type, names, locref, uid, mean=MEAN_PIXEL, extra=None):
    J = len(names)
    cfg = {
        "all_joints": [[j] for j in range(J)], "all_joints_names": names, "batch_size": None,
        "bottomheight": 400, "crop": True, "crop_pad": 0, "cropratio": 0.4,
        "dataset": "training-datasets/iteration-0/UnaugmentedDataSet_dlc2fxJan1/dlc2fx_vas95shuffle1.mat",
        "dataset_type": "imgaug", "deterministic": False, "display_iters": 1000,
        "fg_fraction": 0.25, "global_scale": 0.8,
        "init_weights": "/data/dlc2fx-vas-2024-01-01/dlc-models/iteration-0/dlc2fxJan1-trainset95shuffle1/train/snapshot-%d" % uid,
        "intermediate_supervision": False, "intermediate_supervision_layer": 12,
        "leftwidth": 400, "location_refinement": locref, "locref_huber_loss": True,
        "locref_loss_weight": 0.05, "locref_stdev": LOCREF_STDEV, "log_dir": "log",
        "max_input_size": 1500, "mean_pixel": mean, "metadataset":
        "training-datasets/iteration-0/UnaugmentedDataSet_dlc2fxJan1/Documentation_data-dlc2fx_95shuffle1.pickle",
        "min_input_size": 64, "minsize": 100, "mirror": False, "multi_stage": False,
        "multi_step": [[0.005, 10000], [0.02, 430000], [0.002, 730000], [0.001, 1030000]],
        "net_type": net_type, "num_joints": J, "num_outputs": 1, "optimizer": "sgd",
        "pairwise_huber_loss": True, "pairwise_predict": False,
        "partaffinityfield_predict": False, "regularize": False, "rightwidth": 400,
        "save_iters": 50000, "scale_jitter_lo": 0.5, "scale_jitter_up": 1.25,
        "scoremap_dir": "test", "shuffle": True, "snapshot_prefix":
        "/data/dlc2fx-vas-2024-01-01/dlc-models/iteration-0/dlc2fxJan1-trainset95shuffle1/train/snapshot",
        "stride": 8.0, "topheight": 400, "weigh_negatives": False,
        "weigh_only_present_joints": False, "weigh_part_predictions": False,
        "weight_decay": 0.0001,
    }
    cfg.update(extra or {})

    def scalar(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    lines = []
    for k in sorted(cfg):
        v = cfg[k]
        if isinstance(v, list):
            lines.append("%s:" % k)
            for it in v:
                if isinstance(it, list):
                    lines.append("- - " + scalar(it[0]))
                    lines.extend("  - " + scalar(y) for y in it[1:])
                else:
                    lines.append("- " + scalar(it))
        else:
            lines.append(("%s: %s" % (k, scalar(v))).rstrip())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------
NAMES = ["snout", "leftear", "rightear", "tailbase", "tailtip"]


def image(seed, h, w):
    """A smooth picture with structure (gradients, blobs) plus noise: RGB bytes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        img[:, :, c] = 128 + 60 * np.sin(xx / (7 + 3 * c) + c) * np.cos(yy / (9 + 2 * c))
    for _ in range(4):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(4, 12)
        img += rng.uniform(-80, 80, 3) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / r ** 2)[..., None]
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def build(case, seed):
    """One case: the graph and its reference outputs."""
    net_type, h, w, J = case["net_type"], case["h"], case["w"], case["joints"]
    g = G(seed, tf1=case.get("tf1", False))
    img = image(seed, h, w)
    x = A(g.node("Placeholder", "Placeholder", dtype=F32, shape=("shape", [-1, -1, -1, 3])),
          torch.from_numpy(img.astype(np.float64)).permute(2, 0, 1)[None])
    mean = g.const("img_mean", np.array(MEAN_PIXEL, np.float32).reshape(1, 1, 1, 3))
    mv = torch.tensor([float(np.float32(m)) for m in MEAN_PIXEL], dtype=torch.float64)
    x = A(g.node("sub", "Sub", [x.n, mean], T=F32), x.v - mv[None, :, None, None])
    if net_type.startswith("resnet"):
        feat = resnet(g, x, int(net_type.split("_")[1]), case.get("div", 1))
    elif net_type.startswith("mobilenet"):
        feat = mobilenet_v2(g, x, float(net_type.split("_")[-1]))
    else:
        sd = g.const("Const", np.array(STDDEV_RGB, np.float32).reshape(1, 1, 3))
        sv = torch.tensor([float(np.float32(s)) for s in STDDEV_RGB], dtype=torch.float64)
        x = A(g.node("truediv", "RealDiv", [x.n, sd], T=F32), x.v / sv[None, :, None, None])
        feat = efficientnet(g, x, net_type, case.get("div", 1), case["swish"])
        if case["swish"] == "tf1":
            g.gd.library.function.add().signature.name = "swish_f32"
    scores, loc, margin = heads(g, feat, J, case["locref"], seed)
    if case.get("gpu"):
        gpu_tail(g)
    return g, img, scores, loc, margin


def write_case(out, name, case, seed):
    g, img, scores, loc, margin = build(case, seed)
    d = os.path.join(out, name)
    exp = os.path.join(d, "export")
    os.makedirs(exp)
    uid = case["uid"]
    with open(os.path.join(exp, "snapshot-%d.pb" % uid), "wb") as f:
        f.write(g.gd.SerializeToString(deterministic=True))
    names = NAMES[:case["joints"]]
    with open(os.path.join(exp, "pose_cfg.yaml"), "w") as f:
        f.write(pose_cfg(case["net_type"], names, case["locref"], uid))
    if case.get("ckpt"):  # export_model also copies the checkpoint and writes a .pbtxt
        for ext in (".index", ".meta", ".data-00000-of-00001", ".pbtxt"):
            with open(os.path.join(exp, "snapshot-%d%s" % (uid, ext)), "wb") as f:
                f.write(b"not read by vas\n")
    img.tofile(os.path.join(d, "image.u8"))
    scores.numpy().astype(np.float32).tofile(os.path.join(d, "heatmap.f32"))
    if loc is not None:
        loc.numpy().astype(np.float32).tofile(os.path.join(d, "locref.f32"))
    dlc_poses(scores, loc).astype(np.float64).tofile(os.path.join(d, "poses.f64"))
    with open(os.path.join(d, "meta.txt"), "w") as f:
        for k, v in (("net_type", case["net_type"]), ("h", case["h"]), ("w", case["w"]),
                     ("joints", case["joints"]), ("map_h", scores.shape[1]),
                     ("map_w", scores.shape[2]), ("locref", int(case["locref"])),
                     ("params", g.params), ("uid", uid), ("margin", "%.6f" % margin)):
            f.write("%s %s\n" % (k, v))
    return g


CASES = [
    ("resnet_50", dict(net_type="resnet_50", h=76, w=100, joints=4, locref=True, uid=1030000,
                       ckpt=True)),
    ("resnet_101", dict(net_type="resnet_101", h=76, w=100, joints=5, locref=True, uid=500000,
                        div=4, tf1=True)),
    ("resnet_152", dict(net_type="resnet_152", h=61, w=90, joints=3, locref=True, uid=200000,
                        div=8)),
    ("mobilenet_v2_1.0", dict(net_type="mobilenet_v2_1.0", h=75, w=99, joints=4, locref=True,
                              uid=100000)),
    ("mobilenet_v2_0.75", dict(net_type="mobilenet_v2_0.75", h=76, w=100, joints=4,
                               locref=True, uid=100000, tf1=True)),
    ("mobilenet_v2_0.5", dict(net_type="mobilenet_v2_0.5", h=64, w=81, joints=4, locref=False,
                              uid=50000)),
    ("mobilenet_v2_0.35", dict(net_type="mobilenet_v2_0.35", h=77, w=101, joints=4,
                               locref=True, uid=30000, gpu=True)),
    ("efficientnet-b0", dict(net_type="efficientnet-b0", h=76, w=100, joints=4, locref=True,
                             uid=200000, swish="tf2")),
    ("efficientnet-b3", dict(net_type="efficientnet-b3", h=69, w=95, joints=4, locref=True,
                             uid=200000, div=4, swish="tf1", tf1=True)),
]


def write_ops(out):
    """OUTDIR/ops/: a small graph of the operators and forms DLC's nets do not use, for
    nn_tf_load directly: half weights, EXPLICIT padding, a per-channel Add folded as bias,
    LeakyRelu, a BatchNorm after no convolution, PadV2 + VALID AvgPool (the zeros count), SAME
    AvgPool (they do not), ConcatV2 on channels, a grouped Conv2D, Sub/RealDiv/Mul by constants
    of several ranks, VALID MaxPool, a VALID stride-2 transposed convolution whose size is
    2h + 1, Relu6, Mean. Outputs "deconv", "pooled" and "cat"; reference from PyTorch."""
    g = G(77)
    rng = g.rng
    H, W = 13, 17
    img = image(77, H, W)
    xv = torch.from_numpy(img.astype(np.float64) / 64.0 - 2.0).permute(2, 0, 1)[None]
    g.node("Placeholder", "Placeholder", dtype=F32, shape=("shape", [-1, -1, -1, 3]))
    w = rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float16)
    t = PB["TensorProto"]()
    t.dtype = 19  # DT_HALF
    for d in w.shape:
        t.tensor_shape.dim.add(size=d)
    t.tensor_content = w.tobytes()
    g.node("w1", "Const", dtype=("type", 19), value=("tensor", t))
    g.node("c1", "Conv2D", ["Placeholder", "w1"], T=F32, strides=("ints", [1, 2, 2, 1]),
           padding=("s", "EXPLICIT"), explicit_paddings=("ints", [0, 0, 1, 2, 2, 1, 0, 0]),
           data_format=("s", "NHWC"), dilations=("ints", [1, 1, 1, 1]))
    v = F.conv2d(F.pad(xv, (2, 1, 1, 2)), torch.from_numpy(w.astype(np.float64)).permute(3, 2, 0, 1),
                 stride=2)
    b = rng.normal(0, 0.2, 8).astype(np.float32)
    g.const("b1", b)
    g.node("a1", "AddV2", ["c1", "b1"], T=F32)
    v = v + torch.from_numpy(b.astype(np.float64))[None, :, None, None]
    g.node("l1", "LeakyRelu", ["a1"], T=F32, alpha=("f", 0.1))
    v = F.leaky_relu(v, 0.1)
    l1 = v
    sc, sh = rng.uniform(0.5, 1.5, 8).astype(np.float32), rng.normal(0, 0.3, 8).astype(np.float32)
    mu, var = rng.normal(0, 0.3, 8).astype(np.float32), rng.uniform(0.5, 2, 8).astype(np.float32)
    for n, a in (("bn/gamma", sc), ("bn/beta", sh), ("bn/mean", mu), ("bn/var", var)):
        g.const(n, a)
    g.node("bn", "FusedBatchNormV2", ["l1", "bn/gamma", "bn/beta", "bn/mean", "bn/var"], T=F32,
           U=F32, epsilon=("f", 1e-3), is_training=("b", False), data_format=("s", "NHWC"))
    T = lambda a: torch.from_numpy(a.astype(np.float64))[None, :, None, None]
    v = (v - T(mu)) / torch.sqrt(T(var) + float(np.float32(1e-3))) * T(sc) + T(sh)
    bnv = v
    g.ints("p1/paddings", [[0, 0], [1, 1], [0, 2], [0, 0]])
    g.const("p1/constant_values", np.float32(0))
    g.node("p1", "PadV2", ["bn", "p1/paddings", "p1/constant_values"], T=F32, Tpaddings=I32)
    g.node("ap1", "AvgPool", ["p1"], T=F32, ksize=("ints", [1, 3, 3, 1]),
           strides=("ints", [1, 1, 1, 1]), padding=("s", "VALID"), data_format=("s", "NHWC"))
    ap1 = F.avg_pool2d(F.pad(bnv, (0, 2, 1, 1)), 3, 1)
    g.node("ap2", "AvgPool", ["bn"], T=F32, ksize=("ints", [1, 3, 3, 1]),
           strides=("ints", [1, 1, 1, 1]), padding=("s", "SAME"), data_format=("s", "NHWC"))
    ap2 = F.avg_pool2d(bnv, 3, 1, padding=1, count_include_pad=False)
    g.ints("cat/axis", -1)
    g.node("cat", "ConcatV2", ["ap1", "ap2", "l1", "cat/axis"], T=F32, N=("i", 3), Tidx=I32)
    cat = torch.cat([ap1[:, :, :7, :9], ap2, l1], 1)
    wg = rng.normal(0, 0.3, (1, 1, 12, 16)).astype(np.float32)
    g.const("wg", wg)
    g.conv_node("g1", A("cat"), "wg", 1, "VALID")
    wt = torch.from_numpy(wg.astype(np.float64)).permute(3, 2, 0, 1)
    v = F.conv2d(cat, wt, groups=2)
    c16 = rng.normal(0, 0.2, (1, 1, 1, 16)).astype(np.float32)
    d16 = rng.uniform(0.5, 2, 16).astype(np.float32)
    g.const("s1/y", c16)
    g.node("s1", "Sub", ["g1", "s1/y"], T=F32)
    g.const("d1/y", d16)
    g.node("d1", "RealDiv", ["s1", "d1/y"], T=F32)
    g.const("m1/y", np.float32(0.5))
    g.node("m1", "Mul", ["m1/y", "d1"], T=F32)
    v = (v - T(c16.reshape(16))) / T(d16) * float(np.float32(0.5))
    g.node("mp", "MaxPool", ["m1"], T=F32, ksize=("ints", [1, 2, 2, 1]),
           strides=("ints", [1, 1, 1, 1]), padding=("s", "VALID"), data_format=("s", "NHWC"))
    mp = F.max_pool2d(v, 2, 1)
    wd = rng.normal(0, 0.3, (3, 3, 5, 16)).astype(np.float32)
    g.const("wd", wd)
    shape = g.node("dc/Shape", "Shape", ["mp"], T=F32, out_type=I32)
    n0 = g.sslice("dc/strided_slice", shape, [0], [1], [1], shrink=1)
    hh = g.sslice("dc/strided_slice_1", shape, [1], [2], [1], shrink=1)
    ww = g.sslice("dc/strided_slice_2", shape, [2], [3], [1], shrink=1)
    two, one = g.ints("dc/two", 2), g.ints("dc/one", 1)
    oh = g.imath("dc/add", "AddV2", g.imath("dc/mul", "Mul", hh, two), one)
    ow = g.imath("dc/add_1", "AddV2", g.imath("dc/mul_1", "Mul", ww, two), one)
    st = g.pack("dc/stack", [n0, oh, ow, g.ints("dc/stack/3", 5)])
    g.node("dc", "Conv2DBackpropInput", [st, "wd", "mp"], T=F32, strides=("ints", [1, 2, 2, 1]),
           padding=("s", "VALID"), data_format=("s", "NHWC"), dilations=("ints", [1, 1, 1, 1]))
    g.node("deconv", "Relu6", ["dc"], T=F32)
    dc = torch.clamp(F.conv_transpose2d(mp, torch.from_numpy(wd.astype(np.float64)).permute(
        3, 2, 0, 1), stride=2), 0, 6)
    g.ints("pooled/reduction_indices", [2, 1])
    g.node("pooled", "Mean", ["mp", "pooled/reduction_indices"], T=F32, Tidx=I32,
           keep_dims=("b", True))
    pooled = mp.mean(dim=(2, 3), keepdim=True)
    d = os.path.join(out, "ops")
    os.makedirs(d)
    with open(os.path.join(d, "ops.pb"), "wb") as f:
        f.write(g.gd.SerializeToString(deterministic=True))
    xv.numpy().astype(np.float32).tofile(os.path.join(d, "input.f32"))
    with open(os.path.join(d, "meta.txt"), "w") as f:
        f.write("h %d\nw %d\n" % (H, W))
        for name, t in (("deconv", dc), ("pooled", pooled), ("cat", cat)):
            t.numpy().astype(np.float32).tofile(os.path.join(d, name + ".f32"))
            f.write("%s %d %d %d\n" % (name, t.shape[1], t.shape[2], t.shape[3]))


def write_bad(out, good):
    """Exports vas must refuse, each in bad/<name>/ (see tests/test_dlc2_net.c)."""
    bad = os.path.join(out, "bad")
    src = os.path.join(out, "mobilenet_v2_0.35", "export")
    cfg = open(os.path.join(src, "pose_cfg.yaml")).read()
    pb = open(os.path.join(src, "snapshot-30000.pb"), "rb").read()

    def folder(name, files):
        d = os.path.join(bad, name)
        os.makedirs(d)
        for fn, data in files.items():
            with open(os.path.join(d, fn), "wb") as f:
                f.write(data.encode() if isinstance(data, str) else data)

    folder("truncated", {"pose_cfg.yaml": cfg, "snapshot-30000.pb": pb[:len(pb) // 2]})
    folder("garbage", {"pose_cfg.yaml": cfg, "snapshot-30000.pb": b"\xff" * 64})
    gd = PB["GraphDef"]()
    gd.ParseFromString(pb)
    for n in gd.node:
        if n.name == "MobilenetV2/expanded_conv_2/depthwise/Relu6":
            n.op = "Selu"
    folder("unknown_op", {"pose_cfg.yaml": cfg, "snapshot-30000.pb": gd.SerializeToString(deterministic=True)})
    ma = cfg.replace("net_type: mobilenet_v2_0.35", "net_type: dlcrnet_ms5").replace(
        "multi_stage: false", "multi_stage: true").replace(
        "partaffinityfield_predict: false", "partaffinityfield_predict: true").replace(
        "dataset_type: imgaug", "dataset_type: multi-animal-imgaug")
    folder("multi_animal", {"pose_cfg.yaml": ma, "snapshot-30000.pb": pb})
    folder("checkpoints", {"pose_cfg.yaml": cfg, "snapshot-30000.index": b"x",
                           "snapshot-30000.meta": b"x", "snapshot-30000.data-00000-of-00001": b"x"})
    folder("two_pb", {"pose_cfg.yaml": cfg, "snapshot-30000.pb": pb, "snapshot-20000.pb": pb})
    folder("no_pb", {"pose_cfg.yaml": cfg})
    folder("unknown_net", {"pose_cfg.yaml": cfg.replace("net_type: mobilenet_v2_0.35",
                                                       "net_type: hrnet_w32"),
                           "snapshot-30000.pb": pb})
    nl = os.path.join(out, "mobilenet_v2_0.5", "export")
    folder("no_locref_node", {
        "pose_cfg.yaml": open(os.path.join(nl, "pose_cfg.yaml")).read().replace(
            "location_refinement: false", "location_refinement: true"),
        "snapshot-50000.pb": open(os.path.join(nl, "snapshot-50000.pb"), "rb").read()})


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-dlc2-fixtures.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, _ in CASES:
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)
    shutil.rmtree(os.path.join(out, "bad"), ignore_errors=True)
    shutil.rmtree(os.path.join(out, "ops"), ignore_errors=True)
    for i, (name, case) in enumerate(CASES):
        if os.environ.get("ONLY") and name != os.environ["ONLY"]:
            continue
        t0 = time.time()
        write_case(out, name, case, 1000 + i)
        print(name, "%.1fs" % (time.time() - t0))
    write_bad(out, CASES)
    write_ops(out)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("".join(name + "\n" for name, _ in CASES))


if __name__ == "__main__":
    main()
