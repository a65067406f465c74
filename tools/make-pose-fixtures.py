#!/usr/bin/python3
"""make-pose-fixtures.py - reference files that tests/test_pose*.c compare vas's pose writers with.

Run by a person (never in CI) with Debian's python3-pandas (1.5.3 in Debian 12):

    /usr/bin/python3 tools/make-pose-fixtures.py     # writes tests/fixtures/pose_writers/

Every expected byte comes from pandas or Python, never from vas:

  doubles.txt   "<16 hex digits: IEEE-754 bits> <text>" per line: a few hundred tricky doubles and
                the text pandas' to_csv writes for each (checked here to equal Python's repr).
  video.csv     DeepLabCut's CSV (DataFrame.to_csv) of a 3-frame, 4-bodypart DataFrame with an
                integer index, values chosen to be hard to format (NaN, 1e-07, 1.5e+20, integral
                floats, -0.0, float32-derived coordinates).
  images.csv    the same values with an image-name index (analyze_time_lapse_frames), names that
                need CSV quoting included.
  unicode.csv   2 rows, bodypart and scorer names outside ASCII (UTF-8 in the file, raw-unicode
                escapes in the HDF5 pickles).

The HDF5 writer is checked the other way round: the C test writes a file and pandas.read_hdf
reads it back and compares it with the DataFrame read from these CSVs (float_precision
"round_trip" makes that exact).
"""
import os
import random
import struct
import sys

import numpy as np
import pandas as pd

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "pose_writers")

SCORER = "DLC_resnet50_openfieldOct30shuffle1_10000"
BODYPARTS = ["snout", "leftear", "rightear", "tailbase"]
# 3 rows x (4 bodyparts x x,y,likelihood). Kept in sync by hand with VIDEO_ROWS in
# tests/test_pose.c (the C side writes these values; pandas wrote the expected file).
ROWS = [
    [123.45, 45.5, 0.999, float("nan"), float("nan"), 1e-07,
     5.0, 640.0, 1.0, 1.5e20, 0.30000000000000004, 0.0],
    [1.0 / 3.0, -0.0, 0.5, 1e16, 9999999999999998.0, 0.0001,
     1e-05, 12.000000476837158, 0.9876543210987654, 2.5e-300, 4.9e-324, 0.75],
    [float(np.float32(317.77)), float(np.float32(0.1)), float(np.float32(0.99)), 1e22, 1e21,
     0.125, 100.0, 7.2801, 0.01, -3.5, 1e300, 1.0],
]
IMAGES = ["img0001.png", "img,0002.png", 'img"0003".png']
UNI_SCORER = "DLC_resnet50_mäuseOct30shuffle1_10000"
UNI_BODYPARTS = ["näse", "ohr\\links", "尾🐭"]
UNI_ROWS = [[1.5, 2.5, 0.5, 3.0, 4.0, 1.0, 0.1, 0.2, 0.3],
            [float("nan")] * 3 + [7.0, 8.0, 0.0] + [9.5, 10.5, 0.25]]


def frame(scorer, bodyparts, rows, index):
    cols = pd.MultiIndex.from_product([[scorer], bodyparts, ["x", "y", "likelihood"]],
                                      names=["scorer", "bodyparts", "coords"])
    return pd.DataFrame(np.array(rows, dtype=np.float64), columns=cols, index=index)


def tricky_doubles():
    rnd = random.Random(20261125)
    v = [0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 0.1 + 0.2, 1 / 3, 2 / 3, 5.0, 640.0, 123.45,
         1e-7, 1.5e20, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 0.00011, 0.000099,
         1e22, 1e23, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 7.2801,
         0.5, 0.25, 0.125, 12345678901234567890.0, 123456789012345678.0, 1234567890123456.7]
    for e in range(-1074, 1024, 7):          # powers of two: asymmetric rounding intervals
        v.append(2.0 ** e)
    for e in range(-20, 23):                 # powers of ten and their neighbours
        p = float("1e%d" % e)
        v += [p, np.nextafter(p, 0.0), np.nextafter(p, np.inf)]
    for _ in range(80):                      # pixel coordinates, as float32 and as float64
        x = rnd.uniform(0, 2000)
        v += [float(np.float32(x)), round(x, rnd.randint(0, 6))]
    for _ in range(60):                      # likelihoods
        v.append(float(np.float32(rnd.random())))
    while len(v) < 420:                      # any finite double
        d = struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(64)))[0]
        if np.isfinite(d):
            v.append(d)
    return [float(x) for x in v]


def write_doubles(path):
    vals = tricky_doubles()
    df = pd.DataFrame({"v": vals})
    lines = df.to_csv(index=False).splitlines()[1:]
    with open(path, "w") as f:
        for x, text in zip(vals, lines):
            if text != repr(x):
                sys.exit("pandas wrote %r for %r, not its repr" % (text, x))
            f.write("%016x %s\n" % (struct.unpack("<Q", struct.pack("<d", x))[0], text))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_doubles(os.path.join(OUT, "doubles.txt"))
    # The DeepLabCut way (auxiliaryfunctions.save_data / analyze_time_lapse_frames).
    frame(SCORER, BODYPARTS, ROWS, np.arange(3)).to_csv(os.path.join(OUT, "video.csv"))
    frame(SCORER, BODYPARTS, ROWS, IMAGES).to_csv(os.path.join(OUT, "images.csv"))
    frame(UNI_SCORER, UNI_BODYPARTS, UNI_ROWS, np.arange(2)).to_csv(
        os.path.join(OUT, "unicode.csv"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
