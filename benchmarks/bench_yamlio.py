"""The YAML loader against an earlier revision of itself, in one run (ratios, not absolute times).

    python benchmarks/bench_yamlio.py [--before main] [--repeat 7] [--big 100000]

Loads the same texts with ``cnncalc/load/yamlio.py`` as it is in the work tree ("after") and
as it was at the git revision ``--before`` ("before"), interleaved, and prints the median of
each and the ratio after/before (target ≤ 1.0×). The texts: the chain of N conv layers that
benchmarks/bench.py generates, and every shipped spec (specs/*.yaml, all loaded in a row).

Measured when the loader was restructured (a _Frame class and one handler per event kind,
against the tuple-based loop it replaced; 2 shared cores, so ±5% between runs): the 100,000-layer
chain 0.97×–1.01× (wall-clock medians of 3–4, and min CPU time of 21 runs of a 10,000-layer
chain); the 18 shipped specs 1.00×–1.03× by min / median CPU time of 41–60 runs (wall-clock
medians on the loaded machine ranged 1.01×–1.13×).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def chain_text(n: int) -> str:  # as benchmarks/bench.py writes it
    return f"name: chain{n}\ninput: [8, 8, 4]\nlayers:\n" + "  - conv: {filters: 4, kernel: 3, padding: 1}\n" * n


def load_revision(rev: str):
    """cnncalc.load.yamlio as it was at ``rev``, imported as a sibling module of the package.

    Before the modules moved into folders the loader was cnncalc/spec/yamlio.py and imported
    cnncalc.errors, .model and .limits: those names are pointed at their new homes for it."""
    path = "cnncalc/load/yamlio.py"
    got = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True)
    if got.returncode != 0:
        path = "cnncalc/spec/yamlio.py"
        got = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True,
                             capture_output=True, text=True)
        import cnncalc.core
        for old in ("errors", "model", "limits"):
            sys.modules.setdefault(f"cnncalc.{old}", importlib.import_module(f"cnncalc.core.{old}"))
            setattr(sys.modules["cnncalc"], old, sys.modules[f"cnncalc.{old}"])
        assert cnncalc.core
    source = got.stdout
    name = "cnncalc.load._yamlio_before"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "cnncalc.load"
    sys.modules[name] = module
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    return module


def timed(load, texts: list) -> float:
    gc.collect()
    gc.disable()  # as the CLI runs
    try:
        t = time.perf_counter()
        for i, text in enumerate(texts):
            load(text, f"t{i}.yaml")
        return time.perf_counter() - t
    finally:
        gc.enable()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default="main")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--big", type=int, default=100_000)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from cnncalc.load import yamlio as after

    before = load_revision(args.before)
    cases = {f"chain of {args.big:,} conv layers": [chain_text(args.big)],
             "shipped specs (specs/*.yaml)": [p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("specs/*.yaml"))]}
    for label, texts in cases.items():
        assert before.load_yaml(texts[0], "t.yaml") == after.load_yaml(texts[0], "t.yaml")
        reps = args.repeat if len(texts) > 1 else max(3, args.repeat // 2)
        tb, ta = [], []
        for _ in range(reps):
            tb.append(timed(before.load_yaml, texts))
            ta.append(timed(after.load_yaml, texts))
        mb, ma = statistics.median(tb), statistics.median(ta)
        print(f"{label}: before ({args.before}) {mb * 1000:8.1f} ms   after {ma * 1000:8.1f} ms   "
              f"ratio {ma / mb:.3f}×  (median of {reps}, interleaved)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
