"""How fast the HTML report of ResNet-152 (the largest shipped spec) renders in a real browser.

    python benchmarks/page.py [--repeat 5] [--spec resnet152]

Debian's Chromium driven by Playwright (as tests/test_browser.py does; that test checks the page is
complete and small, this script times it). Two clocks per load: the page's own time from navigation
to the end of its first render (``window.cnncalcReport.sinceNavigation``) and the renderer's
main-thread CPU time (parsing, script, style, layout, paint) from the DevTools protocol. On a shared
machine the wall time waits for a CPU; the CPU time does not. Target: both under a second.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnncalc.core.analysis import analyze  # noqa: E402
from cnncalc.core.model import Conventions  # noqa: E402
from cnncalc.load import load_spec  # noqa: E402
from cnncalc.render import render  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--spec", default="resnet152")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CNNCALC_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        chromium = shutil.which("chromium") or chromium
    report = analyze(load_spec(args.spec), Conventions())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{args.spec}.html"
        path.write_text(render(report, "html"), encoding="utf-8")
        walls, cpus = [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
            for _ in range(args.repeat):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
                before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
                page.goto(path.as_uri())
                after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                cpus.append(1000 * (after["ThreadTime"] - before.get("ThreadTime", 0.0)))
                walls.append(page.evaluate("window.cnncalcReport.sinceNavigation"))
                page.close()
            browser.close()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"{args.spec} page: {path.stat().st_size:,} bytes, {len(report.layers)} layers")
        print(f"  rendered after navigation: best {min(walls):.0f} ms, median {statistics.median(walls):.0f} ms")
        print(f"  renderer main-thread CPU:  best {min(cpus):.0f} ms, median {statistics.median(cpus):.0f} ms")
        print(f"  load average {load:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
