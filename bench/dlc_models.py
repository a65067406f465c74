#!/usr/bin/python3
"""dlc_models.py OUTDIR - the full-size DeepLabCut 3 networks bench/nn times from their .pt files:
a resnet_50 (timm resnet50_gn, output stride 16) and an hrnet_w32, each with DLC's heatmap and
location-refinement heads and 4 bodyparts, saved as DLC 3 exports
(OUTDIR/<name>/DLC_bench_<net>_iteration-0_shuffle-1_snapshot-best-8.pt = {"config", "pose"}) and the
same network exported to ONNX (OUTDIR/<name>.onnx, opset 13, dynamic N/H/W) for ONNX Runtime.
The architectures are tools/make-dlc3-fixtures.py's (timm's key names); weights are random, with
normalisation statistics measured on random pictures. Debian's python3-torch and python3-onnx."""
import importlib.util
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "fx", os.path.join(HERE, "..", "tools", "make-dlc3-fixtures.py"))
fx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fx)

BP4 = ["snout", "leftear", "rightear", "tailbase"]
NETS = [
    dict(name="resnet_50", net_type="resnet_50", model_name="resnet50_gn", os=16, stem=64,
         planes=(64, 128, 256, 512), bodyparts=BP4, full=True),
    dict(name="hrnet_w32", net_type="hrnet_w32", model_name="hrnet_w32", stem=64, l1=64, w=32,
         bodyparts=BP4),
]


class Outputs(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        o = self.model(x)
        return o["heatmap"], o["locref"]


@torch.no_grad()
def main():
    if len(sys.argv) != 2:
        sys.exit("usage: dlc_models.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for i, case in enumerate(NETS):
        c = fx.fill(case)
        gen = torch.Generator().manual_seed(100 + i)
        model = fx.build_model(c, gen)
        fx.calibrate_bn(model, gen, 64, 96)
        model.eval()
        d = os.path.join(out, c["name"])
        os.makedirs(d, exist_ok=True)
        cfg = fx.pytorch_config(c, d)
        name = "DLC_bench_%s_iteration-0_shuffle-1" % c["net_type"]
        torch.save({"config": cfg, "pose": model.state_dict()},
                   os.path.join(d, name + "_snapshot-best-8.pt"))
        torch.onnx.export(Outputs(model), torch.zeros(1, 3, 480, 640),
                          os.path.join(out, c["name"] + ".onnx"), opset_version=13,
                          input_names=["image"], output_names=["heatmap", "locref"],
                          dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}})
        print("dlc_models: %s: %d parameters" % (c["name"], sum(p.numel() for p in model.parameters())))


if __name__ == "__main__":
    main()
