"""``cnncalc import FILE --compact``: repeated structures folded into ``blocks:`` and ``repeat:``.
The folded spec must build to exactly the layers of the plain import — names, types, inputs,
shapes, params, non-trainable params, MACs — and be much shorter; its figures are also held to
PyTorch's own (parameters(), running statistics, FlopCounterMode) where the model comes from
PyTorch, and to hand arithmetic for the prototxt written here."""

from __future__ import annotations


import pytest

from cnncalc import analyze
from cnncalc.load import parse_spec

from .conftest import ROOT, importable, run_cli
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
    with importable(tmp_path_factory, NAME, MODELS) as (module, folder):
        yield torch, module, folder


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
                             "(S.0.…, S.1.…; Keras's S_blockN_… and blockNx_…); the plain spec is written")
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


def _keras_named_model(keras):
    """A small functional model named as keras.applications names its layers: ResNet50's
    conv2_block1_0_conv … conv3_block2_out (instances from 1; the first of a stage with a projection
    shortcut, _0_conv/_0_bn) and EfficientNet's block2a_… block2c_… (instances by letter; the
    others with a residual add)."""
    layers = keras.layers
    inputs = keras.Input((32, 32, 3), name="input_layer")
    x = layers.Conv2D(16, 3, padding="same", name="conv1_conv")(inputs)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    for stage, width, blocks, stride in (("conv2", 8, 3, 1), ("conv3", 16, 2, 2)):
        for b in range(1, blocks + 1):
            name = f"{stage}_block{b}"
            s = stride if b == 1 else 1
            if b == 1:
                shortcut = layers.Conv2D(4 * width, 1, strides=s, name=name + "_0_conv")(x)
                shortcut = layers.BatchNormalization(name=name + "_0_bn")(shortcut)
            else:
                shortcut = x
            y = layers.Conv2D(width, 1, strides=s, name=name + "_1_conv")(x)
            y = layers.BatchNormalization(name=name + "_1_bn")(y)
            y = layers.Activation("relu", name=name + "_1_relu")(y)
            y = layers.Conv2D(width, 3, padding="same", name=name + "_2_conv")(y)
            y = layers.BatchNormalization(name=name + "_2_bn")(y)
            y = layers.Activation("relu", name=name + "_2_relu")(y)
            y = layers.Conv2D(4 * width, 1, name=name + "_3_conv")(y)
            y = layers.BatchNormalization(name=name + "_3_bn")(y)
            y = layers.Add(name=name + "_add")([shortcut, y])
            x = layers.Activation("relu", name=name + "_out")(y)
    for b, letter in enumerate("abc"):
        name = f"block2{letter}"
        y = layers.Conv2D(128, 1, use_bias=False, name=name + "_expand_conv")(x)
        y = layers.BatchNormalization(name=name + "_expand_bn")(y)
        y = layers.Activation("swish", name=name + "_expand_activation")(y)
        y = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=name + "_dwconv")(y)
        y = layers.BatchNormalization(name=name + "_bn")(y)
        y = layers.Activation("swish", name=name + "_activation")(y)
        y = layers.Conv2D(64 if b == 0 else 64, 1, use_bias=False, name=name + "_project_conv")(y)
        y = layers.BatchNormalization(name=name + "_project_bn")(y)
        x = y if b == 0 else layers.Add(name=name + "_add")([y, x])
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(10, name="predictions")(x)
    return keras.Model(inputs, outputs, name="keras_named")


