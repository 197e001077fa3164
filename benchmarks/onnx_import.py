"""Reading an ONNX file: `cnncalc FILE.onnx --format json` against onnx-tool's profile of the
same file, and against merely loading it with the onnx package (the floor both share). Ratios of
medians, interleaved runs in fresh interpreters.

    python benchmarks/onnx_import.py [--model FILE.onnx] [--onnx-tool-python PYTHON] [--repeat 5]

Without --model, ResNet-50 is the shipped spec written as PyTorch code by `cnncalc export` (needs
torch and onnx), exported with torch.onnx.export (dynamo=False, BatchNorm kept).
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
    """The shipped resnet50 spec written as PyTorch code by `cnncalc export`, built and exported."""
    import importlib.util

    import torch

    code = path.with_suffix(".py")
    subprocess.run([sys.executable, "-m", "cnncalc", "export", "resnet50", "--to", "pytorch", "-o", str(code)],
                   env=ENV, check=True)
    spec = importlib.util.spec_from_file_location("resnet50_export", code)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)
           and v.__module__ == module.__name__][-1]().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False, input_names=["x"],
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
