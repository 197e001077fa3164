"""cnncalc speed, as ratios measured in one run (absolute times are noise on shared machines).

    python benchmarks/bench.py [--repeat 5] [--big 100000] [--specs resnet152 vgg16 …] [--baseline DIR]

1. Cold start: `cnncalc SPEC --format json` in a fresh interpreter vs merely importing its
   dependencies (`python -c "import typer, rich.console, rich.table, yaml"`), interleaved,
   medians of --repeat runs. Target ≤ 1.3×. Every built-in spec named (default: resnet152 when it
   exists, vgg16, alexnet) is measured.
2. A generated chain of N conv layers (default 10,000 and 100,000): the whole CLI run, and the
   phases inside one process (YAML load, build, analyze, JSON). Target: analysed in < 5 s,
   10k → 100k at most 12×.
3. With torch and torchinfo installed: torchinfo's summary of the same network (VGG16) side by side.
4. The default table: cold `cnncalc resnet152` (the table, piped) / its `--format json` run, target
   ≤ 1.2×; and the table rendered in-process for chains of 1,000 and 10,000 layers (linear: ≈ 10×).
   With --baseline DIR (another checkout of cnncalc, e.g. the main branch), the same cold runs
   and the 100,000-layer chain are also timed with DIR's cnncalc, interleaved: before/after ratios.
5. `cnncalc values` on a 64×64×16 input through a 3×3 conv of 16 filters, ReLU and a 2×2 max pool
   (9.4 million exact MACs): CPU time of the whole run / a cold `cnncalc alexnet --format json`.
   The issue asked for under a second; it took about 0.8 s.
(The HTML report in a browser: benchmarks/page.py.)
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
ENV.pop("GITHUB_ACTIONS", None)
# an installed cnncalc runs from compiled .pyc files; without them every cold run would also
# pay for compiling its sources (~0.1 s), and more code would look like a slower start
ENV.pop("PYTHONDONTWRITEBYTECODE", None)


def env_for(root) -> tuple:
    """(environment, working directory) that make `python -m cnncalc` run ``root``'s cnncalc."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    for k in ("GITHUB_ACTIONS", "COLUMNS", "FORCE_COLOR", "PYTHONDONTWRITEBYTECODE"):
        env.pop(k, None)
    return env, str(root)  # `python -m` puts the working directory first on sys.path


def timed(cmd: list, where: tuple = None) -> float:
    env, cwd = where or (ENV, str(ROOT))
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def medians(cmds: dict, repeat: int) -> dict:
    """Run the commands interleaved (so that load changes hit all alike); median of each.
    A command is a list, or (list, env) to run it with another checkout's cnncalc."""
    times: dict = {k: [] for k in cmds}
    for _ in range(repeat):
        for k, cmd in cmds.items():
            times[k].append(timed(*cmd) if isinstance(cmd, tuple) else timed(cmd))
    return {k: statistics.median(v) for k, v in times.items()}


def table_speed(repeat: int, baseline) -> None:
    """The default table against the JSON run, cold; and its time per row, in-process."""
    py = sys.executable
    names = __import__("cnncalc.load", fromlist=["builtin_names"]).builtin_names()
    spec = "resnet152" if "resnet152" in names else "vgg16"
    cmds = {"json": [py, "-m", "cnncalc", spec, "--format", "json"], "table": [py, "-m", "cnncalc", spec]}
    if baseline:
        benv = env_for(baseline)
        cmds["json (baseline)"] = (cmds["json"], benv)
        cmds["table (baseline)"] = (cmds["table"], benv)
    n = max(repeat, 3) * 2
    m = medians(cmds, n)
    print(f"\nthe default table, cold, median of {n} interleaved runs (target ≤ 1.2×):")
    print(f"  cnncalc {spec} (table) / cnncalc {spec} --format json: {m['table'] / m['json']:.2f}×")
    if baseline:
        print(f"  baseline ({baseline}): {m['table (baseline)'] / m['json (baseline)']:.2f}×; "
              f"table now / table before: {m['table'] / m['table (baseline)']:.2f}×; "
              f"json now / json before: {m['json'] / m['json (baseline)']:.2f}×")

    from cnncalc import analyze, parse_spec
    from cnncalc.render.json_ import render_json
    from cnncalc.render.table import render_table_text

    def chain(k):
        layer = "  - conv: {filters: 4, kernel: 3, padding: 1}\n"
        return analyze(parse_spec("input: [8, 8, 4]\nlayers:\n" + layer * k))

    def best(f, r):
        times = []
        was = gc.isenabled()
        gc.disable()  # as in a CLI run
        try:
            for _ in range(3):
                t = time.perf_counter()
                f(r)
                times.append(time.perf_counter() - t)
        finally:
            if was:
                gc.enable()
        return min(times)

    small, big = chain(1000), chain(10_000)
    ts, tb = best(render_table_text, small), best(render_table_text, big)
    js, jb = best(render_json, small), best(render_json, big)
    print(f"  table rendered in-process: 1,000 rows {ts * 1000:.0f} ms, 10,000 rows {tb * 1000:.0f} ms "
          f"({tb / ts:.1f}×; linear is 10×); the JSON of the same: {js * 1000:.0f} / {jb * 1000:.0f} ms")


