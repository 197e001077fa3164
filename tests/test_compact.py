"""``cnncalc import FILE --compact``: repeated structures folded into ``blocks:`` and ``repeat:``.
The folded spec must build to exactly the layers of the plain import — names, types, inputs,
shapes, params, non-trainable params, MACs — and be much shorter; its figures are also held to
PyTorch's own (parameters(), running statistics, FlopCounterMode) where the model comes from
PyTorch, and to hand arithmetic for the prototxt written here."""

from __future__ import annotations

import sys

import pytest

from cnncalc import analyze
from cnncalc.load import parse_spec

from .conftest import ROOT, run_cli
from .test_import_torch import MODELS, NAME, torch_figures

FIXTURES = ROOT / "tests" / "models"


def rows(text):
    rep = analyze(parse_spec(text, "spec.yaml"))
    return rep, [(r.name, r.type, tuple(r.inputs), tuple(r.output_shape), r.params, r.non_trainable_params, r.macs)
                 for r in rep.layers]


def imported(*args):
    r = run_cli("import", *args)
    assert r.code == 0, r.err
    return r.out


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    torch = pytest.importorskip("torch")
    d = tmp_path_factory.mktemp("compactmods")
    (d / f"{NAME}.py").write_text(MODELS, encoding="utf-8")
    sys.path.insert(0, str(d))
    sys.modules.pop(NAME, None)
    try:
        yield torch, __import__(NAME), d
    finally:
        sys.path.remove(str(d))
        sys.modules.pop(NAME, None)


def test_torch_resnet50_like_folds_into_one_block(models):
    torch, mod, _ = models
    src = f"torch:{NAME}:resnet50_like"
    plain = imported(src, "--input", "64x64x3")
    folded = imported(src, "--input", "64x64x3", "--compact")
    rep_p, rows_p = rows(plain)
    rep_f, rows_f = rows(folded)
    assert rows_f == rows_p
    assert len(rows_p) == 1 + 4 + (3 + 4 + 6 + 3) * 10 + 4 * 2 + 3  # input, stem, 16 blocks of 10, 4 projections, head
    params, stats, macs, shape = torch_figures(torch, mod.resnet50_like(), (64, 64, 3))
    assert (rep_f.totals.params, rep_f.totals.non_trainable_params, rep_f.totals.macs) == (params, stats, macs)
    assert tuple(rep_f.layers[-1].output_shape) == shape
    lines_p, lines_f = plain.count("\n"), folded.count("\n")
    assert lines_f * 4 < lines_p, (lines_f, lines_p)
    # one block for the four stages: 3, 4, 6 and 3 bottlenecks, the first of each with its projection
    assert folded.count("_block: {name: layer") == 4
    for stage, n in (("layer1", 3), ("layer2", 4), ("layer3", 6), ("layer4", 3)):
        assert f"{{name: {stage}, repeat: {n}," in folded
    assert "if: \"$first_only\"" in folded and folded.count("  - conv: {name: downsample.0") == 1
    assert folded.startswith(f"# imported by cnncalc from {src} (PyTorch, torch.fx), repeated structures folded")


def test_onnx_export_folds_and_matches_the_torch_module(models, tmp_path):
    pytest.importorskip("onnx")
    torch, mod, _ = models
    import warnings

    path = tmp_path / "r50.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(mod.resnet50_like().eval(), torch.zeros(1, 3, 64, 64), str(path), dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    plain = imported(str(path))
    folded = imported(str(path), "--compact")
    rep_p, rows_p = rows(plain)
    rep_f, rows_f = rows(folded)
    assert rows_f == rows_p
    assert folded.count("\n") * 4 < plain.count("\n")
    params, stats, macs, shape = torch_figures(torch, mod.resnet50_like(), (64, 64, 3))
    assert (rep_f.totals.params, rep_f.totals.non_trainable_params, rep_f.totals.macs) == (params, stats, macs)
    # the ONNX file names its layers as torch.fx does (layer1.0.add): the folded spec holds to the module
    out = tmp_path / "r50.yaml"
    out.write_text(folded, encoding="utf-8")
    r = run_cli("check", str(out), "--against", f"torch:{NAME}:resnet50_like")
    assert r.code == 0, r.out
    r = run_cli("check", str(out), "--against", f"torch:{NAME}:resnet50_like", "-f", "json")
    import json

    checks = json.loads(r.out)["specs"][0]["checks"]
    assert {c["match"] for c in checks if c["layer"]} == {"name"}


