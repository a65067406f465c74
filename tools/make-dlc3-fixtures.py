#!/usr/bin/python3
"""make-dlc3-fixtures.py OUTDIR - DeepLabCut 3 (PyTorch engine) projects that tests/test_dlc3_net.c
checks src/model/dlc3_*.c against. Run by mk/model.mk when the tests are built, with Debian's
/usr/bin/python3 (python3-torch, python3-torchvision, python3-yaml); deterministic (fixed seeds).

No DeepLabCut weights can be downloaded, so each case is a complete small DLC 3 project written in
DeepLabCut's exact layouts (docs/dlc3-models.md, docs/dlc-facts.md section 8):

  OUTDIR/<case>/config.yaml                                   the project config
  OUTDIR/<case>/dlc-models-pytorch/iteration-0/testJan1-trainset95shuffle1/train/
      pytorch_config.yaml, snapshot-005.pt, snapshot-010.pt, snapshot-best-008.pt
  OUTDIR/<case>/exported-models-pytorch/DLC_test_<net>_iteration-0_shuffle-1/
      DLC_test_<net>_iteration-0_shuffle-1_snapshot-best-8.pt   (DLC's Snapshot.uid(): unpadded)
  OUTDIR/<case>/ref/                                          what the test compares with:
      case.json      net_type, params, stride, input and map sizes, the files above
      image.rgb      the input picture, raw uint8 RGB, H x W x 3 (sides not multiples of 32)
      heatmap.f32    PyTorch's heatmap (1 x J x h x w float32), on DLC's preprocessing
      locref.f32     PyTorch's locref (1 x 2J x h x w), absent when location refinement is off
      poses.f64      J x (x, y, likelihood) as DLC's HeatmapPredictor computes them
      For HRNet (auto_padding) the network runs on the picture padded bottom/right to multiples
      of 32 with cv2.BORDER_REFLECT_101 (padded.rgb): the maps are the padded input's.

The networks are written here in plain PyTorch with timm's module and key names (timm
models/resnet.py make_blocks/Bottleneck, models/hrnet.py HighResolutionNet; DLC
models/backbones/{resnet,hrnet}.py, models/heads/simple_head.py). The full-size resnet_50 is
cross-checked against torchvision's ResNet-50 built with GroupNorm(32) and a dilated layer4.
Widths are shrunk for all but the full-size resnet_50 (the topology is kept: vas reads widths
from the weights). BatchNorm statistics are measured on random pictures so activations stay O(1).
Bad cases (OUTDIR/bad/*.pt, one export each) break one rule each; bad/cases.json says which
message the loader must give.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
IMG_H, IMG_W = 76, 100
TRAIN_DIR = "dlc-models-pytorch/iteration-0/testJan1-trainset95shuffle1/train"
BLOCKS = {"resnet50": (3, 4, 6, 3), "resnet50_gn": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3),
          "resnet152": (3, 8, 36, 3)}


# ---------------------------------------------------------------------------------------------
# timm's ResNet (features only: DLC sets fc to Identity and runs forward_features)
# ---------------------------------------------------------------------------------------------
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, downsample, dilation, first_dilation, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, padding=first_dilation,
                               dilation=first_dilation, bias=False)
        self.bn2 = norm(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = norm(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        s = x
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        if self.downsample is not None:
            s = self.downsample(s)
        return F.relu(x + s)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        s = x
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        if self.downsample is not None:
            s = self.downsample(s)
        return F.relu(x + s)


class TimmResNet(nn.Module):
    """timm ResNet with output_stride (make_blocks: dilation instead of stride past it)."""

    def __init__(self, blocks, stem, planes, output_stride, gn):
        super().__init__()
        norm = (lambda c: nn.GroupNorm(32, c)) if gn else nn.BatchNorm2d
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = norm(stem)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes, net_stride, dilation, prev_dilation = stem, 4, 1, 1
        for si, (nb, p) in enumerate(zip(blocks, planes)):
            stride = 1 if si == 0 else 2
            if net_stride >= output_stride:
                dilation *= stride
                stride = 1
            else:
                net_stride *= stride
            down = None
            if stride != 1 or inplanes != p * 4:
                down = nn.Sequential(nn.Conv2d(inplanes, p * 4, 1, stride, bias=False), norm(p * 4))
            layer = []
            for bi in range(nb):
                layer.append(Bottleneck(inplanes, p, stride if bi == 0 else 1,
                                        down if bi == 0 else None, dilation, prev_dilation, norm))
                prev_dilation = dilation
                inplanes = p * 4
            setattr(self, "layer%d" % (si + 1), nn.Sequential(*layer))
        self.out_channels = inplanes

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, "layer%d" % i)(x)
        return x


# ---------------------------------------------------------------------------------------------
# timm's HRNet, features_only=True, out_indices=(1, 2, 3, 4); DLC keeps branch 0
# ---------------------------------------------------------------------------------------------
class HRModule(nn.Module):
    def __init__(self, in_chs, chs, nblocks):
        super().__init__()
        nb = len(chs)
        self.branches = nn.ModuleList()
        for b in range(nb):
            down = None
            if in_chs[b] != chs[b]:
                down = nn.Sequential(nn.Conv2d(in_chs[b], chs[b], 1, 1, bias=False),
                                     nn.BatchNorm2d(chs[b]))
            layer = [BasicBlock(in_chs[b], chs[b], 1, down)]
            layer += [BasicBlock(chs[b], chs[b]) for _ in range(1, nblocks)]
            self.branches.append(nn.Sequential(*layer))
        self.fuse_layers = nn.ModuleList()
        for i in range(nb):
            row = nn.ModuleList()
            for j in range(nb):
                if j > i:
                    row.append(nn.Sequential(nn.Conv2d(chs[j], chs[i], 1, 1, 0, bias=False),
                                             nn.BatchNorm2d(chs[i]),
                                             nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                elif j == i:
                    row.append(nn.Identity())
                else:
                    convs = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        oc = chs[i] if last else chs[j]
                        seq = [nn.Conv2d(chs[j], oc, 3, 2, 1, bias=False), nn.BatchNorm2d(oc)]
                        if not last:
                            seq.append(nn.ReLU(False))
                        convs.append(nn.Sequential(*seq))
                    row.append(nn.Sequential(*convs))
            self.fuse_layers.append(row)

    def forward(self, xs):
        xs = [br(x) for br, x in zip(self.branches, xs)]
        out = []
        for row in self.fuse_layers:
            y = None
            for j, f in enumerate(row):
                y = f(xs[j]) if y is None else y + f(xs[j])
            out.append(F.relu(y))
        return out


def transition(pre, cur):
    layers = nn.ModuleList()
    for i in range(len(cur)):
        if i < len(pre):
            if cur[i] != pre[i]:
                layers.append(nn.Sequential(nn.Conv2d(pre[i], cur[i], 3, 1, 1, bias=False),
                                            nn.BatchNorm2d(cur[i]), nn.ReLU()))
            else:
                layers.append(nn.Identity())
        else:
            convs = []
            for j in range(i + 1 - len(pre)):
                oc = cur[i] if j == i - len(pre) else pre[-1]
                convs.append(nn.Sequential(nn.Conv2d(pre[-1], oc, 3, 2, 1, bias=False),
                                           nn.BatchNorm2d(oc), nn.ReLU()))
            layers.append(nn.Sequential(*convs))
    return layers


class TimmHRNet(nn.Module):
    """hrnet_w18/w32/w48 topology (stage modules 1/1/4/3, 4 blocks a branch), widths given."""

    def __init__(self, stem, l1_planes, w, incre=False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.conv2 = nn.Conv2d(stem, stem, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(stem)
        down = nn.Sequential(nn.Conv2d(stem, l1_planes * 4, 1, 1, bias=False),
                             nn.BatchNorm2d(l1_planes * 4))
        l1 = [Bottleneck(stem, l1_planes, 1, down, 1, 1, nn.BatchNorm2d)]
        l1 += [Bottleneck(l1_planes * 4, l1_planes, 1, None, 1, 1, nn.BatchNorm2d) for _ in range(3)]
        self.layer1 = nn.Sequential(*l1)
        chs = [w, 2 * w, 4 * w, 8 * w]
        pre = [l1_planes * 4]
        for s, nmod in ((2, 1), (3, 4), (4, 3)):
            cur = chs[: s]
            setattr(self, "transition%d" % (s - 1), transition(pre, cur))
            setattr(self, "stage%d" % s, nn.Sequential(*[HRModule(cur, cur, 4) for _ in range(nmod)]))
            pre = cur
        self.incre_modules = None
        self.out_channels = w
        if incre:  # feature_location="incre": a Bottleneck per branch to 32/64/128/256 planes
            mods = []
            for i, c in enumerate(chs):
                p = [32, 64, 128, 256][i]
                d = nn.Sequential(nn.Conv2d(c, p * 4, 1, 1, bias=False), nn.BatchNorm2d(p * 4))
                mods.append(nn.Sequential(Bottleneck(c, p, 1, d, 1, 1, nn.BatchNorm2d)))
            self.incre_modules = nn.ModuleList(mods)
            self.out_channels = 128

    def forward(self, x):
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        x = self.layer1(x)
        yl = [t(x) for t in self.transition1]
        for m in self.stage2:
            yl = m(yl)
        for s in (3, 4):
            tr = getattr(self, "transition%d" % (s - 1))
            xl = [yl[i] if isinstance(t, nn.Identity) else t(yl[-1]) for i, t in enumerate(tr)]
            for m in getattr(self, "stage%d" % s):
                xl = m(xl)
            yl = xl
        if self.incre_modules is not None:
            yl = [inc(f) for f, inc in zip(yl, self.incre_modules)]
        return yl[0]


# ---------------------------------------------------------------------------------------------
# DLC's HeatmapHead (DeconvModule: ConvTranspose2d k, stride s, padding 0; ReLU between layers)
# ---------------------------------------------------------------------------------------------
class DeconvModule(nn.Module):
    def __init__(self, channels, kernel_size, strides, final_conv=None):
        super().__init__()
        self.deconv_layers = nn.Identity()
        if kernel_size:
            layers, ic = [], channels[0]
            for oc, k, s in zip(channels[1:], kernel_size, strides):
                layers += [nn.ConvTranspose2d(ic, oc, k, s), nn.ReLU()]
                ic = oc
            self.deconv_layers = nn.Sequential(*layers[:-1])
        self.final_conv = nn.Identity()
        if final_conv:
            self.final_conv = nn.Conv2d(channels[-1], final_conv["out_channels"],
                                        final_conv["kernel_size"], 1)

    def forward(self, x):
        return self.final_conv(self.deconv_layers(x))


class HeatmapHead(nn.Module):
    def __init__(self, hm_cfg, lr_cfg):
        super().__init__()
        self.heatmap_head = DeconvModule(**hm_cfg)
        self.locref_head = DeconvModule(**lr_cfg) if lr_cfg else None

    def forward(self, x):
        out = {"heatmap": self.heatmap_head(x)}
        if self.locref_head is not None:
            out["locref"] = self.locref_head(x)
        return out


class Backbone(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)


class PoseModel(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = Backbone(backbone)
        self.heads = nn.ModuleDict({"bodypart": head})

    def forward(self, x):
        return self.heads["bodypart"](self.backbone(x))


# ---------------------------------------------------------------------------------------------
# Weights: random, normalisation statistics measured so that activations stay O(1)
# ---------------------------------------------------------------------------------------------
def init_weights(model, gen):
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            fan = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight.shape[0] * 9
            m.weight.data.normal_(0, (2.0 / fan) ** 0.5, generator=gen)
            if m.bias is not None:
                m.bias.data.normal_(0, 0.05, generator=gen)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            last = name.endswith("bn3") or name.endswith("bn2") and "branches" in name
            lo, hi = (0.2, 0.5) if last else (0.6, 1.2)
            m.weight.data.uniform_(lo, hi, generator=gen)
            m.bias.data.normal_(0, 0.1, generator=gen)


@torch.no_grad()
def calibrate_bn(model, gen, h, w):
    """Running statistics = the real ones over random pictures, then nudged (non-trivial)."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    for _ in range(2):
        model(torch.rand(2, 3, h, w, generator=gen) * 4 - 2)
    model.eval()
    for m in bns:
        m.running_mean += 0.05 * torch.randn(m.running_mean.shape, generator=gen)
        m.running_var *= 1 + 0.2 * torch.rand(m.running_var.shape, generator=gen)
        m.num_batches_tracked.fill_(1234)


