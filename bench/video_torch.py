#!/usr/bin/python3
"""bench/video_torch.py - the PyTorch side of bench/video: the demo model's network, run as
DeepLabCut runs its networks (PyTorch, eval mode, torch.no_grad(), batches of decoded frames).

    /usr/bin/python3 bench/video_torch.py --video V --model-dir models/openfield \
        [--frames 200] [--batch 4] [--threads 2] [--ckpt FILE.pt] [--dump-input FILE.f32]

Needs Debian's python3-torch, python3-opencv, python3-yaml (use /usr/bin/python3).

The network class is tools/train_openfield.py's PoseNet, the class the model's .onnx was exported
from. Its width is the checkpoint's, or (random weights) the one whose parameter count matches
the model's pose_cfg.yaml `params`; the GFLOP per 640x480 frame are checked against its
`flops_640x480`. Weights: --ckpt if given and loadable, else random (the speed of a dense fp32
network does not depend on its weight values). BatchNorm stays unfused, as in PyTorch inference.

Frames: the first --frames frames of the video, decoded with cv2.VideoCapture (FFmpeg), BGR ->
RGB per pose_cfg's colormode, then (v/255 - mean)/std with pose_cfg's mean/std, NCHW float32,
padded (bottom, right, zeros) to pose_cfg's input_multiple, as vas does. Decoding and
normalisation are timed apart from inference: all frames are decoded and normalised first, then one
untimed warm-up batch, then every batch is timed. Prints key=value lines for bench/video:
    torch_infer_fps (inference only), torch_e2e_fps (decode + normalise + inference, one after the
    other as DeepLabCut's loop does them), and the details.
--dump-input writes the first batch, normalised, as raw float32 (for `vas nn-run --input`).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))


def say(k, v):
    print('%s=%s' % (k, v), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--video', required=True)
    ap.add_argument('--model-dir', required=True)
    ap.add_argument('--frames', type=int, default=200)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--ckpt', default='')
    ap.add_argument('--dump-input', default='')
    a = ap.parse_args()

    import cv2
    import torch
    import yaml
    sys.path.insert(0, os.path.join(REPO, 'tools'))
    import train_openfield as T

    torch.set_num_threads(a.threads)
    say('torch_version', torch.__version__)
    say('torch_threads', torch.get_num_threads())
    with open(os.path.join(a.model_dir, 'pose_cfg.yaml')) as f:
        pc = yaml.safe_load(f)
    mean = np.array(pc['normalize']['mean'], np.float32)
    std = np.array(pc['normalize']['std'], np.float32)
    rgb = str(pc.get('colormode', 'RGB')).upper() == 'RGB'
    mult = int(pc.get('input_multiple', 1))

    # ---- the network
    net, weights, width = None, 'random', None
    if a.ckpt:
        try:
            ck = torch.load(a.ckpt, map_location='cpu')
            width = float(ck.get('width', 1.0))
            net = T.PoseNet(J=int(pc.get('num_joints', 4)), w=width)
            net.load_state_dict(ck['net'])
            weights = 'checkpoint %s (step %s)' % (a.ckpt, ck.get('step', '?'))
        except Exception as ex:  # noqa: BLE001 - any failure: fall back to random weights
            print('video_torch: cannot load %s (%s); random weights' % (a.ckpt, ex),
                  file=sys.stderr)
            net = None
    if net is None:
        want = pc.get('params')
        width = 1.0
        if want is not None:
            cands = [w / 16 for w in range(4, 49)]
            match = [w for w in cands
                     if sum(p.numel() for p in T.PoseNet(J=int(pc.get('num_joints', 4)),
                                                          w=w).parameters()) == int(want)]
            if not match:
                sys.exit('video_torch: no PoseNet width has the %s parameters of pose_cfg.yaml: '
                         'tools/train_openfield.py no longer matches the model' % want)
            width = 1.0 if 1.0 in match else match[0]
        torch.manual_seed(0)
        net = T.PoseNet(J=int(pc.get('num_joints', 4)), w=width)
        weights = 'random (no checkpoint given or loadable; speed does not depend on values)'
    macs, params = T.count_flops(net)
    ex = T.Exported(net).eval()  # sigmoid on the score map, as in the .onnx
    say('torch_weights', weights)
    say('torch_width', width)
    say('torch_params', params)
    say('torch_gflop_per_frame', '%.3f' % (2 * macs / 1e9))
    if pc.get('params') is not None and int(pc['params']) != params:
        say('torch_warning', 'params %d differ from pose_cfg.yaml %s: not the same network'
            % (params, pc['params']))
    if pc.get('flops_640x480') and abs(2 * macs - float(pc['flops_640x480'])) > 1e-3 * 2 * macs:
        say('torch_warning', 'GFLOP differ from pose_cfg.yaml flops_640x480')

    # ---- frames: decode, then normalise (timed apart)
    t0 = time.perf_counter()
    cap = cv2.VideoCapture(a.video)
    if not cap.isOpened():
        sys.exit('video_torch: cv2 cannot open %s' % a.video)
    frames = []
    while len(frames) < a.frames:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB) if rgb else f)
    cap.release()
    decode_s = time.perf_counter() - t0
    if len(frames) < a.batch:
        sys.exit('video_torch: only %d frames decoded' % len(frames))
    n = len(frames) // a.batch * a.batch
    frames = frames[:n]
    H, W = frames[0].shape[:2]
    PH, PW = (H + mult - 1) // mult * mult, (W + mult - 1) // mult * mult

    t0 = time.perf_counter()
    batches = []
    for i in range(0, n, a.batch):
        x = np.zeros((a.batch, 3, PH, PW), np.float32)
        for k in range(a.batch):
            x[k, :, :H, :W] = ((frames[i + k].astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1)
        batches.append(torch.from_numpy(x))
    norm_s = time.perf_counter() - t0
    del frames
    if a.dump_input:
        batches[0].numpy().tofile(a.dump_input)

    # ---- inference
    per = []
    with torch.no_grad():
        ex(batches[0])  # warm-up, untimed
        t0 = time.perf_counter()
        for x in batches:
            t1 = time.perf_counter()
            h, l = ex(x)
            per.append(time.perf_counter() - t1)
        infer_s = time.perf_counter() - t0
    assert h.shape[1] == int(pc.get('num_joints', 4)) and l.shape[1] == 2 * h.shape[1]
    say('torch_frames', n)
    say('torch_size', '%dx%d (input %dx%d)' % (W, H, PW, PH))
    say('torch_batch', a.batch)
    say('torch_decode_s', '%.3f' % decode_s)
    say('torch_norm_s', '%.3f' % norm_s)
    say('torch_infer_s', '%.3f' % infer_s)
    say('torch_batch_ms_median', '%.1f' % (1000 * statistics.median(per)))
    say('torch_infer_fps', '%.2f' % (n / infer_s))
    say('torch_e2e_fps', '%.2f' % (n / (decode_s + norm_s + infer_s)))


if __name__ == '__main__':
    main()