def test_keras_application_names_fold(tmp_path):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    import math

    model = _keras_named_model(keras)
    path = tmp_path / "keras_named.keras"
    model.save(path)
    plain = imported(str(path))
    folded = imported(str(path), "--compact")
    rep_p, rows_p = rows(plain)
    rep_f, rows_f = rows(folded)
    # layer by layer the same figures; the names as blocks name instances (from 0), the one renaming
    def dotted(name):
        import re

        m = re.match(r"^(conv\d_block)(\d+)_(.+)$", name)
        if m:
            return f"{m[1]}.{int(m[2]) - 1}.{m[3]}"
        m = re.match(r"^(block\d)([a-z])_(.+)$", name)
        return f"{m[1]}.{'abc'.index(m[2])}.{m[3]}" if m else name

    assert dotted("conv2_block1_0_conv") == "conv2_block.0.0_conv" and dotted("block2c_add") == "block2.2.add"
    assert [(dotted(r[0]), r[1], tuple(dotted(i) for i in r[2])) + r[3:] for r in rows_p] == rows_f
    # Keras's own figures
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    frozen = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    assert (rep_f.totals.params, rep_f.totals.non_trainable_params) == (trainable, frozen)
    assert tuple(rep_f.layers[-1].output_shape) == tuple(model.output_shape[1:]) == (10,)
    # three blocks (ResNet's bottleneck in two stages, EfficientNet's MBConv), much shorter
    assert folded.count("    layers:\n") == 2
    assert "{name: conv2_block, repeat: 3" in folded and "{name: conv3_block, repeat: 2" in folded
    assert "{name: block2, repeat: 3" in folded
    assert folded.count("\n") * 2 < plain.count("\n")
    assert folded.splitlines()[1].startswith("# layer names: Keras numbers repetitions inside the name")


def test_keras_names_inside_a_nested_model_fold(tmp_path):
    # transfer learning: the named model as a base inside another; its layers are read as base.NAME
    import math
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    base = _keras_named_model(keras)
    inputs = keras.Input((32, 32, 3), name="image")
    outputs = keras.layers.Dense(3, name="head")(base(inputs))
    model = keras.Model(inputs, outputs, name="transfer")
    path = tmp_path / "transfer.keras"
    model.save(path)
    plain = imported(str(path))
    folded = imported(str(path), "--compact")
    rep_p, rows_p = rows(plain)
    rep_f, rows_f = rows(folded)
    assert "keras_named.conv2_block1_1_conv" in [r[0] for r in rows_p]
    assert "keras_named.conv2_block.0.1_conv" in [r[0] for r in rows_f]
    assert [r[3:] for r in rows_f] == [r[3:] for r in rows_p]
    assert "{name: keras_named.conv2_block, repeat: 3" in folded
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    frozen = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    assert (rep_f.totals.params, rep_f.totals.non_trainable_params) == (trainable, frozen)