def caffe_resnet(stages=(2, 2, 2)) -> str:
    """A basic-block ResNet in Caffe's V2 syntax, layers named stage.block.layer, in-place ReLU."""
    out = ['name: "tiny_resnet"', 'input: "data"', "input_shape { dim: 1 dim: 3 dim: 32 dim: 32 }"]

    def conv(name, bottom, n, k, s=1, p=0):
        out.append(f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}" '
                   f"convolution_param {{ num_output: {n} kernel_size: {k} stride: {s} pad: {p} bias_term: false }} }}")
        return name

    def bn(name, bottom):
        out.append(f'layer {{ name: "{name}" type: "BatchNorm" bottom: "{bottom}" top: "{bottom}" }}')
        out.append(f'layer {{ name: "{name}.scale" type: "Scale" bottom: "{bottom}" top: "{bottom}" '
                   "scale_param { bias_term: true } }")
        return bottom

    def relu(name, bottom):
        out.append(f'layer {{ name: "{name}" type: "ReLU" bottom: "{bottom}" top: "{bottom}" }}')
        return bottom

    x = relu("stem.relu", bn("stem.bn", conv("stem", "data", 16, 3, 1, 1)))
    width = 16
    for si, n in enumerate(stages):
        for b in range(n):
            stride = 2 if (si > 0 and b == 0) else 1
            w = width * 2 ** si
            pre = f"stage{si + 1}.{b}"
            y = relu(f"{pre}.relu1", bn(f"{pre}.bn1", conv(f"{pre}.conv1", x, w, 3, stride, 1)))
            y = bn(f"{pre}.bn2", conv(f"{pre}.conv2", y, w, 3, 1, 1))
            short = x
            if stride != 1:
                short = bn(f"{pre}.proj.bn", conv(f"{pre}.proj", x, w, 1, stride))
            out.append(f'layer {{ name: "{pre}.add" type: "Eltwise" bottom: "{y}" bottom: "{short}" '
                       f'top: "{pre}.add" }}')
            x = relu(f"{pre}.relu2", f"{pre}.add")
    out.append(f'layer {{ name: "pool" type: "Pooling" bottom: "{x}" top: "pool" '
               "pooling_param { pool: AVE global_pooling: true } }")
    out.append('layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" '
               'inner_product_param { num_output: 10 } }')
    return "\n".join(out) + "\n"


def test_prototxt_folds(tmp_path):
    path = tmp_path / "tiny_resnet.prototxt"
    path.write_text(caffe_resnet((3, 4, 3)), encoding="utf-8")
    plain = imported(str(path))
    folded = imported(str(path), "--compact")
    rep_p, rows_p = rows(plain)
    rep_f, rows_f = rows(folded)
    assert rows_f == rows_p
    assert folded.count("\n") * 2 < plain.count("\n"), (folded.count("\n"), plain.count("\n"))
    assert "{name: stage2, repeat: 4," in folded
    # one block for the three stages: stage1's first block has no projection, so it never sets first_only
    assert folded.count("    layers:\n") == 1 and "{name: stage1, repeat: 3" in folded
    # hand arithmetic: conv3×3 weights C_in·9·C_out, BN 2·C learnable + 2·C running statistics
    w = [16, 32, 64]
    conv = 3 * 9 * 16
    bn_c = 16
    c_in = 16
    for si, n in enumerate((3, 4, 3)):
        for b in range(n):
            conv += c_in * 9 * w[si] + w[si] * 9 * w[si]
            bn_c += 2 * w[si]
            if si > 0 and b == 0:
                conv += c_in * w[si]
                bn_c += w[si]
            c_in = w[si]
    fc = 64 * 10 + 10
    assert rep_f.totals.params == conv + 2 * bn_c + fc
    assert rep_f.totals.non_trainable_params == 2 * bn_c


