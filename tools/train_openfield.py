#!/usr/bin/python3
"""train_openfield.py - train, export and evaluate vas's demo pose model `openfield`.

Run by a person (never at run time, never in CI) with Debian's python3-torch, python3-opencv,
python3-pandas, python3-yaml (python3-onnx optional, for the op check) and libopenblas0-pthread:

    nice -n 19 /usr/bin/python3 tools/train_openfield.py train --minutes 45 --out /tmp/of/run1
    /usr/bin/python3 tools/train_openfield.py export --ckpt /tmp/of/run1/last.pt
    /usr/bin/python3 tools/train_openfield.py flops

The network is DeepLabCut-style (single animal): a small MobileNetV2-like backbone with output
stride 16 (the last stage dilated for a large receptive field), one stride-2 deconvolution to
stride 8 (plus a 1x1 skip from the stride-8 features), and two heads: the score map (J channels,
sigmoid applied inside the exported graph) and the location-refinement map (2J channels, offsets in
units of locref_stdev = 7.2801 px; channel 2j = x, 2j+1 = y of joint j).

Training data: labeled-data/m4s1 of DeepLabCut's example project openfield-Pranav-2018-10-30
(DeepLabCut's GitHub repository, examples/; 100 labeled frames, 640x480), the folder named by
VAS_OPENFIELD=/path/to/openfield-Pranav-2018-10-30 (train and export need it). A
contiguous block img0090..img0099 is held out and never used for training (nor for choosing the
training recipe's checkpoint: the exported snapshot is the last one of a run).

Decoding (dlc-facts section 2): per joint, (row, col) = first maximum (row-major) of its heatmap,
x = col*8 + 4 + locref[2j]*7.2801, y = row*8 + 4 + locref[2j+1]*7.2801, likelihood = heatmap value.
Input: RGB, (v/255 - mean)/std with ImageNet mean/std, done by the caller (outside the graph).
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np

DATA = os.environ.get('VAS_OPENFIELD', '')  # DeepLabCut's openfield project folder
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
JOINTS = ['snout', 'leftear', 'rightear', 'tailbase']
FLIP_PERM = [0, 2, 1, 3]          # mirror: leftear <-> rightear
STRIDE = 8
LOCREF_STDEV = 7.2801
POS_DIST = 17.0                   # DLC pos_dist_thresh (px): locref is trained within this radius
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
HELD_OUT = ['img%04d.png' % i for i in range(90, 100)]
NET_TYPE = 'mobilenet_v2_of_s16'

import torch                         # noqa: E402
import torch.nn as nn                # noqa: E402
import torch.nn.functional as F      # noqa: E402


# ----------------------------------------------------------------------------------------- network
def conv_bn(cin, cout, k=3, s=1, groups=1, dil=1, act=True):
    pad = dil * (k - 1) // 2
    layers = [nn.Conv2d(cin, cout, k, s, pad, dilation=dil, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class InvRes(nn.Module):
    """MobileNetV2 inverted residual (ReLU instead of ReLU6; both export to allowed ops)."""

    def __init__(self, cin, cout, s=1, e=4, dil=1):
        super().__init__()
        mid = cin * e
        self.res = s == 1 and cin == cout
        self.body = nn.Sequential(conv_bn(cin, mid, 1),
                                  conv_bn(mid, mid, 3, s, groups=mid, dil=dil),
                                  conv_bn(mid, cout, 1, act=False))

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


class PoseNet(nn.Module):
    def __init__(self, J=4, w=1.0):
        super().__init__()
        c = lambda n: max(8, int(round(n * w / 8)) * 8)  # noqa: E731
        self.s8 = nn.Sequential(
            conv_bn(3, c(24), 3, 2),                                   # /2
            conv_bn(c(24), c(24), 3, 1, groups=c(24)), conv_bn(c(24), c(16), 1, act=False),
            InvRes(c(16), c(24), 2, 3),                                # /4
            InvRes(c(24), c(24), 1, 3),
            InvRes(c(24), c(32), 2, 3),                                # /8
            InvRes(c(32), c(32), 1, 4),
        )
        self.s16 = nn.Sequential(
            InvRes(c(32), c(64), 2, 4),                                # /16
            InvRes(c(64), c(64), 1, 4, dil=1),
            InvRes(c(64), c(64), 1, 4, dil=2),
            InvRes(c(64), c(64), 1, 4, dil=4),
            InvRes(c(64), c(96), 1, 4, dil=2),
            InvRes(c(96), c(96), 1, 3, dil=4),
            InvRes(c(96), c(96), 1, 3, dil=8),
        )
        # DLC's head: one stride-2 3x3 deconvolution (output exactly 2x the input)
        self.up = nn.Sequential(nn.ConvTranspose2d(c(96), c(48), 3, 2, 1, output_padding=1, bias=False),
                                nn.BatchNorm2d(c(48)))
        self.skip = conv_bn(c(32), c(48), 1, act=False)
        self.head = nn.Sequential(nn.ReLU(inplace=True),
                                  conv_bn(c(48), c(48), 3, 1, groups=c(48)),
                                  conv_bn(c(48), c(64), 1))
        self.heat = nn.Conv2d(c(64), J, 1)
        self.loc = nn.Conv2d(c(64), 2 * J, 1)
        nn.init.constant_(self.heat.bias, -4.0)
        nn.init.normal_(self.loc.weight, std=1e-3)
        nn.init.zeros_(self.loc.bias)

    def forward(self, x):
        a = self.s8(x)
        b = self.s16(a)
        h = self.head(self.up(b) + self.skip(a))
        return self.heat(h), self.loc(h)


class Exported(nn.Module):
    """What goes into the .onnx: the sigmoid is applied inside the graph."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        h, l = self.net(image)
        return torch.sigmoid(h), l


