"""--format html / dot / mermaid and compare --format html, without a browser (tests/test_browser.py
drives the pages in Chromium). Graphviz's ``dot`` and mermaid's own parser (node + the npm
package in .ci/node_modules, or the folder named by MERMAID_MODULES) judge the graph texts; the
tests that need them skip cleanly when they are absent."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.core.analysis import analyze
from cnncalc.load import builtin_names, load_spec
from cnncalc.render import render

ROOT = Path(__file__).resolve().parents[1]
MERMAID_MODULES = Path(os.environ.get("MERMAID_MODULES", ROOT / ".ci" / "node_modules"))

ODD = """name: 'odd "names" <b>'
input: [8, 8, 3]
layers:
  - conv: {name: end, filters: 4, kernel: 3, padding: 1}
  - relu: {name: 'a"b#c<d>&e;\\'}
  - conv: {name: subgraph, filters: 4, kernel: 3, padding: 1}
  - add: {name: 'x -->|y| z', from: [end, subgraph]}
  - conv: {name: "</script><script>window.alerted=1</script>", filters: 2, kernel: 1}
"""


def run(*args, cwd=None, stdin=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, input=stdin)


@pytest.fixture(scope="module")
def odd_spec(tmp_path_factory):
    p = tmp_path_factory.mktemp("odd") / "odd.yaml"
    p.write_text(ODD, encoding="utf-8")
    return p


# ---- DOT -------------------------------------------------------------------------------------

def dot_nodes_edges(text: str):
    nodes = re.findall(r"^  (n\d+) \[label=", text, re.M)
    edges = re.findall(r"^  (n\d+) -> (n\d+) \[label=\"([^\"]*)\"\];", text, re.M)
    return nodes, edges


def test_dot_small_network_by_hand():
    # 8×8×3 → conv 4 k3 (8 − 3 + 1 = 6) → 6×6×4 → relu
    out = run("-e", "input 8x8x3 | conv 4 k3 | relu", "-f", "dot")
    assert out.returncode == 0, out.stderr
    nodes, edges = dot_nodes_edges(out.stdout)
    assert len(nodes) == 3
    assert edges == [("n0", "n1", "8×8×3"), ("n1", "n2", "6×6×4")]
    assert out.stdout.startswith("digraph ") and out.stdout.rstrip().endswith("}")


def test_dot_resnet50_depth1_blocks_repeat_as_in_the_paper():
    # He et al. 2016, Table 1: conv2_x ×3, conv3_x ×4, conv4_x ×6, conv5_x ×3 bottlenecks
    out = run("resnet50", "--depth", "1", "-f", "dot")
    assert out.returncode == 0, out.stderr
    for block, n in (("layer1", 3), ("layer2", 4), ("layer3", 6), ("layer4", 3)):
        assert f'label="{block}\\nbottleneck ×{n}"' in out.stdout
    nodes, edges = dot_nodes_edges(out.stdout)
    # input conv1 bn1 relu maxpool, 4 stages, avgpool flatten fc: a chain of 12
    assert len(nodes) == 12 and len(edges) == 11
    # the stage outputs (56·56·256, 28·28·512, 14·14·1024, 7·7·2048) label the edges leaving them
    assert [e[2] for e in edges[5:9]] == ["56×56×256", "28×28×512", "14×14×1024", "7×7×2048"]


def test_dot_merges_are_drawn_apart():
    # GoogLeNet (Szegedy et al. 2015, Table 1) has 9 inception modules, each ending in a concat;
    # ResNet-50 has 3 + 4 + 6 + 3 = 16 residual adds
    g = run("googlenet", "-f", "dot").stdout
    r = run("resnet50", "-f", "dot").stdout
    assert g.count("shape=ellipse") == 9
    assert r.count("shape=ellipse") == 16


def test_dot_one_node_per_layer_and_an_edge_per_input():
    for name in ("vgg16", "googlenet", "resnet50", "shufflenet_v2_x1_0"):
        report = analyze(load_spec(name))
        nodes, edges = dot_nodes_edges(render(report, "dot"))
        assert len(nodes) == len(report.layers)
        assert len(edges) == sum(len(r.inputs) for r in report.layers)


def test_a_split_part_carries_its_own_shape():
    # ShuffleNet v2 1x (Ma et al. 2018, Table 5): stage 2 has 116 channels at 28x28; each unit's
    # channel split hands 116 / 2 = 58 channels to its branch
    text = run("shufflenet_v2_x1_0", "-f", "dot").stdout
    ids = dict(re.findall(r'^  (n\d+) \[label="([^"\\]*)\\n', text, re.M))
    by_name = {v: k for k, v in ids.items()}
    edge = re.search(rf'^  {by_name["stage2.rest.0.chunk"]} -> {by_name["stage2.rest.0.branch2.0"]} '
                     r'\[label="([^"]*)"\];', text, re.M)
    assert edge.group(1) == "28×28×58"
    d = page_data("shufflenet_v2_x1_0")
    branch = next(x for x in d["layers"] if x["n"] == "stage2.rest.0.branch2.0")
    assert branch["is"] == ["28×28×58"] and d["layers"][branch["in"][0]]["n"] == "stage2.rest.0.chunk"


def test_dot_quotes_odd_names(odd_spec):
    out = run(str(odd_spec), "-f", "dot")
    assert out.returncode == 0, out.stderr
    assert 'label="a\\"b#c<d>&e;\\\\\\nrelu"' in out.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
@pytest.mark.parametrize("name", builtin_names())
def test_graphviz_accepts_every_shipped_spec(name):
    text = render(analyze(load_spec(name)), "dot")
    out = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.count('class="node"') == len(analyze(load_spec(name)).layers)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_graphviz_accepts_odd_names_and_collapsed_blocks(odd_spec):
    for args in ((str(odd_spec),), ("resnet152", "--depth", "1"), ("mobilenet_v2", "--depth", "2")):
        text = run(*args, "-f", "dot").stdout
        out = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and out.stderr == "", (args, out.stderr)


# ---- Mermaid ---------------------------------------------------------------------------------

def test_mermaid_small_network_by_hand():
    out = run("-e", "input 8x8x3 | conv 4 k3 | relu", "-f", "mermaid")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "flowchart TD",
        '  n0["input<br/>input"]',
        '  n1["conv1<br/>conv 3×3/1"]',
        '  n2["relu1<br/>relu"]',
        '  n0 -->|"8×8×3"| n1',
        '  n1 -->|"6×6×4"| n2',
    ]


def test_mermaid_escapes_every_odd_character(odd_spec):
    out = run(str(odd_spec), "-f", "mermaid").stdout
    assert '"a#34;b#35;c#60;d#62;#38;e#59;#92;<br/>relu"' in out
    assert '(["x --#62;#124;y#124; z<br/>add"])' in out
    for line in out.splitlines()[1:]:  # nothing outside the quotes but ids, brackets and arrows
        outside = re.sub(r'"[^"]*"', '""', line)
        assert re.fullmatch(r'  n\d+(\[""\]|\(\[""\]\)|\[\[""\]\])|  n\d+ -->\|""\| n\d+', outside), line


def _mermaid_parse(text: str, tmp_path):
    node = shutil.which("node")
    if node is None or not (MERMAID_MODULES / "mermaid").is_dir():
        pytest.skip("node or the mermaid npm package (npm install --prefix .ci mermaid) is absent")
    f = tmp_path / "graph.mmd"
    f.write_text(text, encoding="utf-8")
    return subprocess.run([node, str(ROOT / "tests" / "tools" / "mermaid_parse.mjs"), str(f)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "MERMAID_MODULES": str(MERMAID_MODULES)})


def test_mermaid_parser_accepts_googlenet(tmp_path):
    out = _mermaid_parse(run("googlenet", "-f", "mermaid").stdout, tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["diagramType"].startswith("flowchart")


def test_mermaid_parser_accepts_odd_names_and_blocks(tmp_path, odd_spec):
    for args in ((str(odd_spec),), ("resnet50", "--depth", "1")):
        out = _mermaid_parse(run(*args, "-f", "mermaid").stdout, tmp_path)
        assert out.returncode == 0, (args, out.stderr)


def test_mermaid_parser_refuses_broken_text(tmp_path):
    # the check can fail: a broken flowchart is refused
    out = _mermaid_parse("flowchart TD\n  n0[\"a\"] --> (((\n", tmp_path)
    assert out.returncode == 1 and "Parse error" in out.stderr


# ---- HTML (the page's contents; the browser tests drive it) -------------------------------------

def test_html_page_is_self_contained(odd_spec):
    page = run(str(odd_spec), "-f", "html").stdout
    assert page.startswith("<!DOCTYPE html>")
    # nothing to fetch: no src/href attributes, no url(), no @import; the only URL is the SVG namespace
    assert not re.search(r"\b(src|href)\s*=", page, re.I)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in page  # and the page's own policy forbids any request
    # the names cannot close the data's script element
    assert page.count("</script>") == page.count("<script")
    data = json.loads(re.search(r'<script type="application/json" id="cnncalc-data">(.*?)</script>', page,
                                re.S).group(1))
    assert [x["n"] for x in data["layers"]][-1] == "</script><script>window.alerted=1</script>"
    assert data["name"] == 'odd "names" <b>'
    assert "<title>odd &quot;names&quot; &lt;b&gt; — cnncalc</title>" in page


def page_data(*args):
    page = run(*args, "-f", "html").stdout
    return json.loads(re.search(r'id="cnncalc-data">(.*?)</script>', page, re.S).group(1))


def test_html_data_figures_and_blocks():
    d = page_data("vgg16")
    fc6 = next(x for x in d["layers"] if x["n"] == "fc6")
    # fc6: 7·7·512·4096 weights + 4096 biases = 102,764,544 params; MACs 7·7·512·4096 = 102,760,448
    assert fc6["f"][0] == [102764544, "103M", "102,764,544"]
    assert fc6["f"][1][0] == 102760448
    assert d["totals"][0][2] == "138,357,544"  # VGG-16 (REFERENCE.md)
    r = page_data("resnet50", "--depth", "1")
    assert r["depth"] == 1
    blocks = {b["n"]: b for b in r["blocks"]}
    assert blocks["layer3"]["t"] == "bottleneck ×6" and blocks["layer3.5"]["k"] == 2
    # a block row's figures are the sums of its layers
    for b in ("layer1", "layer2.3", "layer4"):
        inside = [x for x in r["layers"] if x["b"] == b or x["b"].startswith(b + ".")]
        assert blocks[b]["f"][0][0] == sum(x["f"][0][0] for x in inside)
        assert blocks[b]["f"][1][0] == sum(x["f"][1][0] for x in inside)


def test_html_expect_and_budget_results(tmp_path):
    spec = tmp_path / "s.yaml"
    # conv 3→8, k3: 3·3·3·8 + 8 = 224 params; padding 1 keeps 8×8: MACs 8·8·8 outputs × 27 = 13,824
    spec.write_text("name: s\ninput: [8, 8, 3]\nlayers:\n  - conv: {filters: 8, kernel: 3, padding: 1}\n"
                    "expect:\n  params: 224\n  macs: 13825\nbudget:\n  params: 100\n", encoding="utf-8")
    d = page_data(str(spec))
    items = d["checks"]["items"]
    assert [i["ok"] for i in items] == [True, False, False]
    assert "params: 224 holds" in items[0]["text"] and "expected 13825, got 13,824" in items[1]["text"]
    assert page_data("googlenet")["checks"]["items"] and all(i["ok"] for i in page_data("googlenet")["checks"]["items"])


def test_html_warnings_listed():
    d = page_data("resnet50")
    # (224 − 7 + 2·3)/2 + 1 = 112.5 does not divide: conv1's warning, in the list and on its row
    assert any(w.startswith("conv1: ") and "112.5" in w for w in d["warnings"])
    conv1 = next(x for x in d["layers"] if x["n"] == "conv1")
    assert conv1["w"] and "112.5" in conv1["w"][0]
    assert len(d["warnings"]) == sum(len(x["w"]) for x in d["layers"])


def test_html_training_memory_and_conventions():
    d = page_data("vgg16", "--train", "adam", "--dtype", "float16", "--batch", "8")
    labels = [c[0] for c in d["card"]]
    assert "training memory" in labels
    act = d["card"][labels.index("activation memory")]
    assert "float16, batch 8" in act[2]
    assert "FLOPs" in labels and d["card"][labels.index("FLOPs")][2].endswith("= 2 × MACs")


def test_html_resnet152_page_is_small():
    page = run("resnet152", "-f", "html").stdout.encode("utf-8")
    assert len(page) <= 1_000_000, len(page)


def test_output_option_writes_the_file(tmp_path):
    f = tmp_path / "r.html"
    out = run("vgg16", "-f", "html", "-o", str(f))
    assert out.returncode == 0 and out.stdout == "" and out.stderr == ""
    assert f.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    f = tmp_path / "t.csv"
    assert run("xo_toy", "-f", "csv", "-o", str(f)).returncode == 0
    assert f.read_text(encoding="utf-8") == run("xo_toy", "-f", "csv").stdout
    bad = run("vgg16", "-f", "html", "-o", str(tmp_path / "no" / "such" / "dir" / "r.html"))
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1 and "cannot write" in bad.stderr and "Traceback" not in bad.stderr


def test_compare_html(tmp_path):
    out = run("compare", "vgg16", "resnet50", "-f", "html")
    assert out.returncode == 0, out.stderr
    page = out.stdout
    assert "<h1>vgg16 vs resnet50</h1>" in page
    # ResNet-50 / VGG-16 params: 25,557,032 / 138,357,544 = 0.1847…
    row = re.search(r'<tr data-figure="params">(.*?)</tr>', page).group(1)
    assert "138M" in row and "25.6M" in row and "(0.185×)" in row
    assert not re.search(r"\b(src|href)\s*=", page)
    f = tmp_path / "c.html"
    assert run("compare", "vgg16", "resnet50", "-f", "html", "-o", str(f)).returncode == 0
    assert f.read_text(encoding="utf-8") == page
    refused = run("compare", "vgg16", "resnet50", "-f", "dot")
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1


def test_explain_refuses_the_picture_formats():
    for fmt in ("html", "dot", "mermaid"):
        out = run("vgg16", "--explain", "-f", fmt)
        assert out.returncode == 2 and len(out.stderr.splitlines()) == 1 and fmt in out.stderr