# Numbered siblings: torchvision's MobileNetV2 / EfficientNet / RegNet, rebuilt here with their
# module names (torchvision does not install beside torch 2.13)
SIBLINGS = "cnncalc_compact_siblings"
SIBLING_MODELS = '''
import torch
from torch import nn


@torch.fx.wrap
def stochastic_depth(x, p: float, mode: str, training: bool = True):
    """torchvision.ops.stochastic_depth's signature."""
    return x


class StochasticDepth(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        return stochastic_depth(x, self.p, "row", self.training)


def cbr(cin, cout, k=3, s=1, g=1, act=nn.ReLU6):
    layers = [nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=g, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, act()) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """torchvision's MobileNetV2 block: conv.0 expand, conv.1 depthwise, conv.2 project, conv.3 BN."""

    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        self.use_res = stride == 1 and cin == cout
        layers = [cbr(cin, hidden, 1)] if t != 1 else []
        layers += [cbr(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2Like(nn.Module):
    def __init__(self, settings=((1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 3, 2), (6, 24, 2, 1))):
        super().__init__()
        feats, cin = [cbr(3, 8, 3, 2)], 8
        for t, c, n, s in settings:
            for i in range(n):
                feats.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        feats.append(cbr(cin, 64, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Linear(64, 10)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class SqueezeExcitation(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.activation = nn.SiLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x))))) * x


class MBConv(nn.Module):
    """torchvision's EfficientNet block: block.0 expand, block.1 depthwise, block.2 SE, block.3
    project; stochastic depth and the residual when the shape is kept."""

    def __init__(self, cin, cout, k, stride, t, sd):
        super().__init__()
        hidden = cin * t
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(cbr(cin, hidden, 1, act=nn.SiLU), cbr(hidden, hidden, k, stride, hidden, nn.SiLU),
                                   SqueezeExcitation(hidden, max(1, cin // 4)), cbr(hidden, cout, 1, act=None))
        self.stochastic_depth = StochasticDepth(sd)

    def forward(self, x):
        y = self.block(x)
        return x + self.stochastic_depth(y) if self.use_res else y


class EfficientNetLike(nn.Module):
    """Stages of MBConvs whose stochastic-depth rate grows block by block: 0.2 * i / 7."""

    def __init__(self, settings=((3, 1, 8, 2), (5, 2, 12, 3), (3, 1, 16, 2))):
        super().__init__()
        feats, cin, i, total = [cbr(3, 8, 3, 2, act=nn.SiLU)], 8, 0, sum(s[3] for s in settings)
        for k, s, c, n in settings:
            stage = []
            for j in range(n):
                stage.append(MBConv(cin, c, k, s if j == 0 else 1, 4, 0.2 * i / total))
                cin, i = c, i + 1
            feats.append(nn.Sequential(*stage))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Linear(cin, 10)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class ResBottleneckBlock(nn.Module):
    """RegNet's block, named as torchvision names it: proj (when the shape changes), f.a, f.b, f.c."""

    def __init__(self, cin, cout, stride, groups):
        super().__init__()
        self.proj = cbr(cin, cout, 1, stride, act=None) if (cin != cout or stride != 1) else None
        self.f = nn.Sequential()
        self.f.add_module("a", cbr(cin, cout, 1, act=nn.ReLU))
        self.f.add_module("b", cbr(cout, cout, 3, stride, cout // groups, nn.ReLU))
        self.f.add_module("c", cbr(cout, cout, 1, act=None))
        self.activation = nn.ReLU()

    def forward(self, x):
        short = self.proj(x) if self.proj is not None else x
        return self.activation(short + self.f(x))


class RegNetLike(nn.Module):
    """trunk_output.block1.block1-0: numbered with a hyphen, which no repeat can name."""

    def __init__(self, stages=((8, 2), (16, 3))):
        super().__init__()
        self.stem = cbr(3, 8, 3, 2, act=nn.ReLU)
        self.trunk_output = nn.Sequential()
        cin = 8
        for si, (c, n) in enumerate(stages, 1):
            stage = nn.Sequential()
            for j in range(n):
                stage.add_module(f"block{si}-{j}", ResBottleneckBlock(cin, c, 2 if j == 0 else 1, 4))
                cin = c
            self.trunk_output.add_module(f"block{si}", stage)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.trunk_output(self.stem(x)), 1)
        return self.fc(torch.flatten(x, 1))


class ReadLater(nn.Module):
    """Conv-BN-ReLU blocks whose layers are named 0, 1, 2; a later add reads blocks.1's output."""

    def __init__(self):
        super().__init__()
        widths = (3, 8, 12, 16, 12)  # not a repeat: every block's width differs from the one before
        self.blocks = nn.Sequential(*[cbr(widths[i], widths[i + 1], act=nn.ReLU) for i in range(4)])

    def forward(self, x):
        y = self.blocks[1](self.blocks[0](x))
        return self.blocks[3](self.blocks[2](y)) + y


class UnderscoreNumbered(nn.Module):
    """torchvision's ViT names its encoder layers encoder.layers.encoder_layer_0, _1, …"""

    def __init__(self):
        super().__init__()
        from collections import OrderedDict

        self.layers = nn.Sequential(OrderedDict((f"encoder_layer_{i}", cbr(3 if i == 0 else 8, 8, act=nn.ReLU))
                                                for i in range(4)))

    def forward(self, x):
        return self.layers(x)
'''