def count_flops(net, H=480, W=640):
    macs = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
            macs[0] += out.numel() * k
        elif isinstance(m, nn.ConvTranspose2d):
            macs[0] += inp[0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups  # upper bound
    hs = [m.register_forward_hook(hook) for m in net.modules()
          if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    was = net.training
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 3, H, W))
    net.train(was)
    for h in hs:
        h.remove()
    params = sum(p.numel() for p in net.parameters())
    return macs[0], params


def receptive_field(net):
    """Empirical receptive field of the stride-8 output: gradient support of one centre cell."""
    net = net.eval()
    x = torch.randn(1, 3, 480, 640, requires_grad=True)
    h, _ = net(x)
    h[0, :, h.shape[2] // 2, h.shape[3] // 2].sum().backward()
    g = x.grad[0].abs().sum(0)
    ys, xs = torch.nonzero(g > 0, as_tuple=True)
    return int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


# -------------------------------------------------------------------------------------------- data
def load_labels():
    import pandas as pd
    d = pd.read_csv(os.path.join(DATA, 'labeled-data', 'm4s1', 'CollectedData_Pranav.csv'),
                    header=[0, 1, 2], index_col=0)
    names = [os.path.basename(p) for p in d.index]
    bps = list(dict.fromkeys(d.columns.get_level_values(1)))
    assert bps == JOINTS, bps
    xy = d.values.astype(np.float32).reshape(len(names), len(JOINTS), 2)
    return names, xy


def load_image(name):
    import cv2
    bgr = cv2.imread(os.path.join(DATA, 'labeled-data', 'm4s1', name), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def normalize(rgb):
    """uint8 HxWx3 RGB -> float32 3xHxW, (v/255 - mean)/std."""
    return ((rgb.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1).copy()


MEAN_U8 = tuple(float(v) for v in (MEAN * 255.0))


def augment(img, kp, rng, S, p_mouse=0.8, rot=True, scale=(0.75, 1.3)):
    """One random crop S x S: rotation (full circle), scale, mirror (ears swapped), photometric."""
    import cv2
    H, W = img.shape[:2]
    kp = kp.copy()
    if rng.random() < p_mouse:
        c = kp.mean(0) + rng.uniform(-0.35 * S, 0.35 * S, 2)
    else:
        c = np.array([rng.uniform(0, W), rng.uniform(0, H)])
    th = rng.uniform(0, 2 * math.pi) if rot else 0.0
    s = math.exp(rng.uniform(math.log(scale[0]), math.log(scale[1])))
    flip = rng.random() < 0.5
    F_ = np.diag([-1.0, 1.0]) if flip else np.eye(2)
    R = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    A = s * R @ F_
    t = np.array([S / 2, S / 2]) - A @ c
    M = np.hstack([A, t[:, None]])
    out = cv2.warpAffine(img, M, (S, S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=MEAN_U8)
    kp = kp @ A.T + t
    if flip:
        kp = kp[FLIP_PERM]
    # photometric: contrast, brightness, gamma, per-channel gain, noise, occasional blur
    o = out.astype(np.float32) / 255.0
    o = o ** math.exp(rng.uniform(-0.4, 0.4))
    o = (o - 0.5) * rng.uniform(0.6, 1.4) + 0.5 + rng.uniform(-0.2, 0.2)
    o = o * rng.uniform(0.9, 1.1, 3)[None, None, :]
    if rng.random() < 0.3:
        o = cv2.GaussianBlur(o, (0, 0), rng.uniform(0.5, 1.5))
    o = o + rng.normal(0, rng.uniform(0, 0.03), o.shape)
    o = np.clip(o, 0, 1)
    o = ((o - MEAN) / STD).transpose(2, 0, 1).astype(np.float32)
    return o, kp.astype(np.float32)


def make_targets(kp, Hc, Wc, sigma):
    """Gaussian score map (peak 1 at the joint) + locref targets/mask within POS_DIST px."""
    J = kp.shape[0]
    ys = np.arange(Hc, dtype=np.float32) * STRIDE + STRIDE / 2
    xs = np.arange(Wc, dtype=np.float32) * STRIDE + STRIDE / 2
    dx = kp[:, 0][:, None, None] - xs[None, None, :]           # J x 1 x Wc
    dy = kp[:, 1][:, None, None] - ys[None, :, None]           # J x Hc x 1
    dx = np.broadcast_to(dx, (J, Hc, Wc))
    dy = np.broadcast_to(dy, (J, Hc, Wc))
    d2 = dx * dx + dy * dy
    heat = np.exp(-d2 / (2 * sigma * sigma)).astype(np.float32)
    mask = (d2 <= POS_DIST * POS_DIST).astype(np.float32)
    loc = np.empty((2 * J, Hc, Wc), np.float32)
    loc[0::2] = dx / LOCREF_STDEV
    loc[1::2] = dy / LOCREF_STDEV
    lmask = np.repeat(mask, 2, axis=0)
    return heat, loc, lmask


# ---------------------------------------------------------------------------------------- decoding
def decode(heat, loc):
    """heat J x Hc x Wc (likelihoods), loc 2J x Hc x Wc -> J x (x, y, likelihood, row, col, gap)."""
    J, Hc, Wc = heat.shape
    out = np.zeros((J, 6), np.float64)
    for j in range(J):
        flat = heat[j].reshape(-1)
        i = int(np.argmax(flat))                  # first maximum, row-major
        r, c = divmod(i, Wc)
        srt = np.sort(flat)
        out[j, 0] = c * STRIDE + 0.5 * STRIDE + float(loc[2 * j, r, c]) * LOCREF_STDEV
        out[j, 1] = r * STRIDE + 0.5 * STRIDE + float(loc[2 * j + 1, r, c]) * LOCREF_STDEV
        out[j, 2] = float(flat[i])
        out[j, 3], out[j, 4] = r, c
        out[j, 5] = float(srt[-1] - srt[-2])
    return out


def predict(net, imgs, batch=2):
    """Full-resolution predictions through the exported module (sigmoid in graph)."""
    ex = Exported(net).eval()
    res = []
    with torch.no_grad():
        for i in range(0, len(imgs), batch):
            x = torch.from_numpy(np.stack([normalize(im) for im in imgs[i:i + batch]]))
            h, l = ex(x)
            for k in range(h.shape[0]):
                res.append(decode(h[k].numpy(), l[k].numpy()))
    return np.stack(res)


def errors(pred, xy):
    return np.linalg.norm(pred[:, :, :2] - xy, axis=2)


def summary(err):
    e = err.reshape(-1)
    return dict(mean=float(e.mean()), median=float(np.median(e)),
                within5=float((e <= 5).mean()), max=float(e.max()),
                per_joint_mean={j: float(err[:, k].mean()) for k, j in enumerate(JOINTS)})


# ------------------------------------------------------------------------------------- pseudo-labels
def video_frames(step, limit=None):
    import cv2
    cap = cv2.VideoCapture(os.path.join(DATA, 'videos', 'm3v1mp4.mp4'))
    out, i = [], 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if i % step == 0:
            out.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
            if limit and len(out) >= limit:
                break
        i += 1
    return out


def pseudo_label(net, frames, thr):
    """Keep frames whose four joints are all confident and anatomically plausible."""
    pred = predict(net, frames)
    keep_img, keep_kp = [], []
    for im, p in zip(frames, pred):
        if p[:, 2].min() < thr:
            continue
        L = np.linalg.norm(p[0, :2] - p[3, :2])
        ears = np.linalg.norm(p[1, :2] - p[2, :2])
        if not (85 <= L <= 160 and 8 <= ears <= 35):
            continue
        keep_img.append(im)
        keep_kp.append(p[:, :2].astype(np.float32))
    return keep_img, keep_kp


# ---------------------------------------------------------------------------------------- training
def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    names, xy = load_labels()
    tr = [i for i, n in enumerate(names) if n not in HELD_OUT]
    te = [i for i, n in enumerate(names) if n in HELD_OUT]
    imgs = [load_image(n) for n in names]
    tr_imgs = [imgs[i] for i in tr]
    tr_kp = [xy[i] for i in tr]
    te_imgs = [imgs[i] for i in te]
    net = PoseNet(w=args.width)
    macs, params = count_flops(net)
    log = open(os.path.join(args.out, 'log.txt'), 'a')

    def say(*a):
        s = ' '.join(str(v) for v in a)
        print(s, flush=True)
        log.write(s + '\n')
        log.flush()
    say('args', vars(args))
    say('net %s width %.2f: %.3f GMAC = %.3f GFLOP per 640x480, %d params'
        % (NET_TYPE, args.width, macs / 1e9, 2 * macs / 1e9, params))
    step0 = 0
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    if args.init:
        ck = torch.load(args.init)
        net.load_state_dict(ck['net'])
        if args.resume:
            opt.load_state_dict(ck['opt'])
            step0 = ck['step']
        say('init from', args.init, 'step', ck['step'])
    ps_imgs, ps_kp = [], []
    if args.pseudo:
        t = time.time()
        frames = video_frames(args.pseudo_step)
        ps_imgs, ps_kp = pseudo_label(net, frames, args.pseudo_thr)
        say('pseudo-labels: kept %d of %d video frames (%.0f s)' % (len(ps_imgs), len(frames), time.time() - t))
    S = args.crop
    Hc = Wc = S // STRIDE
    t0 = time.time()
    budget = args.minutes * 60
    step = step0
    run_loss = None
    last_ck = t0
    net.train()
    while True:
        el = time.time() - t0
        frac = min(1.0, el / budget)
        if frac >= 1.0:
            break
        warm = min(1.0, (step - step0 + 1) / 100)
        lr = args.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g['lr'] = lr
        xb, hb, lb, mb = [], [], [], []
        for _ in range(args.batch):
            if ps_imgs and rng.random() < args.pseudo_frac:
                k = rng.integers(len(ps_imgs))
                im, kp = ps_imgs[k], ps_kp[k]
            else:
                k = rng.integers(len(tr_imgs))
                im, kp = tr_imgs[k], tr_kp[k]
            o, k2 = augment(im, kp, rng, S, rot=not args.no_rot)
            h, l, m = make_targets(k2, Hc, Wc, args.sigma)
            xb.append(o); hb.append(h); lb.append(l); mb.append(m)
        x = torch.from_numpy(np.stack(xb))
        ht = torch.from_numpy(np.stack(hb))
        lt = torch.from_numpy(np.stack(lb))
        mt = torch.from_numpy(np.stack(mb))
        ph, pl = net(x)
        lh = F.binary_cross_entropy_with_logits(ph, ht, reduction='sum') / (args.batch * 4)
        ll = (F.smooth_l1_loss(pl, lt, reduction='none', beta=1.0) * mt).sum() / mt.sum().clamp(min=1)
        loss = lh + args.locref_w * ll
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        v = np.array([loss.item(), lh.item(), ll.item()])
        run_loss = v if run_loss is None else 0.98 * run_loss + 0.02 * v
        if step % 50 == 0:
            say('step %d t %.0fs lr %.2e loss %.4f heat %.4f locref %.4f (%.2f s/step)'
                % (step, el, lr, *run_loss, el / max(1, step - step0)))
        if time.time() - last_ck > args.ckpt_every or step % args.eval_every == 0:
            torch.save({'net': net.state_dict(), 'opt': opt.state_dict(), 'step': step,
                        'width': args.width}, os.path.join(args.out, 'last.pt'))
            last_ck = time.time()
        if step % args.eval_every == 0:
            net.eval()
            err = errors(predict(net, te_imgs), xy[te])
            s = summary(err)
            say('EVAL step %d held-out mean %.2f median %.2f within5 %.2f max %.1f %s'
                % (step, s['mean'], s['median'], s['within5'], s['max'],
                   {k: round(v, 2) for k, v in s['per_joint_mean'].items()}))
            net.train()
    torch.save({'net': net.state_dict(), 'opt': opt.state_dict(), 'step': step,
                'width': args.width}, os.path.join(args.out, 'last.pt'))
    net.eval()
    err_te = errors(predict(net, te_imgs), xy[te])
    err_tr = errors(predict(net, tr_imgs), xy[tr])
    say('FINAL step %d time %.0fs train mean %.2f | held-out %s'
        % (step, time.time() - t0, err_tr.mean(), json.dumps(summary(err_te))))


# ------------------------------------------------------------------------------------------ export
def load_net(path):
    ck = torch.load(path)
    net = PoseNet(w=ck.get('width', 1.0))
    net.load_state_dict(ck['net'])
    return net.eval(), ck['step']


ALLOWED = {'Conv', 'BatchNormalization', 'Relu', 'Clip', 'Sigmoid', 'Add', 'Mul', 'Concat',
           'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Resize', 'Identity',
           'Constant'}


def export(args):
    torch.set_num_threads(args.threads)
    net, step = load_net(args.ckpt)
    macs, params = count_flops(net)
    mdir = os.path.join(REPO, 'models', 'openfield')
    os.makedirs(mdir, exist_ok=True)
    onnx_path = os.path.join(mdir, 'openfield.onnx')
    ex = Exported(net).eval()
    torch.onnx.export(ex, torch.zeros(1, 3, 480, 640), onnx_path, opset_version=13,
                      input_names=['image'], output_names=['heatmap', 'locref'],
                      dynamic_axes={'image': {0: 'N', 2: 'H', 3: 'W'},
                                    'heatmap': {0: 'N', 2: 'Hs', 3: 'Ws'},
                                    'locref': {0: 'N', 2: 'Hs', 3: 'Ws'}},
                      do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    ops = None
    try:
        import onnx
        m = onnx.load(onnx_path)
        onnx.checker.check_model(m)
        ops = sorted({n.op_type for n in m.graph.node})
        print('onnx ops:', ops, 'nodes:', len(m.graph.node))
        bad = set(ops) - ALLOWED
        if bad:
            sys.exit('export uses ops outside vas\'s engine: %s' % sorted(bad))
    except ImportError:
        print('python3-onnx not installed: op types not checked')
    size = os.path.getsize(onnx_path)
    print('onnx size %.2f MB' % (size / 1e6))

    # configs
    import yaml
    with open(os.path.join(DATA, 'config.yaml')) as f:
        cfg_text = f.read()
    cfg_text = cfg_text.replace('project_path: WILL BE AUTOMATICALLY UPDATED BY DEMO CODE',
                                'project_path: .')
    cfg_text = cfg_text.replace('  WILL BE AUTOMATICALLY UPDATED BY DEMO CODE:',
                                '  videos/m3v1mp4.mp4:')
    cfg_text = cfg_text.replace('skeleton: []',
                                'skeleton:\n- - snout\n  - leftear\n- - snout\n  - rightear\n'
                                '- - leftear\n  - tailbase\n- - rightear\n  - tailbase')
    cfg_text = cfg_text.replace('iteration: 0', 'iteration: 0')
    cfg = yaml.safe_load(cfg_text)
    assert cfg['bodyparts'] == JOINTS and len(cfg['skeleton']) == 4
    with open(os.path.join(mdir, 'config.yaml'), 'w') as f:
        f.write(cfg_text)
    pose = {
        'net_type': NET_TYPE,
        'model_file': 'openfield.onnx',
        'stride': STRIDE,
        'location_refinement': True,
        'locref_stdev': LOCREF_STDEV,
        'colormode': 'RGB',
        'normalize': {'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225]},
        'input': 'image',
        'input_multiple': 16,
        'outputs': {'heatmap': 'heatmap', 'locref': 'locref'},
        'sigmoid_in_graph': True,
        'iteration': step,
        'snapshot': 'snapshot-%d' % step,
        'all_joints_names': JOINTS,
        'num_joints': len(JOINTS),
        'flops_640x480': 2 * macs,
        'params': params,
    }
    with open(os.path.join(mdir, 'pose_cfg.yaml'), 'w') as f:
        f.write('# Pose settings of models/openfield/openfield.onnx (written by '
                'tools/train_openfield.py export).\n'
                '# input_multiple: H and W must be multiples of 16 (pad bottom/right with 0 '
                'after normalisation)\n# so that heatmap/locref are exactly H/8 x W/8.\n')
        yaml.safe_dump(pose, f, sort_keys=False, default_flow_style=None)

    # reference predictions of the exported network on all 100 labeled frames
    names, xy = load_labels()
    imgs = [load_image(n) for n in names]
    pred = predict(net, imgs)
    err = errors(pred, xy)
    te = [i for i, n in enumerate(names) if n in HELD_OUT]
    tr = [i for i, n in enumerate(names) if n not in HELD_OUT]
    s_te, s_tr = summary(err[te]), summary(err[tr])
    fdir = os.path.join(REPO, 'tests', 'fixtures', 'pose')
    os.makedirs(fdir, exist_ok=True)
    with open(os.path.join(fdir, 'openfield_ref.csv'), 'w') as f:
        cols = ['image', 'held_out']
        for j in JOINTS:
            cols += ['%s_%s' % (j, k) for k in ('x', 'y', 'likelihood', 'row', 'col', 'gap',
                                               'label_x', 'label_y')]
        f.write(','.join(cols) + '\n')
        for i, n in enumerate(names):
            row = [n, '1' if n in HELD_OUT else '0']
            for j in range(len(JOINTS)):
                p = pred[i, j]
                row += [repr(float(p[0])), repr(float(p[1])), repr(float(p[2])),
                        str(int(p[3])), str(int(p[4])), repr(float(p[5])),
                        repr(float(xy[i, j, 0])), repr(float(xy[i, j, 1]))]
            f.write(','.join(row) + '\n')
    meta = {
        'model': 'models/openfield/openfield.onnx',
        'snapshot': step,
        'input': 'RGB 640x480 PNG from labeled-data/m4s1 of DeepLabCut openfield-Pranav-2018-10-30, '
                 '(v/255-mean)/std, NCHW float32, full resolution',
        'decoding': 'argmax first maximum row-major; x = col*8 + 4 + locref[2j]*7.2801; '
                    'y = row*8 + 4 + locref[2j+1]*7.2801; likelihood = heatmap at argmax',
        'columns': '<bp>_gap = heatmap max minus second-largest value (ties if ~0)',
        'held_out_frames': HELD_OUT,
        'held_out': s_te,
        'train': s_tr,
        'min_gap': float(pred[:, :, 5].min()),
    }
    with open(os.path.join(fdir, 'openfield_ref.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    print('held-out:', json.dumps(s_te))
    print('train   :', json.dumps({k: round(v, 3) for k, v in s_tr.items() if k != 'per_joint_mean'}))
    print('min gap between the two largest heatmap values: %.3g' % meta['min_gap'])


def flops(args):
    net = PoseNet(w=args.width)
    macs, params = count_flops(net)
    print('%s width %.2f: %.3f GMAC = %.3f GFLOP per 640x480 frame, %d params (%.2f MB fp32)'
          % (NET_TYPE, args.width, macs / 1e9, 2 * macs / 1e9, params, params * 4 / 1e6))
    print('receptive field (rows, cols) of a centre output cell:', receptive_field(net))
    torch.set_num_threads(args.threads)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), 1e-3)
    x = torch.randn(args.batch, 3, args.crop, args.crop)
    for i in range(4):
        t = time.time()
        h, l = net(x)
        (h.mean() + l.mean()).backward()
        opt.step()
        opt.zero_grad()
        print('train step batch %d crop %d: %.2f s' % (args.batch, args.crop, time.time() - t))
    net.eval()
    with torch.no_grad():
        x = torch.randn(1, 3, 480, 640)
        for i in range(3):
            t = time.time()
            net(x)
            print('pytorch inference 640x480: %.3f s' % (time.time() - t))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    t = sub.add_parser('train')
    t.add_argument('--out', required=True)
    t.add_argument('--minutes', type=float, default=45)
    t.add_argument('--batch', type=int, default=8)
    t.add_argument('--crop', type=int, default=256)
    t.add_argument('--lr', type=float, default=2e-3)
    t.add_argument('--sigma', type=float, default=7.0)
    t.add_argument('--locref-w', type=float, default=0.5)
    t.add_argument('--width', type=float, default=1.0)
    t.add_argument('--no-rot', action='store_true')
    t.add_argument('--init')
    t.add_argument('--resume', action='store_true')
    t.add_argument('--pseudo', action='store_true')
    t.add_argument('--pseudo-step', type=int, default=5)
    t.add_argument('--pseudo-thr', type=float, default=0.5)
    t.add_argument('--pseudo-frac', type=float, default=0.4)
    t.add_argument('--eval-every', type=int, default=250)
    t.add_argument('--ckpt-every', type=float, default=120)
    t.add_argument('--seed', type=int, default=0)
    t.add_argument('--threads', type=int, default=1)
    e = sub.add_parser('export')
    e.add_argument('--ckpt', required=True)
    e.add_argument('--threads', type=int, default=2)
    fl = sub.add_parser('flops')
    fl.add_argument('--width', type=float, default=1.0)
    fl.add_argument('--batch', type=int, default=8)
    fl.add_argument('--crop', type=int, default=256)
    fl.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    if a.cmd in ('train', 'export') and not os.path.isfile(
            os.path.join(DATA, 'labeled-data', 'm4s1', 'CollectedData_Pranav.csv')):
        sys.exit('%s needs DeepLabCut\'s openfield project: set VAS_OPENFIELD to the folder '
                 'openfield-Pranav-2018-10-30 (examples/ in DeepLabCut\'s repository)' % a.cmd)
    {'train': train, 'export': export, 'flops': flops}[a.cmd](a)


if __name__ == '__main__':
    main()