@torch.no_grad()
def calibrate_head(model, x, gen):
    """Scales each output channel of each head's last layer: heatmaps ~ N(0.1, 0.25), locref
    offsets ~ N(0, 0.4), so likelihoods are mostly inside [0, 1]."""
    out = model(x)
    for key, mean, std in (("heatmap", 0.1, 0.25), ("locref", 0.0, 0.4)):
        if key not in out:
            continue
        mod = getattr(model.heads["bodypart"], key + "_head")
        last = mod.final_conv if isinstance(mod.final_conv, nn.Conv2d) else mod.deconv_layers[-1]
        y = out[key][0]
        for c in range(y.shape[0]):
            s = std / float(y[c].std() + 1e-6)
            wc = last.weight[c] if isinstance(last, nn.Conv2d) else last.weight[:, c]
            wc.mul_(s)
            last.bias[c] = (last.bias[c] - y[c].mean()) * s + mean + 0.05 * torch.randn(1, generator=gen)[0]


# ---------------------------------------------------------------------------------------------
# DLC's preprocessing and HeatmapPredictor
# ---------------------------------------------------------------------------------------------
def normalise(img):
    x = (img.astype(np.float32) / 255.0 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return torch.from_numpy(x.transpose(2, 0, 1).copy())[None]


def predict(out, stride, locref_on, locref_std):
    """HeatmapPredictor.forward (apply_sigmoid false, clip_scores true), in float32 as DLC."""
    hm = out["heatmap"].permute(0, 2, 3, 1)
    b, h, w, j = hm.shape
    top = torch.argmax(hm.reshape(b, h * w, j), dim=1)
    y, x = top // w, top % w
    ji = torch.arange(j)
    scores = hm[0, y[0], x[0], ji]
    dx = torch.zeros(j)
    dy = torch.zeros(j)
    if locref_on:
        lr = out["locref"].permute(0, 2, 3, 1).reshape(b, h, w, j, 2) * locref_std
        off = lr[0, y[0], x[0], ji]
        dx, dy = off[:, 0], off[:, 1]
    px = x[0] * stride + 0.5 * stride + dx
    py = y[0] * stride + 0.5 * stride + dy
    return torch.stack([px, py, torch.clip(scores, 0, 1)], dim=-1).double().numpy()


def peak_margin(hm):
    """Smallest gap between the best and second-best cell over the joints."""
    flat = hm[0].reshape(hm.shape[1], -1)
    top2 = torch.topk(flat, 2, dim=1).values
    return float((top2[:, 0] - top2[:, 1]).min())


def make_image(gen, h, w):
    """A smooth picture with texture: low-frequency colour fields plus noise."""
    lo = torch.rand(1, 3, h // 8 + 2, w // 8 + 2, generator=gen)
    img = F.interpolate(lo, size=(h, w), mode="bilinear", align_corners=False)[0]
    img = img * 0.8 + 0.2 * torch.rand(3, h, w, generator=gen)
    return (img.permute(1, 2, 0).numpy() * 255).clip(0, 255).astype(np.uint8)


def pad_reflect101(img, mult):
    h, w = img.shape[:2]
    ph, pw = (-h) % mult, (-w) % mult
    return np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect")  # numpy reflect = BORDER_REFLECT_101


# ---------------------------------------------------------------------------------------------
# DLC's files
# ---------------------------------------------------------------------------------------------
def head_cfg(cin, j, kernels, strides, mid, final):
    chans = [cin] + list(mid) + [j]
    c = {"channels": chans, "kernel_size": list(kernels), "strides": list(strides)}
    if final:
        c["channels"] = [cin] + list(mid) + [final]
        c["final_conv"] = {"out_channels": j, "kernel_size": 1}
    return c


def pytorch_config(case, project):
    """The pytorch_config.yaml DLC's make_pytorch_pose_config writes for a single-animal project."""
    j = len(case["bodyparts"])
    bb = dict(case["backbone"])
    hm = head_cfg(case["out_ch"], j, case["kernels"], case["strides"], case["mid"], case["final"])
    lr = head_cfg(case["out_ch"], 2 * j, case["kernels"], case["strides"], case["mid"],
                  2 * case["final"] if case["final"] else 0)
    if case["final"]:
        lr["final_conv"]["out_channels"] = 2 * j
    head = {
        "type": "HeatmapHead",
        "weight_init": "normal",
        "predictor": {"type": "HeatmapPredictor", "apply_sigmoid": False, "clip_scores": True,
                      "location_refinement": case["locref"], "locref_std": 7.2801},
        "target_generator": {"type": "HeatmapGaussianGenerator", "num_heatmaps": j,
                             "pos_dist_thresh": 17, "heatmap_mode": "KEYPOINT",
                             "gradient_masking": False, "generate_locref": case["locref"],
                             "locref_std": 7.2801},
        "criterion": {"heatmap": {"type": "WeightedMSECriterion", "weight": 1.0},
                      "locref": {"type": "WeightedHuberCriterion", "weight": 0.05}},
        "heatmap_config": hm,
        "locref_config": lr if case["locref"] else None,
    }
    data = {"bbox_margin": 20, "colormode": "RGB", "inference": {"normalize_images": True},
            "train": {"affine": {"p": 0.5, "rotation": 30, "scaling": [0.5, 1.25],
                                 "translation": 0},
                      "crop_sampling": {"width": 448, "height": 448, "max_shift": 0.1,
                                        "method": "hybrid"},
                      "gaussian_noise": 12.75, "motion_blur": True, "normalize_images": True}}
    if case["hrnet"]:
        pad = {"pad_width_divisor": 32, "pad_height_divisor": 32}
        data["inference"]["auto_padding"] = dict(pad)
        data["train"]["auto_padding"] = dict(pad)
    return {
        "data": data,
        "device": "auto",
        "inference": {"multithreading": {"enabled": True, "queue_length": 4, "timeout": 30.0},
                      "compile": {"enabled": False, "backend": "inductor"},
                      "autocast": {"enabled": False}},
        "metadata": {"project_path": project,
                     "pose_config_path": os.path.join(project, TRAIN_DIR, "pytorch_config.yaml"),
                     "bodyparts": list(case["bodyparts"]), "unique_bodyparts": [],
                     "individuals": ["animal"], "with_identity": None},
        "method": "bu",
        "model": {"backbone": bb, "backbone_output_channels": case["out_ch"],
                  "heads": {"bodypart": head}},
        "net_type": case["net_type"],
        "runner": {"type": "PoseTrainingRunner", "gpus": None, "key_metric": "test.mAP",
                   "key_metric_asc": True, "eval_interval": 10,
                   "optimizer": {"type": "AdamW", "params": {"lr": 0.0005}},
                   "scheduler": {"type": "LRListScheduler",
                                 "params": {"lr_list": [[0.0001], [1e-05]],
                                            "milestones": [90, 120]}},
                   "snapshots": {"max_snapshots": 5, "save_epochs": 25,
                                 "save_optimizer_state": False}},
        "train_settings": {"batch_size": 8, "dataloader_workers": 0,
                           "dataloader_pin_memory": False, "display_iters": 500, "epochs": 200,
                           "seed": 42},
    }


PROJECT_CONFIG = """\
# Project definitions (do not edit)
Task: test
scorer: vas
date: Jan1
multianimalproject: false
identity:

# Project path (change when moving around)
project_path: {project}

# Default DeepLabCut engine to use for shuffle creation (either pytorch or tensorflow)
engine: pytorch

# Annotation data set configuration (and individual video cropping parameters)
video_sets:
  {project}/videos/m1.mp4:
    crop: 0, {w}, 0, {h}
bodyparts:
{bodyparts}
# Fraction of video to start/stop when extracting frames for labeling/refinement
start: 0
stop: 1
numframes2pick: 20

# Plotting configuration
skeleton:
- - {bp0}
  - {bp1}
skeleton_color: black
pcutoff: 0.6
dotsize: 12
alphavalue: 0.7
colormap: rainbow

# Training,Evaluation and Analysis configuration
TrainingFraction:
- 0.95
iteration: 0
default_net_type: {net_type}
default_augmenter: albumentations
snapshotindex: -1
detector_snapshotindex: -1
batch_size: 8
detector_batch_size: 1

# Cropping Parameters (for analysis and outlier frame detection)
cropping: false
#if cropping is true for analysis, then set the values here:
x1: 0
x2: 640
y1: 277
y2: 624

# Refinement configuration (parameters from annotation dataset configuration also relevant in this stage)
corner2move2:
- 50
- 50
move2corner: true

# Conversion tables to fine-tune SuperAnimal weights
SuperAnimalConversionTables:
"""


def write_yaml(path, obj):
    with open(path, "w") as f:
        yaml.safe_dump(obj, f, sort_keys=False, default_flow_style=False)


def snapshot_dict(epoch, sd, numpy_metrics=False):
    metrics = {"test.rmse": 3.25 + epoch / 100, "test.rmse_pcutoff": 2.5, "test.mAP": 91.5,
               "test.mAR": 93.0}
    if numpy_metrics:  # DLC 3.0 releases stored numpy floats (docs/dlc-facts.md section 8)
        metrics = {k: np.float64(v) for k, v in metrics.items()}
    return {"metadata": {"epoch": epoch, "metrics": metrics}, "model": sd}


def export_name(net_type):
    return "DLC_test_%s_iteration-0_shuffle-1" % net_type


def perturbed(sd, gen, scale):
    """Another epoch's weights: the same network, nudged."""
    out = type(sd)()
    for k, v in sd.items():
        if v.is_floating_point() and "running_var" not in k:
            v = v + scale * v.abs().mean() * torch.randn(v.shape, generator=gen)
        out[k] = v.clone()
    return out


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------
BP4 = ["snout", "leftear", "rightear", "tailbase"]
BP3 = ["nose", "neck", "tail"]
CASES = [
    # The full-size DLC default: timm resnet50_gn, output stride 16, one deconv layer.
    dict(name="resnet_50", net_type="resnet_50", model_name="resnet50_gn", os=16, stem=64,
         planes=(64, 128, 256, 512), bodyparts=BP4, full=True),
    dict(name="resnet_101", net_type="resnet_101", model_name="resnet101", os=16, stem=16,
         planes=(8, 16, 16, 32), bodyparts=BP3),
    # A BatchNorm resnet50 at output stride 8, two deconv layers and a final 1x1 conv.
    dict(name="resnet_50_os8", net_type="resnet_50", model_name="resnet50", os=8, stem=16,
         planes=(8, 8, 16, 16), bodyparts=BP4, kernels=[3, 3], strides=[2, 2], mid=[24],
         final=12),
    # A resnet152 (model_name edited by hand) at output stride 32, location refinement off.
    dict(name="resnet_152_os32", net_type="resnet_101", model_name="resnet152", os=32, stem=8,
         planes=(8, 8, 8, 16), bodyparts=BP3, locref=False),
    dict(name="hrnet_w18", net_type="hrnet_w18", model_name="hrnet_w18", stem=16, l1=8, w=4,
         bodyparts=BP4),
    dict(name="hrnet_w32", net_type="hrnet_w32", model_name="hrnet_w32", stem=16, l1=8, w=6,
         bodyparts=BP3),
    dict(name="hrnet_w48", net_type="hrnet_w48", model_name="hrnet_w48", stem=16, l1=8, w=8,
         bodyparts=BP4),
    dict(name="hrnet_w32_incre", net_type="hrnet_w32", model_name="hrnet_w32", stem=16, l1=8,
         w=4, incre=True, bodyparts=BP3),
]


def fill(case):
    c = dict(kernels=[3], strides=[2], mid=[], final=0, locref=True, full=False, incre=False)
    c.update(case)
    c["hrnet"] = c["model_name"].startswith("hrnet")
    if c["hrnet"]:
        c["backbone"] = {"type": "HRNet", "model_name": c["model_name"], "freeze_bn_stats": True,
                         "freeze_bn_weights": False, "interpolate_branches": False,
                         "increased_channel_count": c["incre"]}
    else:
        c["backbone"] = {"type": "ResNet", "model_name": c["model_name"], "output_stride": c["os"],
                         "freeze_bn_stats": False, "freeze_bn_weights": False}
    return c


def build_model(c, gen):
    if c["hrnet"]:
        bb = TimmHRNet(c["stem"], c["l1"], c["w"], c["incre"])
    else:
        bb = TimmResNet(BLOCKS[c["model_name"]], c["stem"], c["planes"], c["os"],
                        c["model_name"].endswith("_gn"))
    c["out_ch"] = bb.out_channels
    cfg = pytorch_config(c, "/tmp/unused")
    hd = cfg["model"]["heads"]["bodypart"]
    model = PoseModel(bb, HeatmapHead(hd["heatmap_config"], hd["locref_config"]))
    init_weights(model, gen)
    return model


@torch.no_grad()
def check_torchvision(model):
    """The full-size resnet50_gn against torchvision's ResNet-50 (GroupNorm 32, layer4 dilated
    as timm's output_stride 16): the same keys load strictly and give the same features."""
    import torchvision

    tv = torchvision.models.resnet50(norm_layer=lambda ch: nn.GroupNorm(32, ch),
                                     replace_stride_with_dilation=[False, False, True])
    tv.fc = nn.Identity()
    sd = {k[len("backbone.model."):]: v for k, v in model.state_dict().items()
          if k.startswith("backbone.model.")}
    tv.load_state_dict(sd, strict=True)
    tv.eval()
    x = torch.randn(1, 3, 64, 80, generator=torch.Generator().manual_seed(7))
    a = model.backbone(x)
    b = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))
    d = float((a - b).abs().max())
    if d > 1e-4:
        sys.exit("make-dlc3-fixtures: resnet50_gn disagrees with torchvision by %g" % d)


