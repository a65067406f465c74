#!/usr/bin/python3
"""dlc3d_import.py - a DeepLabCut 3D project's calibration into vas's calibration YAML.

DeepLabCut's calibrate_cameras writes camera_matrix/stereo_params.pickle:
    {"<cam1>-<cam2>": {cameraMatrix1/2, distCoeffs1/2, R, T, image_shape: [(w, h), (w, h)], ...}}
with x2 = R x1 + T (cv2.stereoCalibrate). vas wants each camera's pose in one world frame
(OpenCV FileStorage YAML, the format src/geom/geom_calib.h describes). The world is:
  --world camera1    (default) camera 1's frame: camera 1 at the origin, R = I, T = 0;
                     camera 2 gets R, T.
  --world rectified  camera 1's rectified frame (R1 from stereoRectify), the frame DeepLabCut's
                     triangulate writes its 3D points in: camera 1 gets R1, T = 0; camera 2
                     gets R R1', T. Use it to compare vas's 3D output with DeepLabCut's.
Units are the calibration's (DeepLabCut: checkerboard squares).

Usage:
  tools/dlc3d_import.py [options] <3D project dir | stereo_params.pickle> <out calibration.yaml>
Options:
  --world camera1|rectified   see above
  --cameras CAM1,CAM2         camera names (default: the project's config.yaml camera_names,
                              else the pickle key split where the two names agree most)
  --bundle DIR                also write DIR/config.yaml, making DIR a vas 3D model bundle: the
                              project's config.yaml (or a minimal one) plus, when <out> is not
                              DIR/calibration.yaml, a `calibration:` key naming <out>
  --model CAM=NAME            with --bundle: the vas 2D model for camera CAM (model_CAM: NAME);
                              repeat per camera
Needs numpy (the pickle holds numpy arrays). Exit status 0 ok, 1 on any error (printed).
"""
import os
import pickle
import re
import sys

import numpy as np


def fail(msg):
    print("dlc3d_import: " + msg, file=sys.stderr)
    sys.exit(1)


def split_pair(key):
    """'camera-1-camera-2' -> ('camera-1', 'camera-2'): of the '-' splits, the one whose halves
    share the longest prefix (then the most even lengths)."""
    best = None
    for i, ch in enumerate(key):
        if ch != "-" or i == 0 or i == len(key) - 1:
            continue
        a, b = key[:i], key[i + 1:]
        common = len(os.path.commonprefix([a, b]))
        score = (common, -abs(len(a) - len(b)))
        if best is None or score > best[0]:
            best = (score, a, b)
    if best is None:
        fail("cannot split the pickle key %r into two camera names; use --cameras" % key)
    return best[1], best[2]


def config_camera_names(project):
    path = os.path.join(project, "config.yaml")
    if not os.path.isfile(path):
        return None
    try:
        import yaml  # python3-yaml; optional
        with open(path) as f:
            names = (yaml.safe_load(f) or {}).get("camera_names")
        return [str(n) for n in names] if names else None
    except ImportError:
        return None


def mat(key, m, rows, cols):
    m = np.asarray(m, dtype=np.float64).reshape(rows, cols)
    data = ", ".join(repr(float(v)) for v in m.ravel())
    return ("   %s: !!opencv-matrix\n      rows: %d\n      cols: %d\n      dt: d\n"
            "      data: [ %s ]\n" % (key, rows, cols, data))


def camera_block(name, K, dist, R, T, shape):
    dist = np.asarray(dist, dtype=np.float64).ravel()
    if dist.size not in (4, 5, 8):
        fail("camera %s has %d distortion coefficients; vas reads 4, 5 or 8" % (name, dist.size))
    w, h = (int(shape[0]), int(shape[1])) if shape is not None else (0, 0)
    return ("%s:\n   image_width: %d\n   image_height: %d\n" % (name, w, h) + mat("camera_matrix", K, 3, 3)
            + mat("distortion_coefficients", dist, 1, dist.size) + mat("rotation", R, 3, 3)
            + mat("translation", T, 3, 1))


