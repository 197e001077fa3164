"""`cnncalc check SPEC --against MODEL` and `cnncalc import torch:…` as ratios (no absolute times).

    python benchmarks/against.py [--repeat 5] [--layers 20000]

1. check --against: a generated chain of N layers (a dense layer every 1,000) against a copy whose
   layers are all renamed (so every pair is made by order, the slowest path), over plain `cnncalc
   check` of the same spec. Both build a report; --against builds two and compares 4 figures per
   layer, so about 2-3× is the expected ratio, and it must not grow with N (pairing is linear).
2. import torch: `cnncalc import torch:MODULE:resnet50_like --input 224x224x3` over the same
   process doing only PyTorch's part (import torch, build on meta, symbolic_trace, ShapeProp),
   in subprocesses, interleaved; the module is written to a temporary directory.

Medians of interleaved runs; run on a quiet machine when you can (the ratios are what to compare).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODEL = '''
import torch
from torch import nn


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != width * 4:
            self.downsample = nn.Sequential(nn.Conv2d(cin, width * 4, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(width * 4))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet50Like(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        cin, blocks = 64, []
        for i, n in enumerate((3, 4, 6, 3)):
            w = 64 * 2 ** i
            for b in range(n):
                blocks.append(Bottleneck(cin, w, 2 if i > 0 and b == 0 else 1))
                cin = w * 4
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, 1000)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def resnet50_like():
    return ResNet50Like()
'''

TORCH_ONLY = '''
import sys
sys.path.insert(0, sys.argv[1])
import torch
from torch.fx.passes.shape_prop import ShapeProp
import bench_against_model as m
with torch.device("meta"):
    model = m.resnet50_like().eval()
gm = torch.fx.symbolic_trace(model)
ShapeProp(gm).propagate(torch.empty(1, 3, 224, 224, device="meta"))
'''


def chain(n: int, prefix: str) -> str:
    lines = ["input: 64", "layers:"]
    for i in range(n):
        lines.append(f"  - dense: {{name: {prefix}d{i}, units: 64}}" if i % 1000 == 0 else
                     f"  - relu: {{name: {prefix}r{i}}}")
    return "\n".join(lines) + "\n"


def timed(cmd: list, env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--layers", type=int, default=20000)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "cnncalc"]
    with tempfile.TemporaryDirectory() as d:
        spec, other = Path(d) / "spec.yaml", Path(d) / "model.yaml"
        spec.write_text(chain(args.layers, "a"), encoding="utf-8")
        other.write_text(chain(args.layers, "b"), encoding="utf-8")
        (Path(d) / "bench_against_model.py").write_text(MODEL, encoding="utf-8")
        plain, against, imp, torch_only = [], [], [], []
        for _ in range(args.repeat):
            plain.append(timed(cli + ["check", str(spec)], env))
            against.append(timed(cli + ["check", str(spec), "--against", str(other)], env))
        print(f"check --against ({args.layers:,} layers, all paired by order) / plain check: "
              f"{statistics.median(against) / statistics.median(plain):.2f}×")
        try:
            import torch  # noqa: F401
        except ImportError:
            print("import torch:…: skipped (no torch)")
            return
        for _ in range(args.repeat):
            imp.append(timed(cli + ["import", "torch:bench_against_model:resnet50_like", "--input", "224x224x3"],
                             {**env, "PYTHONPATH": f"{ROOT}{os.pathsep}{d}"}))
            torch_only.append(timed([sys.executable, "-c", TORCH_ONLY, d], env))
        print(f"cnncalc import torch:… (ResNet-50-like, 224×224) / torch's own build + trace + ShapeProp: "
              f"{statistics.median(imp) / statistics.median(torch_only):.2f}×")


if __name__ == "__main__":
    main()