@pytest.fixture(scope="module")
def siblings(tmp_path_factory):
    torch = pytest.importorskip("torch")
    with importable(tmp_path_factory, SIBLINGS, SIBLING_MODELS) as (module, folder):
        yield torch, module


def spec_rows(text):
    """rows() and every layer's parameters (a stochastic-depth rate, a stride)."""
    rep = analyze(parse_spec(text, "spec.yaml"))
    return rep, [(r.name, r.type, tuple(r.inputs), tuple(r.output_shape), r.params, r.non_trainable_params, r.macs,
                  repr(sorted(r.spec.params.items()))) for r in rep.layers]


def fold_and_hold(torch, mod, cls, size):
    src = f"torch:{SIBLINGS}:{cls}"
    plain = imported(src, "--input", size)
    folded = imported(src, "--input", size, "--compact")
    rep_p, rows_p = spec_rows(plain)
    rep_f, rows_f = spec_rows(folded)
    assert rows_f == rows_p
    hwc = tuple(int(x) for x in size.split("x"))
    params, stats, macs, shape = torch_figures(torch, getattr(mod, cls)(), hwc)
    assert (rep_f.totals.params, rep_f.totals.non_trainable_params, rep_f.totals.macs) == (params, stats, macs)
    assert tuple(rep_f.layers[-1].output_shape) == shape
    return plain, folded


def test_mobilenet_v2_siblings_fold_into_blocks_used_by_name(siblings):
    torch, mod = siblings
    plain, folded = fold_and_hold(torch, mod, "MobileNetV2Like", "32x32x3")
    # features.2 … features.8: 3 blocks that change the shape (8 layers: 2, 4, 7), 4 residual ones
    # (9 layers: 3, 5, 6, 8), each now one line; two blocks (name, params, "layers:", 8 or 9 layers)
    # and "blocks:" are added
    assert "features.8.add" in plain and "features.7.add" not in plain and "features.9.add" not in plain
    assert plain.count("\n") - folded.count("\n") == (3 * 8 + 4 * 9) - 7 - (3 + 8) - (3 + 9) - 1
    assert folded.count("    layers:\n") == 2
    for k in range(2, 9):
        assert f"_block: {{name: features.{k}" in folded or f"_block2: {{name: features.{k}" in folded
    assert "repeat:" not in folded  # features.4, features.5 … cannot be named by a repeat
    assert "features.1.conv.0.0" in folded  # the one block without an expansion stays as it is
    # what differs from block to block (the expansion's width, the stride, the output's width) is a
    # parameter; the depthwise conv's groups are its width
    assert 'groups: "$filters"' in folded


def test_efficientnet_growing_stochastic_depth_rates_are_arguments(siblings):
    torch, mod = siblings
    plain, folded = fold_and_hold(torch, mod, "EfficientNetLike", "32x32x3")
    # residual blocks are 1, 3, 4, 6 (counted from 0 over the whole network): rate 0.2 * i / 7
    for i, name in ((1, "features.1.1"), (3, "features.2.1"), (4, "features.2.2"), (6, "features.3.1")):
        assert f"{name}.stochastic_depth, rate: {0.2 * i / 7!r}" in plain
    # a rate is a block parameter: each use's own argument, or the block's default
    import yaml

    doc = yaml.safe_load(folded)
    rates = {}
    for entry in doc["layers"]:
        (kind, args), = entry.items()
        block = doc["blocks"].get(kind)
        if block is not None and any(v.get("rate") == "$rate" for layer in block["layers"] for v in layer.values()):
            rates[args["name"]] = args.get("rate", block["params"]["rate"])
    assert {k: v for k, v in rates.items() if k in ("features.2.1", "features.2.2", "features.3.1")} == \
        {"features.2.1": 0.2 * 3 / 7, "features.2.2": 0.2 * 4 / 7, "features.3.1": 0.2 * 6 / 7}
    assert 'rate: "$rate"' in folded
    assert folded.count("\n") * 3 < plain.count("\n") * 2, (folded.count("\n"), plain.count("\n"))


