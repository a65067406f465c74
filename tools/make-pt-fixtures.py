#!/usr/bin/python3
"""make-pt-fixtures.py OUTDIR - the .pt files tests/test_nn_torch.c reads with src/nn/nn_torch.c.

Run by mk/model.mk when the tests are built, with Debian's /usr/bin/python3 (python3-torch,
python3-numpy): deterministic (fixed seeds), a few seconds. Almost every file is written by
torch.save itself; the few that must lie about their tensors (a size larger than the storage, a
huge claimed element count, a big-endian byteorder entry, a cut pickle) are pickled here the way
torch.save pickles and zipped in torch's layout (PREFIX/data.pkl, PREFIX/data/KEY, PREFIX/version).

OUTDIR gets:
  *.pt                the files (see the cases below)
  tensors.txt         "N FILE PATH DTYPE NDIMS DIM..." for every tensor the test checks: PATH walks
                      from the root through dict keys and list indices, joined by '/'
  vals/N.f32          that tensor's values as torch converts them (.float()), raw float32 C order
  resnet50.txt        "KEY DTYPE NDIMS DIM... SUM SUMSQ FIRST LAST" for each tensor of resnet50.pt
  snapshot.pkl        snapshot.pt's data.pkl alone (the test mutates it to shake the pickle reader)
  export.pkl          export.pt's data.pkl alone
"""
import collections
import io
import os
import pickle
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn

OUT = sys.argv[1] if len(sys.argv) > 1 else "build/test/fixtures/pt"
PWNED = "/tmp/vas-nn-torch-pwned"  # the refused os.system pickle would create it

manifest = []


def expect(fname, path, t):
    """Records tensor t (as the file holds it) at PATH of FILE for the test to compare."""
    n = len(manifest)
    with open(os.path.join(OUT, "vals", "%d.f32" % n), "wb") as f:
        f.write(t.detach().float().contiguous().numpy().astype("<f4").tobytes())
    dims = " ".join(str(d) for d in t.shape)
    dtype = str(t.dtype).replace("torch.", "")
    manifest.append("%d %s %s %s %d %s" % (n, fname, path, dtype, t.dim(), dims))


def expect_tree(fname, obj, path=""):
    """expect() for every tensor under obj."""
    if isinstance(obj, torch.Tensor):
        expect(fname, path, obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            expect_tree(fname, v, (path + "/" if path else "") + str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            expect_tree(fname, v, (path + "/" if path else "") + str(i))


def save(fname, obj, **kw):
    torch.save(obj, os.path.join(OUT, fname), **kw)


def small_state_dict(seed):
    """A DLC-3-style state dict, channels cut small: GroupNorm and BatchNorm (running statistics,
    int64 num_batches_tracked), a deconvolution head."""
    torch.manual_seed(seed)
    m = nn.ModuleDict(
        {
            "backbone": nn.ModuleDict(
                {
                    "model": nn.ModuleDict(
                        {
                            "conv1": nn.Conv2d(3, 8, 7, 2, 3, bias=False),
                            "bn1": nn.GroupNorm(4, 8),
                            "bn2": nn.BatchNorm2d(8),
                        }
                    )
                }
            ),
            "heads": nn.ModuleDict(
                {
                    "bodypart": nn.ModuleDict(
                        {"heatmap_head": nn.ModuleDict({"deconv_layers": nn.Sequential(nn.ConvTranspose2d(8, 4, 3, 2))})}
                    )
                }
            ),
        }
    )
    bn = m["backbone"]["model"]["bn2"]
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2)
    bn.num_batches_tracked.fill_(1234)
    return m.state_dict()


# ---------------------------------------------------------------------------------------------
# hand-made files in torch's layout
# ---------------------------------------------------------------------------------------------
class Storage:
    """A storage in a crafted pickle: persistent id ('storage', cls, key, 'cpu', numel)."""

    def __init__(self, cls, key, numel):
        self.cls, self.key, self.numel = cls, key, numel


class Tensor:
    """A tensor in a crafted pickle, rebuilt by func(storage, offset, size, stride, ...)."""

    def __init__(self, storage, offset, size, stride, func=torch._utils._rebuild_tensor_v2):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())
        self.func = func

    def __reduce__(self):
        return (self.func, self.args)