def values_speed(repeat: int) -> None:
    """cnncalc values on 64×64×16 (section 5), CPU time of the child process."""
    import json
    import random

    rng = random.Random(3)
    x = [[[rng.randint(-3, 3) for _ in range(16)] for _ in range(64)] for _ in range(64)]
    wts = [[[[rng.randint(-2, 2) for _ in range(16)] for _ in range(3)] for _ in range(3)] for _ in range(16)]
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "big.yaml"
        f.write_text(json.dumps(indent=0, obj={"input": [64, 64, 16], "values": {"input": x}, "layers": [
            {"conv": {"filters": 16, "kernel": 3, "padding": 1, "bias": False, "weights": wts}}, {"relu": None},
            {"maxpool": 2}]}))
        py = sys.executable
        runs = {"values": [py, "-m", "cnncalc", "values", str(f), "--format", "json"],
                "alexnet": [py, "-m", "cnncalc", "alexnet", "--format", "json"]}
        cpu = {k: [] for k in runs}
        for _ in range(max(repeat, 3)):
            for k, cmd in runs.items():
                before = os.times()
                subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL, check=True)
                after = os.times()
                cpu[k].append(after.children_user + after.children_system
                              - before.children_user - before.children_system)
        v, a = statistics.median(cpu["values"]), statistics.median(cpu["alexnet"])
        print(f"\ncnncalc values, 64×64×16 through conv 3×3×16, relu, maxpool (CPU, median of {len(cpu['values'])}): "
              f"{v:.2f} s, {v / a:.1f}× a cold cnncalc alexnet --format json (target: under a second)")


def write_chain(path: Path, n: int) -> None:
    with path.open("w") as f:
        f.write(f"name: chain{n}\ninput: [8, 8, 4]\nlayers:\n")
        f.write("  - conv: {filters: 4, kernel: 3, padding: 1}\n" * n)


def phases(path: Path) -> dict:
    """Times of each phase for one spec, inside this process (GC paused as the CLI does)."""
    from cnncalc.core.analysis import analyze
    from cnncalc.render.json_ import render_json
    from cnncalc.load import resolve
    from cnncalc.load.build import build_graph
    from cnncalc.load.yamlio import load_yaml

    was = gc.isenabled()
    gc.disable()
    try:
        out = {}
        t = time.perf_counter()
        text, display = resolve(str(path))
        doc = load_yaml(text, display)
        out["yaml"] = time.perf_counter() - t
        t = time.perf_counter()
        graph = build_graph(doc, display, path.stem)
        out["build"] = time.perf_counter() - t
        t = time.perf_counter()
        report = analyze(graph)
        out["analyze"] = time.perf_counter() - t
        t = time.perf_counter()
        render_json(report)
        out["json"] = time.perf_counter() - t
        return out
    finally:
        if was:
            gc.enable()