def test_regnet_hyphen_numbered_blocks_fold(siblings):
    torch, mod = siblings
    plain, folded = fold_and_hold(torch, mod, "RegNetLike", "32x32x3")
    assert "_block: {name: trunk_output.block1.block1-0" in folded
    assert "{name: trunk_output.block2.block2-2" in folded
    # blocks with a projection (12 layers: proj 2, f.a 3, f.b 3, f.c 2, add, activation) and without
    # (10), 2 + 3 of them, each now one line; two blocks (3 + 12, 3 + 10 lines) and "blocks:" added
    assert plain.count("\n") - folded.count("\n") == (2 * 12 + 3 * 10) - 5 - (3 + 12) - (3 + 10) - 1


def test_a_changed_layer_parameter_is_a_different_layer():
    """same_figures compares every layer parameter, not only the counts: a stochastic-depth rate
    (no weights, no MACs) written wrong is caught."""
    from cnncalc.importers.compact import same_figures

    spec = "name: n\ninput: [4, 4, 2]\nlayers:\n  - conv: {name: c, filters: 2, kernel: 1}\n" \
           "  - stochastic_depth: {name: s, rate: RATE}\n  - add: {name: a, from: [s, c]}\n"
    assert same_figures(spec.replace("RATE", "0.1"), spec.replace("RATE", "0.1"), "x.yaml")
    assert not same_figures(spec.replace("RATE", "0.1"), spec.replace("RATE", "0.2"), "x.yaml")


def test_a_sibling_fold_with_a_wrong_rate_is_never_written(siblings, monkeypatch):
    """The guard holds for sibling blocks too, down to a parameter that counts nothing."""
    from cnncalc.importers import compact as compact_mod, load_net

    net = load_net(f"torch:{SIBLINGS}:EfficientNetLike", "32x32x3")
    good = compact_mod.compact_yaml(net)
    assert good is not None and 'rate: "$rate"' in good and "{name: features.2.2, " in good
    text, folded = compact_mod.compact(net)
    assert folded and text == good
    bad = good.replace(f"rate: {0.2 * 4 / 7!r}", "rate: 0.5", 1)
    assert bad != good
    monkeypatch.setattr(compact_mod, "compact_yaml", lambda n: bad)
    text, folded = compact_mod.compact(net)
    assert not folded and "blocks:" not in text


def test_a_later_layer_reads_a_folded_instance_by_its_name(siblings):
    """blocks.1.2 (the ReLU of instance blocks.1) would read as part 2 of instance blocks.1 in a
    top-level from:, so the folded spec names the instance instead."""
    torch, mod = siblings
    plain, folded = fold_and_hold(torch, mod, "ReadLater", "8x8x3")
    assert "from: [blocks.3.2, blocks.1.2]" in plain or "from: [blocks.1.2, blocks.3.2]" in plain
    assert "blocks.1.2" not in folded
    # widths 8, 12, 16, 12: the most common is the default
    assert "{name: blocks.0, filters: 8}" in folded and "{name: blocks.2, filters: 16}" in folded
    assert "{name: blocks.1}" in folded and "{name: blocks.3}" in folded
    assert "from: [blocks.3, blocks.1]" in folded or "from: [blocks.1, blocks.3]" in folded


def test_underscore_numbered_siblings_fold(siblings):
    torch, mod = siblings
    plain, folded = fold_and_hold(torch, mod, "UnderscoreNumbered", "8x8x3")
    for i in range(4):
        assert f"name: layers.encoder_layer_{i}.0," in plain and f"{{name: layers.encoder_layer_{i}}}" in folded
    # four instances of 3 layers, each one line; a block (name, "layers:", 3 layers) and "blocks:" added
    assert plain.count("\n") - folded.count("\n") == 4 * 3 - 4 - (2 + 3) - 1