@torch.no_grad()
def make_case(out, c, seed):
    gen = torch.Generator().manual_seed(seed)
    model = build_model(c, gen)
    calibrate_bn(model, gen, 64, 96)
    model.eval()
    if c["full"]:
        check_torchvision(model)
    pad = 32 if c["hrnet"] else 0
    calibrated = False
    for attempt in range(20):
        img = make_image(gen, IMG_H, IMG_W)
        net_img = pad_reflect101(img, pad) if pad else img
        x = normalise(net_img)
        if not calibrated:
            calibrate_head(model, x, gen)
            calibrated = True
        res = model(x)
        if peak_margin(res["heatmap"]) > 2e-3:
            break
    else:
        sys.exit("make-dlc3-fixtures: %s: no picture gives clear heatmap peaks" % c["name"])
    stride = (4 if c["hrnet"] else c["os"]) / float(np.prod(c["strides"]))
    poses = predict(res, stride, c["locref"], 7.2801)

    proj = os.path.join(out, c["name"])
    train = os.path.join(proj, TRAIN_DIR)
    exp_dir = os.path.join(proj, "exported-models-pytorch", export_name(c["net_type"]))
    ref = os.path.join(proj, "ref")
    for d in (train, exp_dir, ref, os.path.join(proj, "videos")):
        os.makedirs(d, exist_ok=True)
    cfg = pytorch_config(c, proj)
    write_yaml(os.path.join(train, "pytorch_config.yaml"), cfg)
    bp = "".join("- %s\n" % b for b in c["bodyparts"])
    with open(os.path.join(proj, "config.yaml"), "w") as f:
        f.write(PROJECT_CONFIG.format(project=proj, w=IMG_W, h=IMG_H, bodyparts=bp,
                                      bp0=c["bodyparts"][0], bp1=c["bodyparts"][1],
                                      net_type=c["net_type"]))
    sd = model.state_dict()
    best = os.path.join(train, "snapshot-best-008.pt")
    torch.save(snapshot_dict(8, sd), best)
    snaps = ["snapshot-best-008.pt"]
    if not c["full"]:  # the full-size one keeps only its best snapshot: 100 MB a file
        torch.save(snapshot_dict(5, perturbed(sd, gen, 0.05), numpy_metrics=True),
                   os.path.join(train, "snapshot-005.pt"))
        torch.save(snapshot_dict(10, perturbed(sd, gen, 0.02)),
                   os.path.join(train, "snapshot-010.pt"))
        snaps = ["snapshot-005.pt", "snapshot-010.pt", "snapshot-best-008.pt"]
    # apis/export.py get_export_filename: "_snapshot-" + Snapshot.uid(), epochs unpadded
    exp_file = os.path.join(exp_dir, export_name(c["net_type"]) + "_snapshot-best-8.pt")
    torch.save({"config": cfg, "pose": sd}, exp_file)

    img.tofile(os.path.join(ref, "image.rgb"))
    if pad:
        net_img.tofile(os.path.join(ref, "padded.rgb"))
    res["heatmap"].numpy().astype("<f4").tofile(os.path.join(ref, "heatmap.f32"))
    if c["locref"]:
        res["locref"].numpy().astype("<f4").tofile(os.path.join(ref, "locref.f32"))
    poses.astype("<f8").tofile(os.path.join(ref, "poses.f64"))
    meta = {
        "name": c["name"], "net_type": c["net_type"], "model_name": c["model_name"],
        "params": count_params(model), "stride": stride, "n_joints": len(c["bodyparts"]),
        "bodyparts": c["bodyparts"], "locref": c["locref"], "locref_std": 7.2801,
        "image": [IMG_H, IMG_W], "input": list(net_img.shape[:2]),
        "maps": list(res["heatmap"].shape[2:]), "pad_multiple": pad,
        "train_config": os.path.relpath(os.path.join(train, "pytorch_config.yaml"), proj),
        "snapshot": os.path.relpath(best, proj),
        "snapshots": [os.path.relpath(os.path.join(train, s), proj) for s in snaps],
        "export": os.path.relpath(exp_file, proj),
    }
    with open(os.path.join(ref, "case.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return c["name"]


# ---------------------------------------------------------------------------------------------
# Bad cases: a tiny resnet50 export, each broken one way
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def make_bad(out):
    gen = torch.Generator().manual_seed(99)
    c = fill(dict(name="tiny", net_type="resnet_50", model_name="resnet50", os=16, stem=8,
                  planes=(4, 4, 8, 8), bodyparts=["a", "b"]))
    model = build_model(c, gen)
    calibrate_bn(model, gen, 64, 64)
    cfg = pytorch_config(c, "/data/tiny")
    sd = model.state_dict()
    d = os.path.join(out, "bad")
    os.makedirs(d, exist_ok=True)
    cases = []

    def save(name, obj, *expect):
        torch.save(obj, os.path.join(d, name + ".pt"))
        cases.append({"file": name + ".pt", "expect": list(expect)})

    def with_cfg(edit):
        import copy

        c2 = copy.deepcopy(cfg)
        edit(c2)
        return {"config": c2, "pose": sd}

    def with_sd(edit):
        sd2 = type(sd)((k, v) for k, v in sd.items())
        edit(sd2)
        return {"config": cfg, "pose": sd2}

    hm0 = "heads.bodypart.heatmap_head.deconv_layers.0.weight"
    save("good", {"config": cfg, "pose": sd})

    def variant(c2):  # BGR, no normalisation, sigmoid in the predictor: all honoured
        c2["data"]["colormode"] = "BGR"
        c2["data"]["inference"]["normalize_images"] = False
        c2["model"]["heads"]["bodypart"]["predictor"]["apply_sigmoid"] = True

    save("good_bgr_raw_sigmoid", with_cfg(variant))
    save("wrong_shape", with_sd(lambda s: s.__setitem__(hm0, torch.zeros(32, 3, 3, 3))), hm0,
         "[32, 3, 3, 3]", "[32, 2, 3, 3]")
    bb = "backbone.model.layer1.1.conv2.weight"
    save("wrong_backbone_shape", with_sd(lambda s: s.__setitem__(bb, torch.zeros(4, 5, 3, 3))),
         bb, "[4, 5, 3, 3]", "[4, 4, 3, 3]")
    save("not_dlc", {"state_dict": sd}, "no \"model\" or \"pose\"")
    miss = "backbone.model.layer2.1.conv2.weight"
    save("missing_key", with_sd(lambda s: s.pop(miss)), miss)
    extra = "backbone.model.fc.weight"
    save("extra_key", with_sd(lambda s: s.__setitem__(extra, torch.zeros(10, 32))), extra)
    extra_hd = "heads.bodypart.heatmap_head.deconv_layers.2.weight"
    save("extra_head_layer",
         with_sd(lambda s: s.__setitem__(extra_hd, torch.zeros(2, 2, 3, 3))), extra_hd)
    save("no_config", {"pose": sd}, "no \"config\"", "pytorch_config.yaml")
    save("model_name",
         with_cfg(lambda c2: c2["model"]["backbone"].__setitem__("model_name", "resnet34")),
         "resnet34")

    def cspnext(c2):
        c2["net_type"] = "rtmpose_s"
        c2["model"]["backbone"] = {"type": "CSPNeXt", "model_name": "cspnext_s"}

    save("backbone_type", with_cfg(cspnext), "CSPNeXt")
    save("multi_animal",
         with_cfg(lambda c2: c2["metadata"].__setitem__("individuals", ["m1", "m2", "m3"])),
         "individuals")
    save("top_down", with_cfg(lambda c2: c2.__setitem__("method", "td")), "top-down")
    save("head_type",
         with_cfg(lambda c2: c2["model"]["heads"]["bodypart"].__setitem__("type", "DLCRNetHead")),
         "DLCRNetHead")

    def unique(c2):
        c2["metadata"]["unique_bodyparts"] = ["led"]
        c2["model"]["heads"]["unique_bodypart"] = c2["model"]["heads"]["bodypart"]

    save("unique_head", with_cfg(unique), "unique_bodypart")

    def interp(c2):
        c2["net_type"] = "hrnet_w32"
        c2["model"]["backbone"] = {"type": "HRNet", "model_name": "hrnet_w32",
                                   "interpolate_branches": True}

    save("interpolate_branches", with_cfg(interp), "interpolate_branches")
    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-dlc3-fixtures.py OUTDIR")
    out = sys.argv[1]
    torch.set_num_threads(2)
    os.makedirs(out, exist_ok=True)
    names = []
    for i, c in enumerate(CASES):
        t = time.time()
        names.append(make_case(out, fill(c), 1000 + i))
        if os.environ.get("DLC3_FIXTURES_TIMES"):
            print("%s %.2fs" % (names[-1], time.time() - t))
    make_bad(out)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("".join(n + "\n" for n in names))


if __name__ == "__main__":
    main()