def torchinfo_side_by_side(repeat: int) -> None:
    try:
        import torch  # noqa: F401
        import torchinfo
    except Exception as e:  # torchinfo also needs numpy
        print(f"\n(no side-by-side comparison with torchinfo: {type(e).__name__}: {e})")
        return
    sys.path.insert(0, str(ROOT))
    from torch import nn

    from cnncalc import analyze, load_spec
    from tests.torch_oracle import builder_of

    graph = load_spec("vgg16")
    shapes = {r.name: r.output_shape for r in analyze(graph).layers}
    model = nn.Sequential(*[builder_of(s.type)(dict(s.params), shapes[s.inputs[0]]) for s in graph.layers[1:]])
    shape = (1, graph.input_shape[2], graph.input_shape[0], graph.input_shape[1])
    t_ti, t_cc = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        s = torchinfo.summary(model, input_size=shape, verbose=0)
        t_ti.append(time.perf_counter() - t)
        t = time.perf_counter()
        r = analyze(load_spec("vgg16"))
        t_cc.append(time.perf_counter() - t)
    ti, cc = statistics.median(t_ti), statistics.median(t_cc)
    print("\nVGG16 summarised in-process (median of %d):" % repeat)
    print(f"  torchinfo.summary   {ti * 1000:8.1f} ms   params {s.total_params:,}  mult-adds {s.total_mult_adds:,}")
    print(f"  cnncalc analyze     {cc * 1000:8.1f} ms   params {r.totals.params:,}  MACs {r.totals.macs:,}")
    print(f"  ratio torchinfo / cnncalc: {ti / cc:.1f}×  (torchinfo counts bias adds in mult-adds)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--specs", nargs="*", default=None)
    ap.add_argument("--baseline", default=None, help="another checkout of cnncalc to time against (before/after)")
    ap.add_argument("--only-table", action="store_true", help="only the table measurements (section 4)")
    args = ap.parse_args()
    import compileall  # .pyc for both trees first, as an installed package has them
    for tree in [ROOT] + ([Path(args.baseline)] if args.baseline else []):
        compileall.compile_dir(str(tree / "cnncalc"), quiet=1)
    sys.path.insert(0, str(ROOT))
    from cnncalc.load import builtin_names

    names = builtin_names()
    if args.only_table:
        table_speed(args.repeat, args.baseline)
        return 0
    specs = args.specs or [n for n in ("resnet152", "vgg16", "alexnet") if n in names]
    py = sys.executable

    print(f"cold start, median of {args.repeat} interleaved runs (target ≤ 1.3×):")
    cmds = {"deps": [py, "-c", "import typer, rich.console, rich.table, yaml"]}
    for s in specs:
        cmds[s] = [py, "-m", "cnncalc", s, "--format", "json"]
    cmds["table"] = [py, "-m", "cnncalc", specs[-1]]  # the terminal table imports rich
    cmds["check"] = [py, "-m", "cnncalc", "check", str(ROOT / "specs")]
    m = medians(cmds, args.repeat)
    for s in specs:
        print(f"  cnncalc {s} --format json: {m[s] / m['deps']:.2f}× the import of its dependencies")
    print(f"  cnncalc {specs[-1]} (table): {m['table'] / m['deps']:.2f}×")
    print(f"  cnncalc check specs/ ({len(list((ROOT / 'specs').glob('*.yaml')))} specs): "
          f"{m['check'] / m['deps']:.2f}×")

    with tempfile.TemporaryDirectory() as d:
        small_n = max(args.big // 10, 1)
        small, big = Path(d) / f"chain{small_n}.yaml", Path(d) / f"chain{args.big}.yaml"
        write_chain(small, small_n)
        write_chain(big, args.big)
        reps = max(1, args.repeat // 2)
        cmds = {"small": [py, "-m", "cnncalc", str(small), "-f", "json"],
                "big": [py, "-m", "cnncalc", str(big), "-f", "json"]}
        if args.baseline:
            cmds["big (baseline)"] = (cmds["big"], env_for(args.baseline))
        m = medians(cmds, reps)
        print(f"\nchain of conv layers, whole CLI run (median of {reps}):")
        print(f"  {small_n:,} layers: {m['small']:.2f} s    {args.big:,} layers: {m['big']:.2f} s    "
              f"ratio {m['big'] / m['small']:.1f}× (target ≤ 12×; < 5 s)")
        if args.baseline:
            print(f"  {args.big:,} layers now / with the baseline: {m['big'] / m['big (baseline)']:.2f}×")
        ps, pb = phases(small), phases(big)
        print("  phases (s)     " + "".join(f"{k:>9}" for k in pb))
        print(f"  {small_n:>7,}       " + "".join(f"{ps[k]:9.2f}" for k in ps))
        print(f"  {args.big:>7,}       " + "".join(f"{pb[k]:9.2f}" for k in pb))
        ana_s, ana_b = ps["build"] + ps["analyze"], pb["build"] + pb["analyze"]
        print(f"  analysis (build + analyze) of {args.big:,} layers: {ana_b:.2f} s, {ana_b / ana_s:.1f}× the "
              f"{small_n:,}-layer chain")

    table_speed(args.repeat, args.baseline)
    values_speed(args.repeat)
    torchinfo_side_by_side(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