def test_nothing_to_fold_gives_the_plain_spec():
    for name in ("vgg16_v2.prototxt", "small_functional.keras"):
        plain = imported(str(FIXTURES / name)).splitlines()
        folded = imported(str(FIXTURES / name), "--compact").splitlines()
        assert folded[1] == ("# --compact: no repeated structure found: repetitions are found by numbered names "
                             "(S.0.…, S.1.…); the plain spec is written")
        assert folded[:1] + folded[2:] == plain


def test_compact_to_a_file(tmp_path, models):
    out = tmp_path / "r.yaml"
    r = run_cli("import", f"torch:{NAME}:resnet_like", "--input", "32x32x3", "--compact", "-o", str(out))
    assert r.code == 0 and r.out == ""
    assert "repeat: 2" in out.read_text(encoding="utf-8")


def test_stages_one_numbering_deeper(models):
    torch, mod, _ = models
    src = f"torch:{NAME}:nested"
    plain = imported(src, "--input", "16x16x3")
    folded = imported(src, "--input", "16x16x3", "--compact")
    rep_p, rows_p = rows(plain)
    rep_f, rows_f = rows(folded)
    assert rows_f == rows_p
    params, stats, macs, shape = torch_figures(torch, mod.nested(), (16, 16, 3))
    assert (rep_f.totals.params, rep_f.totals.non_trainable_params, rep_f.totals.macs) == (params, stats, macs)
    # features.1.0 … features.1.2 and features.2.0, features.2.1: one block, two instances
    assert "{name: features.1, repeat: 3" in folded and "{name: features.2, repeat: 2" in folded
    assert folded.count("    layers:\n") == 1


def test_first_instance_without_the_others_residual(models):
    torch, mod, _ = models
    src = f"torch:{NAME}:residual_after_first"
    plain = imported(src, "--input", "16x16x3")
    folded = imported(src, "--input", "16x16x3", "--compact")
    rep_p, rows_p = rows(plain)
    rep_f, rows_f = rows(folded)
    assert rows_f == rows_p
    params, stats, macs, shape = torch_figures(torch, mod.residual_after_first(), (16, 16, 3))
    assert (rep_f.totals.params, rep_f.totals.non_trainable_params, rep_f.totals.macs) == (params, stats, macs)
    # the add of blocks 1 … n−1 is left out of block 0, whose output is then its relu
    assert 'if: "${not first_only}"' in folded
    assert "{name: stage1, repeat: 3" in folded and "{name: stage2, repeat: 2" in folded
    rows_by = {r.name: r for r in rep_f.layers}
    assert "stage1.0.add" not in rows_by and set(rows_by["stage1.1.add"].inputs) == {"stage1.1.relu", "stage1.0.relu"}


def test_a_fold_that_changes_a_figure_is_never_written(tmp_path, monkeypatch):
    """The guard: a folded spec that does not build to the same layers is replaced by the plain one."""
    from cnncalc.importers import compact as compact_mod, load_net

    path = tmp_path / "tiny_resnet.prototxt"
    path.write_text(caffe_resnet((2, 2)), encoding="utf-8")
    net = load_net(str(path))
    good = compact_mod.compact_yaml(net)
    assert good is not None and "repeat: 2" in good
    monkeypatch.setattr(compact_mod, "compact_yaml", lambda n: good.replace("kernel: 3,", "kernel: 5,", 1))
    text, folded = compact_mod.compact(net)
    assert not folded and "repeat:" not in text
    assert text.splitlines()[1] == ("# --compact: the folded spec did not build to the same layers; the plain spec "
                                    "is written")