class Call:
    """Any (func, args) reduction, for the forms newer torch writes and for refusals."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


class CraftPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def craft_pickle(obj, protocol=2):
    buf = io.BytesIO()
    CraftPickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


def write_zip(fname, pkl, storages, prefix="archive", byteorder=None):
    with zipfile.ZipFile(os.path.join(OUT, fname), "w", zipfile.ZIP_STORED) as z:
        z.writestr(prefix + "/data.pkl", pkl)
        if byteorder is not None:
            z.writestr(prefix + "/byteorder", byteorder)
        for key, data in storages.items():
            z.writestr(prefix + "/data/" + key, data)
        z.writestr(prefix + "/version", "3\n")


def zip_parts(fname):
    """data.pkl and the storages of a torch.save file."""
    with zipfile.ZipFile(os.path.join(OUT, fname)) as z:
        names = z.namelist()
        prefix = names[0].split("/")[0]
        pkl = z.read(prefix + "/data.pkl")
        st = {n.split("/")[-1]: z.read(n) for n in names if n.startswith(prefix + "/data/")}
    return pkl, st


# ---------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------
def basic():
    save(
        "basic.pt",
        {
            "none": None,
            "yes": True,
            "no": False,
            "i": 7,
            "neg": -3,
            "i16": 40000,
            "i32": -2000000000,
            "big": 2**40,
            "bigneg": -(2**62),
            "max": 2**63 - 1,
            "float": 1.25,
            "tiny": -1e-300,
            "str": "h\u00e9llo \u2603",
            "empty_str": "",
            "list": [1, 2.5, "x", None, [True]],
            "tuple": (1, (2, 3)),
            "od": collections.OrderedDict([("b", 1), ("a", 2)]),
            "nested": {"a": {"b": {"c": [{"d": 4}]}}},
            "empty_list": [],
            "empty_dict": {},
            "intkeys": {1: "one", 2: "two"},
        },
    )


def dtypes():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, generator=g) * 100
    d = {
        "float32": x.clone(),
        "float64": x.double() / 7,
        "float16": torch.tensor([[0.0, -0.0, 1.0, -2.5, 65504.0], [6e-8, -6e-5, float("inf"), float("-inf"), 0.1]], dtype=torch.float16),
        "bfloat16": (x / 3).bfloat16(),
        "int64": torch.tensor([[0, -1, 2**40, -(2**53) - 7, 123456789012]], dtype=torch.int64),
        "int32": torch.tensor([[0, -1, 2**31 - 1, -(2**31), 16777217]], dtype=torch.int32),
        "int16": torch.tensor([0, -1, 32767, -32768], dtype=torch.int16),
        "int8": torch.tensor([0, -1, 127, -128], dtype=torch.int8),
        "uint8": torch.tensor([0, 1, 200, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
    }
    for k in ["float32", "float64", "float16", "bfloat16", "int64", "int32"]:
        d[k + "_t"] = d[k].t()  # transposed: the strided path of each conversion
    save("dtypes.pt", d)
    expect_tree("dtypes.pt", d)


def views():
    g = torch.Generator().manual_seed(2)
    base = torch.randn(6, 8, generator=g)
    cube = torch.randn(2, 3, 4, 5, generator=g)
    d = {
        "base": base,
        "row": base[2],  # same storage, offset 16
        "col": base[:, 3],  # same storage, stride 8
        "sub": base[1:5, 2:7],  # offset and both strides
        "step": base[::2, 1::3],
        "t": base.t(),
        "perm": cube.permute(3, 1, 0, 2),
        "expand": torch.arange(4.0).reshape(4, 1).expand(4, 6),  # stride 0
        "alone": base[5, 7:8].clone(),
    }
    save("views.pt", d)
    expect_tree("views.pt", d)


def params():
    torch.manual_seed(3)
    lin = nn.Linear(4, 3)
    d = {"weight": lin.weight, "bias": lin.bias, "frozen": nn.Parameter(torch.ones(2), requires_grad=False)}
    save("params.pt", d)
    expect_tree("params.pt", d)


def snapshot():
    sd = small_state_dict(4)
    metrics = {
        "test.rmse": np.float64(2.718281828459045),
        "test.rmse_pcutoff": np.float64(-0.5),
        "test.mAP": np.float32(0.75),
        "steps": np.int64(-7),
        "count": np.int32(42),
        "plain": 1.5,
    }
    obj = {"metadata": {"epoch": 12, "metrics": metrics}, "model": sd}
    save("snapshot.pt", obj)
    expect_tree("snapshot.pt", obj)
    for proto in (3, 4, 5):
        name = "snapshot_p%d.pt" % proto
        save(name, obj, pickle_protocol=proto)
        expect_tree(name, obj)
    # with the optimizer's state (save_optimizer_state): int keys, tuples, None, 0-dim steps
    torch.manual_seed(8)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net(torch.randn(2, 3, 8, 8)).square().mean().backward()
    opt.step()
    with_opt = {"metadata": {"epoch": 12, "metrics": metrics}, "model": sd, "optimizer": opt.state_dict()}
    save("snapshot_opt.pt", with_opt)
    expect_tree("snapshot_opt.pt", with_opt)
    # numpy 2 names its module numpy._core: same pickle, that one name changed
    pkl, st = zip_parts("snapshot.pt")
    pkl2 = pkl.replace(b"numpy.core.multiarray\nscalar", b"numpy._core.multiarray\nscalar")
    assert pkl2 != pkl
    write_zip("snapshot_np2.pt", pkl2, st, prefix="snapshot_np2", byteorder="little")
    expect_tree("snapshot_np2.pt", obj)
    with open(os.path.join(OUT, "snapshot.pkl"), "wb") as f:
        f.write(pkl)


def export():
    cfg = {
        "net_type": "resnet_50",
        "method": "bu",
        "metadata": {"project_path": None, "bodyparts": ["snout", "leftear", "rightear", "tailbase"], "individuals": ["animal"]},
        "data": {"colormode": "RGB", "inference": {"normalize_images": True, "auto_padding": None, "scale": 0.5}},
        "model": {"backbone": {"type": "ResNet", "output_stride": 16, "freeze_bn_stats": False}},
        "train_settings": {"epochs": 200, "seed": 42, "lr": 1e-4, "milestones": [90, 120]},
    }
    obj = {"config": cfg, "pose": small_state_dict(5)}
    save("export.pt", obj)
    expect_tree("export.pt", obj)
    pkl, _ = zip_parts("export.pt")
    with open(os.path.join(OUT, "export.pkl"), "wb") as f:
        f.write(pkl)


def newer_torch():
    """Forms newer torch writes that torch 1.13 does not: _rebuild_from_type_v2,
    _rebuild_parameter_with_state, torch.storage.UntypedStorage, a byteorder entry."""

    def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
        pass

    torch._utils._rebuild_parameter_with_state = _rebuild_parameter_with_state
    _rebuild_parameter_with_state.__module__ = "torch._utils"
    _rebuild_parameter_with_state.__qualname__ = "_rebuild_parameter_with_state"
    vals = np.arange(12, dtype="<f4") * 0.5
    raw = bytes(range(250, 256)) + bytes(range(6))
    s0 = Storage(torch.FloatStorage, "0", 12)
    s1 = Storage(torch.storage.UntypedStorage, "1", 12)
    w = Tensor(s0, 0, (3, 4), (4, 1))
    obj = {
        "w": Call(torch._tensor._rebuild_from_type_v2, (w.func, torch.Tensor, w.args, {})),
        "p": Call(_rebuild_parameter_with_state, (Tensor(s0, 2, (2, 2), (1, 4)), True, collections.OrderedDict(), {})),
        "u8": Tensor(s1, 0, (12,), (1,)),
        "size": Call(torch.Size, ((2, 3),)),
    }
    for proto in (2, 4):
        name = "newer_p%d.pt" % proto
        write_zip(name, craft_pickle(obj, proto), {"0": vals.tobytes(), "1": raw}, byteorder="little")
        t = torch.from_numpy(vals.copy())
        expect(name, "w", t.reshape(3, 4))
        expect(name, "p", t[2:].as_strided((2, 2), (1, 4)))
        expect(name, "u8", torch.tensor(list(raw), dtype=torch.uint8))


def refusals():
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + PWNED,))

    class EvalIt:
        def __reduce__(self):
            return (eval, ("1+1",))

    save("evil_os.pt", {"model": {"x": Evil()}})
    save("evil_eval.pt", [EvalIt()])
    torch.manual_seed(6)
    save("evil_module.pt", {"model": nn.Linear(2, 2)})  # a whole module, not a state dict
    save("legacy.pt", {"w": torch.ones(2)}, _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, "notzip.pt"), "wb") as f:
        f.write(b"this is not a torch file, just text\n" * 4)

    pkl, st = zip_parts("snapshot.pt")
    write_zip("bigendian.pt", pkl, st, byteorder="big")
    write_zip("little.pt", pkl, st, byteorder="little")
    for i, frac in enumerate((0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99)):
        write_zip("cutpkl%d.pt" % i, pkl[: int(len(pkl) * frac)], st)
    write_zip("cutpkl7.pt", pkl[:-1], st)  # all but STOP
    missing = dict(st)
    del missing[sorted(missing)[0]]
    write_zip("missing_storage.pt", pkl, missing)

    floats = np.arange(100, dtype="<f4").tobytes()
    s = Storage(torch.FloatStorage, "0", 100)
    crafted = {
        "oversize": Tensor(s, 0, (20, 10), (10, 1)),  # 200 values from 100
        "stride_over": Tensor(s, 0, (10, 10), (10, 2)),  # reaches element 107
        "offset_over": Tensor(s, 95, (10,), (1,)),
        "claim_over": Tensor(Storage(torch.FloatStorage, "0", 1000), 0, (10,), (1,)),  # entry has 100
    }
    for name, t in crafted.items():
        write_zip(name + ".pt", craft_pickle({"t": t}), {"0": floats})
    mb = np.zeros(262144, dtype="<f4").tobytes()  # 1 MiB
    write_zip("huge.pt", craft_pickle({"t": Tensor(Storage(torch.FloatStorage, "0", 2**31), 0, (2**31,), (1,))}), {"0": mb})
    write_zip("huge_shape.pt", craft_pickle({"t": Tensor(Storage(torch.FloatStorage, "0", 262144), 0, (2**16, 2**15), (4, 1))}), {"0": mb})
    write_zip("expand_bomb.pt", craft_pickle({"t": Tensor(Storage(torch.FloatStorage, "0", 1), 0, (2**30,), (0,))}), {"0": mb[:4]})
    write_zip("bare_storage.pt", craft_pickle({"s": Storage(torch.FloatStorage, "0", 100)}), {"0": floats})
    lst = []
    lst.append(lst)
    write_zip("cycle.pt", craft_pickle({"l": lst}), {})
    write_zip("qtensor.pt", craft_pickle({"q": Call(torch._utils._rebuild_qtensor, ())}), {})


def resnet50():
    import torchvision

    torch.manual_seed(7)
    sd = torchvision.models.resnet50().state_dict()
    save("resnet50.pt", sd)
    with open(os.path.join(OUT, "resnet50.txt"), "w") as f:
        for k, t in sd.items():
            v = t.detach().double().flatten()
            f.write(
                "%s %s %d %s %.17g %.17g %.9g %.9g\n"
                % (k, str(t.dtype).replace("torch.", ""), t.dim(), " ".join(str(d) for d in t.shape),
                   v.sum().item(), (v * v).sum().item(), v[0].item(), v[-1].item())
            )


def main():
    os.makedirs(os.path.join(OUT, "vals"), exist_ok=True)
    basic()
    dtypes()
    views()
    params()
    snapshot()
    export()
    newer_torch()
    refusals()
    resnet50()
    with open(os.path.join(OUT, "tensors.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
