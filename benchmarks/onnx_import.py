"""Reading an ONNX file: `cnncalc FILE.onnx --format json` against onnx-tool's profile of the
same file, and against merely loading it with the onnx package (the floor both share). Ratios of
medians, interleaved runs in fresh interpreters.

    python benchmarks/onnx_import.py [--model FILE.onnx] [--onnx-tool-python PYTHON] [--repeat 5]

Without --model, ResNet-50 is built from the shipped spec in PyTorch (tests/torch_oracle.py;
needs torch and onnx) and exported with torch.onnx.export (dynamo=False, BatchNorm kept).
onnx-tool (`pip install onnx-tool`) may live in another environment: --onnx-tool-python.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

ONNX_TOOL = """
import sys, numpy as np, onnx_tool
m = onnx_tool.Model(sys.argv[1])
g = m.graph
name = g.input[0]
shape = [d if isinstance(d, int) and d > 0 else 1 for d in g.tensormap[name].shape]
g.shape_infer({name: np.zeros(shape, dtype=np.float32)})
g.profile()
print(g.macs, g.params)
"""


def export_resnet50(path: Path) -> None:
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    from torch_oracle import BUILDERS, to_hwc

    from cnncalc import load_spec

    graph = load_spec("resnet50")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mods = torch.nn.ModuleDict()
            self.order = []
            s = graph.input_shape
            values = {"input": torch.zeros((1, s[2], s[0], s[1]))}
            with torch.no_grad():
                for spec in graph.layers[1:]:
                    key = spec.name.replace(".", "_")
                    mod = BUILDERS[spec.type](dict(spec.params), to_hwc(values[spec.inputs[0]])).eval()
                    self.mods[key] = mod
                    self.order.append((key, spec.name, spec.inputs))
                    values[spec.name] = mod(*[values[n] for n in spec.inputs])
            self.example = values["input"]

        def forward(self, x):
            values = {"input": x}
            for key, out, ins in self.order:
                values[out] = self.mods[key](*[values[n] for n in ins])
            return values[self.order[-1][1]]

    net = Net().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (net.example,), str(path), dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}}, training=torch.onnx.TrainingMode.PRESERVE)


def timed(cmd: list) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--onnx-tool-python", default=sys.executable)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else Path(tmp) / "resnet50.onnx"
        if not args.model:
            export_resnet50(model)
        cmds = {
            "cnncalc FILE --format json": [sys.executable, "-m", "cnncalc", str(model), "--format", "json"],
            "onnx.load(FILE)": [sys.executable, "-c", f"import onnx; onnx.load({str(model)!r})"],
        }
        try:
            subprocess.run([args.onnx_tool_python, "-c", "import onnx_tool"], check=True, capture_output=True)
            cmds["onnx-tool profile"] = [args.onnx_tool_python, "-c", ONNX_TOOL, str(model)]
        except (subprocess.CalledProcessError, FileNotFoundError):
            print("onnx-tool is not installed (pip install onnx-tool; or --onnx-tool-python)")
        times: dict = {k: [] for k in cmds}
        for _ in range(args.repeat):
            for k, cmd in cmds.items():
                times[k].append(timed(cmd))
        med = {k: statistics.median(v) for k, v in times.items()}
        size = model.stat().st_size
        print(f"{model.name}: {size:,} bytes, medians of {args.repeat} interleaved runs")
        base = med["cnncalc FILE --format json"]
        for k, v in med.items():
            print(f"  {k:28s} {v:6.2f} s   cnncalc / this = {base / v:.2f}")


if __name__ == "__main__":
    main()
