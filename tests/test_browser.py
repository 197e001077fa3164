"""The HTML reports in a real browser: Debian's Chromium driven by Playwright for Python, pages
loaded from file:// with every other request aborted. Screenshots go to test-output/browser/
(gitignored) for people to look at. Skipped cleanly without playwright or /usr/bin/chromium
(.ci/run installs both)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cnncalc.core.analysis import analyze
from cnncalc.core.model import Conventions
from cnncalc.render import render
from cnncalc.load import load_spec

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
CHROMIUM = os.environ.get("CNNCALC_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-output" / "browser"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                              args=ARGS)
        yield b
        b.close()


class Page:
    """A report opened in a fresh page: console errors and requests recorded."""

    def __init__(self, browser, path: Path):
        self.errors: list = []
        self.requests: list = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith("file:") else self.requests.append(r.url))
        self.page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                        else route.abort())
        self.page.goto(path.as_uri())

    def units(self) -> tuple:
        """(visible unit rows, graph nodes) as names."""
        rows = self.page.eval_on_selector_all(
            "tbody tr.unit:not([hidden])", "rs => rs.map(r => r.dataset.layer ?? ('block ' + r.dataset.block))")
        nodes = self.page.eval_on_selector_all(
            "#graph g.node", "ns => ns.map(n => n.dataset.layer ?? ('block ' + n.dataset.block))")
        return rows, nodes


def write_report(tmp_path, name: str, depth=None) -> tuple:
    report = analyze(load_spec(name), Conventions())
    path = tmp_path / f"{name}{'' if depth is None else f'-depth{depth}'}.html"
    path.write_text(render(report, "html", depth=depth), encoding="utf-8")
    return report, path


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.mark.parametrize("name", ["vgg16", "googlenet", "resnet50"])
def test_report_loads_offline_with_a_row_and_a_node_per_layer(browser, tmp_path, name):
    report, path = write_report(tmp_path, name)
    p = Page(browser, path)
    rows, nodes = p.units()
    names = [r.name for r in report.layers]
    assert rows == names  # in network order
    assert sorted(nodes) == sorted(names)
    # every layer's row and node carry data-layer="NAME"
    for n in names[:3] + names[-3:]:
        assert p.page.locator(f'tr[data-layer="{n}"]').count() == 1
        assert p.page.locator(f'#graph [data-layer="{n}"]').count() == 1
    # an edge per (unit, input) pair, each labelled with a shape
    assert p.page.locator("#graph path.edge").count() == sum(len(r.inputs) for r in report.layers)
    shot(p, name)
    assert p.errors == [] and p.requests == []
    p.page.close()


def test_sorting_a_column_reorders_the_rows(browser, tmp_path):
    report, path = write_report(tmp_path, "vgg16")
    p = Page(browser, path)
    p.page.click('th[data-sort="f0"]')  # params, largest first
    rows, _ = p.units()
    # fc6 holds 7·7·512·4096 + 4096 = 102,764,544 of VGG-16's parameters, fc7 4096·4096 + 4096 = 16,781,312
    assert rows[:2] == ["fc6", "fc7"]
    by_params = sorted(report.layers, key=lambda r: -r.params)
    assert [p_ for p_ in rows if report.layer(p_).params] == [r.name for r in by_params if r.params]
    p.page.click('th[data-sort="f0"]')  # again: smallest first
    rows, _ = p.units()
    assert rows[-2:] == ["fc7", "fc6"]
    p.page.click('th[data-sort="name"]')
    rows, _ = p.units()
    assert rows == sorted(rows) and rows != [r.name for r in report.layers]  # by code point
    p.page.click('th[data-sort="order"]')  # back to the network's order
    rows, _ = p.units()
    assert rows == [r.name for r in report.layers]
    assert p.errors == []
    p.page.close()


def test_a_node_selects_its_row_and_a_row_its_node(browser, tmp_path):
    report, path = write_report(tmp_path, "googlenet")
    p = Page(browser, path)
    node = p.page.locator('#graph g.node[data-layer="inception4c.branch3"]')
    node.scroll_into_view_if_needed()
    node.click()
    assert p.page.locator("tbody tr.sel").evaluate_all("rs => rs.map(r => r.dataset.layer)") == ["inception4c.branch3"]
    assert p.page.locator('tr[data-layer="inception4c.branch3"]').is_visible()
    p.page.click('tr[data-layer="inception5b.concat"] td.type')
    assert p.page.locator("#graph g.node.sel").evaluate_all("ns => ns.map(n => n.dataset.layer)") == [
        "inception5b.concat"]
    assert p.page.locator("tbody tr.sel").count() == 1
    # the selected node is scrolled into the graph's view
    box = p.page.locator('#graph g.node[data-layer="inception5b.concat"]').bounding_box()
    pane = p.page.locator(".graphpane").bounding_box()
    assert pane["y"] <= box["y"] <= pane["y"] + pane["height"]
    assert p.errors == []
    p.page.close()


def test_collapsing_a_block_hides_its_rows(browser, tmp_path):
    report, path = write_report(tmp_path, "resnet50")
    p = Page(browser, path)
    inside = [r.name for r in report.layers if r.name.startswith("layer3.")]
    assert all(p.page.locator(f'tr[data-layer="{n}"]').is_visible() for n in inside[:3])
    p.page.click('tr[data-block="layer3"] button.toggle')
    rows, nodes = p.units()
    assert not any(p.page.locator(f'tr[data-layer="{n}"]').is_visible() for n in inside)
    assert "block layer3" in rows and "block layer3" in nodes
    assert len(rows) == len(nodes) == len(report.layers) - len(inside) + 1
    # ResNet-50's conv4_x stage: 6 bottlenecks (He et al. 2016, Table 1)
    assert "bottleneck ×6" in p.page.locator('#graph g.node[data-block="layer3"] text.t2').text_content()
    p.page.click('tr[data-block="layer3"] button.toggle')  # expanded again
    rows, nodes = p.units()
    assert len(rows) == len(nodes) == len(report.layers)
    assert p.errors == []
    p.page.close()


def test_depth_starts_collapsed_as_the_option_says(browser, tmp_path):
    report, path = write_report(tmp_path, "resnet50", depth=1)
    p = Page(browser, path)
    rows, nodes = p.units()
    # input conv1 bn1 relu maxpool, layer1-4, avgpool flatten fc
    assert rows == ["input", "conv1", "bn1", "relu", "maxpool", "block layer1", "block layer2", "block layer3",
                    "block layer4", "avgpool", "flatten", "fc"]
    assert sorted(nodes) == sorted(rows)
    p.page.select_option("#depth", "2")  # one row per bottleneck: 3 + 4 + 6 + 3
    rows, nodes = p.units()
    assert len(rows) == len(nodes) == 8 + 16
    shot(p, "resnet50-depth2")
    assert p.errors == []
    p.page.close()


def test_resnet152_page_is_small_and_complete(browser, tmp_path):
    # how fast it renders is measured by benchmarks/page.py (timings do not belong in tests)
    report, path = write_report(tmp_path, "resnet152")
    size = path.stat().st_size
    assert size <= 1_000_000, size
    p = Page(browser, path)
    assert p.page.locator("tbody tr.unit:not([hidden])").count() == len(report.layers)
    assert p.page.locator("#graph g.node").count() == len(report.layers)
    assert p.errors == [] and p.requests == []
    p.page.close()


def test_compare_page(browser, tmp_path):
    from cnncalc.cli.commands.compare import _ratio, comparison
    from cnncalc.render.html import render_compare_html

    reports = [analyze(load_spec(n)) for n in ("vgg16", "resnet50")]
    path = tmp_path / "compare.html"
    path.write_text(render_compare_html(comparison(reports, ["vgg16", "resnet50"]), _ratio), encoding="utf-8")
    p = Page(browser, path)
    assert p.page.locator("h1").inner_text() == "vgg16 vs resnet50"
    assert "0.185×" in p.page.locator('tr[data-figure="params"]').inner_text()
    shot(p, "compare-vgg16-resnet50")
    assert p.errors == [] and p.requests == []
    p.page.close()


def test_odd_names_and_a_one_layer_network(browser, tmp_path):
    from cnncalc.load import parse_spec

    from .test_pictures import ODD

    for text in (ODD, "name: one\ninput: [4]\nlayers:\n  - dense: 2\n"):
        report = analyze(parse_spec(text, "odd.yaml"))
        path = tmp_path / "odd.html"
        path.write_text(render(report, "html"), encoding="utf-8")
        p = Page(browser, path)
        rows, nodes = p.units()
        assert rows == [r.name for r in report.layers] and sorted(nodes) == sorted(rows)
        assert p.page.evaluate("window.alerted === undefined")  # the </script> name ran nothing
        assert p.errors == [] and p.requests == []
        p.page.close()


def test_a_huge_network_keeps_its_table_and_leaves_the_graph_out(browser, tmp_path):
    from cnncalc.load.dsl import load_spec_or_expr

    # 2,500 layers: over the page's 2,000-node limit for a layout
    report = analyze(load_spec_or_expr(None, "input 8x8x3 | " + " | ".join(["conv 3 k1"] * 2500)))
    path = tmp_path / "huge.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    p = Page(browser, path)
    rows, nodes = p.units()
    assert len(rows) == 2501 and nodes == []
    assert "not drawn: 2501 nodes" in p.page.locator(".graphpane").inner_text()
    assert p.errors == [] and p.requests == []
    p.page.close()