def calibration_yaml(p, names, world):
    R = np.asarray(p["R"], dtype=np.float64).reshape(3, 3)
    T = np.asarray(p["T"], dtype=np.float64).reshape(3)
    shapes = p.get("image_shape") or [None, None]
    if world == "rectified":
        R1 = np.asarray(p["R1"], dtype=np.float64).reshape(3, 3)
        poses = [(R1.T, np.zeros(3)), (R @ R1.T, T)]
    else:
        poses = [(np.eye(3), np.zeros(3)), (R, T)]
    out = "%%YAML:1.0\n---\ncamera_names: [ %s ]\n" % ", ".join('"%s"' % n for n in names)
    for i in range(2):
        out += camera_block(names[i], p["cameraMatrix%d" % (i + 1)], p["distCoeffs%d" % (i + 1)],
                            poses[i][0], poses[i][1], shapes[i])
    return out


def bundle_config(project, names, models, calib):
    path = os.path.join(project, "config.yaml") if project else None
    if path and os.path.isfile(path):
        with open(path) as f:
            text = f.read()
        if not text.endswith("\n"):
            text += "\n"
    else:
        text = ("camera_names:\n" + "".join("- %s\n" % n for n in names) +
                "num_cameras: 2\nscorername_3d: DLC_3D\npcutoff: 0.4\ncolormap: jet\n"
                "skeleton: []\nskeleton_color: black\ndotsize: 15\nalphaValue: 0.8\n")
    if calib != "calibration.yaml":
        text = re.sub(r"(?m)^calibration:.*\n", "", text)
        text += "calibration: %s\n" % calib
    for cam, model in models.items():
        if cam not in names:
            fail("--model names camera %s, not one of %s" % (cam, ", ".join(names)))
        text = re.sub(r"(?m)^model_%s:.*\n" % re.escape(cam), "", text)
        text += "model_%s: %s\n" % (cam, model)
    return text


def parse_args(argv):
    opts = {"world": "camera1", "cameras": None, "bundle": None, "models": {}}
    pos = []
    it = iter(argv)
    for a in it:
        if a in ("--world", "--cameras", "--bundle", "--model"):
            v = next(it, None)
            if v is None:
                fail("%s needs a value" % a)
            if a == "--model":
                if "=" not in v:
                    fail("--model wants CAM=NAME")
                cam, name = v.split("=", 1)
                opts["models"][cam] = name
            else:
                opts[a[2:]] = v
        elif a in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        else:
            pos.append(a)
    if len(pos) != 2 or opts["world"] not in ("camera1", "rectified"):
        fail("usage: dlc3d_import.py [--world camera1|rectified] [--cameras A,B] [--bundle DIR] "
             "[--model CAM=NAME] <project dir | stereo_params.pickle> <out.yaml>")
    return opts, pos[0], pos[1]


def main(argv):
    opts, src, out = parse_args(argv)
    project = src if os.path.isdir(src) else None
    pkl = os.path.join(src, "camera_matrix", "stereo_params.pickle") if project else src
    if not os.path.isfile(pkl):
        fail("no %s" % pkl)
    with open(pkl, "rb") as f:
        params = pickle.load(f)
    if not isinstance(params, dict) or len(params) != 1:
        fail("%s: expected one camera pair, found %d" % (pkl, len(params) if isinstance(params, dict) else 0))
    key, p = next(iter(params.items()))
    if opts["cameras"]:
        names = opts["cameras"].split(",")
    else:
        names = (config_camera_names(project) if project else None) or list(split_pair(key))
    if len(names) != 2 or "%s-%s" % (names[0], names[1]) != key:
        fail("camera names %s do not make the pickle key %r" % (names, key))
    text = calibration_yaml(p, names, opts["world"])
    if opts["bundle"]:
        os.makedirs(opts["bundle"], exist_ok=True)
        with open(os.path.join(opts["bundle"], "config.yaml"), "w") as f:
            f.write(bundle_config(project, names, opts["models"],
                                  os.path.relpath(os.path.abspath(out), os.path.abspath(opts["bundle"]))))
    with open(out, "w") as f:
        f.write(text)
    print("dlc3d_import: wrote %s (cameras %s, world %s)" % (out, ", ".join(names), opts["world"]))


if __name__ == "__main__":
    main(sys.argv[1:])
