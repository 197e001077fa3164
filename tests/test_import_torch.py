"""``cnncalc import torch:MODULE:FACTORY --input HxWxC`` (and ``cnncalc torch:… --input``): a PyTorch
module traced with torch.fx on the meta device. The models are defined in a module written to a
temporary directory on sys.path; every figure is PyTorch 2.13's own: ``parameters()``, the running
statistics in ``buffers()``, ``FlopCounterMode`` (MACs = FLOPs / 2) and the output's shape."""

from __future__ import annotations

import sys

import pytest

from cnncalc import analyze
from cnncalc.load import parse_spec

from .conftest import error_of, importable, run_cli

MODELS = '''
import torch
from torch import nn
import torch.nn.functional as F


class Branches(nn.Module):
    """A small CNN with two branches joined by concat, BN, ReLU, pools, dropout, linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True))
        self.left = nn.Conv2d(16, 8, 1)
        self.right = nn.Sequential(nn.Conv2d(16, 4, 1), nn.ReLU(), nn.Conv2d(4, 12, (3, 5), padding=(1, 2)))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AdaptiveAvgPool2d((1, 1))
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(20, 7)

    def forward(self, x):
        x = self.stem(x)
        x = torch.cat([self.left(x), self.right(x)], dim=1)
        x = self.pool(F.relu(x))
        x = torch.flatten(self.avg(x), 1)
        return self.fc(self.drop(x))


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
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNetLike(nn.Module):
    def __init__(self, layers=(2, 2), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin, stages = 16, []
        for i, n in enumerate(layers):
            width = 8 * 2 ** i
            blocks = [Bottleneck(cin, width, 1 if i == 0 else 2)] + [Bottleneck(width * 4, width) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = width * 4
        self.stages = len(stages)
        for i, stage in enumerate(stages):
            setattr(self, f"layer{i + 1}", stage)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class Misc(nn.Module):
    """Functional forms: view(size(0), -1), mean over H and W, squeeze-excite multiply, and more modules."""

    def __init__(self):
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 2, 0, 1))
        self.conv = nn.Conv2d(3, 12, 3, dilation=2, groups=3)
        self.act = nn.LeakyReLU(0.1)
        self.se = nn.Conv2d(12, 12, 1)
        self.up = nn.Upsample(scale_factor=2)
        self.tconv = nn.ConvTranspose2d(12, 6, 2, stride=2)
        self.avg = nn.AvgPool2d(2)
        self.gelu = nn.GELU()
        self.fc1 = nn.Linear(6, 32)
        self.bn = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, 5, bias=False)

    def forward(self, x):
        x = self.act(self.conv(self.pad(x)))
        s = torch.sigmoid(self.se(x.mean((2, 3), keepdim=True)))
        x = x * s
        x = self.avg(self.tconv(self.up(x)))
        x = F.interpolate(x, scale_factor=2, mode="bilinear") + F.interpolate(x, size=(x.shape[2] * 2, 2 * x.shape[3]))
        x = F.interpolate(x, size=(5, 7))
        x = x.mean([2, 3])
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.bn(self.gelu(self.fc1(x)))))


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.conv(x)
        return x


class Unmappable(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.InstanceNorm3d(4)

    def forward(self, x):
        return self.conv(x).transpose(2, 3)


@torch.fx.wrap
def stochastic_depth(x, p: float, mode: str, training: bool = True):
    """torchvision.ops.stochastic_depth's signature (torchvision is not installed beside torch 2.13)."""
    return x


class StochasticDepth(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        return stochastic_depth(x, self.p, "row", self.training)


class ReadsItsWeights(nn.Module):
    """An initialiser that reads a weight's value: it cannot run on the meta device."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.scale = float(self.conv.weight.abs().sum()) > -1
        self.drop_path = StochasticDepth(0.2)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = self.conv(x)
        x = x + self.drop_path(x)
        return self.fc(torch.flatten(F.adaptive_max_pool2d(x, 1), 1))


def reads_its_weights():
    return ReadsItsWeights()


def branches():
    return Branches()


def resnet_like():
    return ResNetLike()


class Nested(nn.Module):
    """Stages one numbering deep: features.0 is the stem, features.1.0 … features.2.1 the blocks."""

    def __init__(self):
        super().__init__()

        def block(cin, cout, stride):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU())

        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1),
                                      nn.Sequential(block(8, 8, 1), block(8, 8, 1), block(8, 8, 1)),
                                      nn.Sequential(block(8, 16, 2), block(16, 16, 1)))
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def nested():
    return Nested()


class Residual(nn.Module):
    """EfficientNet's way: a residual add only where the shapes allow it (not in a stage's first block)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        out = F.relu(self.bn(self.conv(x)))
        if self.use_res:
            out = out + x
        return out


class ResidualAfterFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.stage1 = nn.Sequential(Residual(8, 16, 2), Residual(16, 16, 1), Residual(16, 16, 1))
        self.stage2 = nn.Sequential(Residual(16, 32, 2), Residual(32, 32, 1))
        self.fc = nn.Linear(32, 3)

    def forward(self, x):
        x = self.stage2(self.stage1(self.stem(x)))
        return self.fc(x.mean((2, 3)))


def residual_after_first():
    return ResidualAfterFirst()


class LayerNorm2d(nn.LayerNorm):
    """torchvision's: a LayerNorm over the channels of an N×C×H×W tensor (F.layer_norm between permutes)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """ConvNeXt's block: depthwise 7×7, channels-last LayerNorm and MLP, layer scale γ (a parameter
    read in forward), residual add."""

    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pw2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pw2(self.act(self.pw1(self.norm(y))))
        y = torch.permute(y, (0, 3, 1, 2))
        return x + self.gamma * y


class ConvNeXtLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 4, stride=4), LayerNorm2d(16, eps=1e-6))
        self.stage = nn.Sequential(CNBlock(16), CNBlock(16))
        self.unused_head = nn.Linear(16, 1000)  # never called: its parameters are not counted
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = self.stage(self.stem(x))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def convnext_like():
    return ConvNeXtLike()


class BadPermute(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x).permute(0, 1, 3, 2)


def bad_permute():
    return BadPermute()


def resnet50_like():
    """ResNet-50's stages: 3, 4, 6 and 3 bottlenecks (narrow)."""
    return ResNetLike((3, 4, 6, 3), classes=100)


def misc():
    return Misc()


def data_dependent():
    return DataDependent()


def unmappable():
    return Unmappable()


def not_a_module():
    return 42


def noisy():
    print("building the model…")
    return Branches()


def fails():
    raise RuntimeError("no weights here")


NOT_CALLABLE = 3
'''

NAME = "cnncalc_torch_models_tmp"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    torch = pytest.importorskip("torch")
    with importable(tmp_path_factory, NAME, MODELS) as (module, folder):
        yield torch, module


def torch_figures(torch, model, hwc):
    """PyTorch's own figures: params, running statistics, MACs, output shape (H×W×C or N)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    h, w, c = hwc
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.zeros(1, c, h, w))
    params = sum(p.numel() for p in model.parameters())
    stats = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    shape = tuple(out.shape[1:]) if out.dim() == 2 else (out.shape[2], out.shape[3], out.shape[1])
    return params, stats, counter.get_total_flops() // 2, shape


def imported(factory, size):
    r = run_cli("import", f"torch:{NAME}:{factory}", "--input", size)
    assert r.code == 0, r.err
    return r.out, analyze(parse_spec(r.out, "imported.yaml"))


@pytest.mark.parametrize("factory, size", [("branches", "32x32x3"), ("resnet_like", "64x64x3"),
                                           ("misc", "13x11x3"), ("resnet_like", "57x43x3"),
                                           ("reads_its_weights", "9x9x3")])
def test_import_equals_pytorch(models, factory, size):
    torch, mod = models
    hwc = tuple(int(x) for x in size.split("x"))
    model = getattr(mod, factory)()
    params, stats, macs, shape = torch_figures(torch, model, hwc)
    text, rep = imported(factory, size)
    assert rep.totals.params == params
    assert rep.totals.non_trainable_params == stats
    assert rep.totals.macs == macs
    assert tuple(rep.layers[-1].output_shape) == shape
    # every module that holds parameters is one layer of the same name with the same count
    rows = {r.name: r for r in rep.layers}
    for name, m in model.named_modules():
        own = sum(p.numel() for p in m.parameters(recurse=False))
        if own:
            assert rows[name].params == own, name
    assert text.startswith(f"# imported by cnncalc from torch:{NAME}:{factory} (PyTorch, torch.fx)\n")


def test_resnet_like_names_and_branches(models):
    text, rep = imported("resnet_like", "64x64x3")
    rows = {r.name: r for r in rep.layers}
    # the residual add of block layer2.0 reads its bn3 and its projection shortcut
    assert set(rows["layer2.0.add"].inputs) == {"layer2.0.bn3", "layer2.0.downsample.1"}
    # 64 → conv 7/2 p3 → 32 → maxpool 3/2 p1 → 16 → layer2 stride 2 → 8; width 16·4 = 64
    assert rows["layer2.0.add"].output_shape == (8, 8, 64)
    assert rows["layer1.1.add"].output_shape == (16, 16, 32)
    # defaults are not written: a plain 1×1 conv says only what differs
    assert "  - conv: {name: layer1.0.conv1, filters: 8, kernel: 1, bias: false}\n" in text


def test_channels_last_layer_norm_mlp_and_layer_scale(models):
    torch, mod = models
    model = mod.convnext_like()
    params, stats, macs, shape = torch_figures(torch, model, (32, 32, 3))
    unused = 16 * 1000 + 1000
    text, rep = imported("convnext_like", "32x32x3")
    # PyTorch's parameters() counts the head forward never calls; cnncalc counts what runs, and says so
    assert rep.totals.params == params - unused and rep.totals.macs == macs
    assert tuple(rep.layers[-1].output_shape) == shape
    assert f"# not counted: {unused:,} parameters of modules forward never calls\n" in text
    rows = {r.name: r for r in rep.layers}
    # γ: one scale per channel (16); the channels-last MLP: 16·64 + 64 and 64·16 + 16 on 8×8 positions
    assert rows["stage.0.mul"].type == "layer_scale" and rows["stage.0.mul"].params == 16
    assert rows["stage.0.pw1"].output_shape == (8, 8, 64) and rows["stage.0.pw1"].params == 16 * 64 + 64
    assert rows["stage.0.norm"].type == "layernorm" and rows["stage.0.norm"].params == 32
    assert rows["stem.1"].type == "layernorm" and rows["stem.1"].params == 32  # F.layer_norm between permutes
    assert "permute" not in text


def test_built_on_the_cpu_when_meta_fails_and_stochastic_depth(models):
    text, rep = imported("reads_its_weights", "9x9x3")
    rows = {r.name: r for r in rep.layers}
    # the function is all StochasticDepth's forward does: the layer has the module's name
    assert rows["drop_path"].type == "stochastic_depth" and rows["drop_path"].output_shape == (9, 9, 8)
    assert "  - stochastic_depth: {name: drop_path, rate: 0.2}\n" in text


def test_show_a_torch_model(models):
    torch, mod = models
    params, _, macs, _ = torch_figures(torch, mod.branches(), (32, 32, 3))
    r = run_cli(f"torch:{NAME}:branches", "--input", "32x32x3", "--format", "json")
    assert r.code == 0, r.err
    import json

    doc = json.loads(r.out)
    assert doc["totals"]["params"] == params and doc["totals"]["macs"] == macs



@pytest.mark.parametrize("source, words", [
    ("torch:no_such_module_q:net", "no module named 'no_such_module_q'"),
    (f"torch:{NAME}:nothing", f"module {NAME} has no 'nothing'"),
    (f"torch:{NAME}:NOT_CALLABLE", "is not callable (a int)"),
    (f"torch:{NAME}:not_a_module", "returned a int, not a torch.nn.Module"),
    (f"torch:{NAME}:fails", "fails() failed: RuntimeError: no weights here"),
    (f"torch:{NAME}:data_dependent", "torch.fx cannot trace the model"),
    (f"torch:{NAME}:unmappable", "1 PyTorch node cnncalc cannot count: transpose (other than of C and L after "
                                   "flatten(2): tokens, a channel shuffle, or in views that cut the map into "
                                   "MaxViT's blocks or grid) ('transpose')"),
    (f"torch:{NAME}:bad_permute", "permute[0, 1, 3, 2] (other than to channels-last and back, or in views that "
                                    "cut the map into MaxViT's blocks or grid) ('permute')"),
    (f"torch:{NAME}", "write a PyTorch model as torch:MODULE:FACTORY"),
])
def test_bad_torch_sources_are_one_line(models, source, words):
    line = error_of("import", source, "--input", "16x16x3")
    assert words in line, line
    assert source in line


def test_no_input_size_and_a_wrong_one(models):
    assert "give --input HxWxC" in error_of("import", f"torch:{NAME}:branches")
    assert "give --input HxWxC" in error_of(f"torch:{NAME}:branches")
    # a vector into a conv: PyTorch refuses to run it, in one line
    assert "does not run on a 10 input" in error_of("import", f"torch:{NAME}:branches", "--input", "10")


def test_what_the_module_prints_stays_out_of_the_spec(models):
    r = run_cli("import", f"torch:{NAME}:noisy", "--input", "32x32x3")
    assert r.code == 0 and r.out.startswith("# imported by cnncalc from ")
    assert "building the model…" in r.err and "building" not in r.out


def test_module_from_the_current_directory_or_a_file(tmp_path, monkeypatch):
    """A console script does not put the current directory on sys.path; cnncalc does, for the
    import only. A .py file may be named by its path."""
    pytest.importorskip("torch")
    d = tmp_path / "proj"
    d.mkdir()
    (d / "cwd_net_tmp.py").write_text("from torch import nn\n\ndef net():\n    return nn.Sequential("
                                      "nn.Conv2d(3, 5, 3), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 6 * 6, 2))\n",
                                      encoding="utf-8")
    monkeypatch.chdir(d)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(d))])
    sys.modules.pop("cwd_net_tmp", None)
    # 5 filters of 3·3·3 + 5 = 140; 180·2 + 2 = 362
    for source in ("torch:cwd_net_tmp:net", f"torch:{d / 'cwd_net_tmp.py'}:net", "torch:cwd_net_tmp.py:net"):
        r = run_cli("import", source, "--input", "8x8x3")
        assert r.code == 0, r.err
        rep = analyze(parse_spec(r.out, "x.yaml"))
        assert rep.totals.params == 140 + 362 == sum(p.numel() for p in __import__("cwd_net_tmp").net().parameters())
    assert str(d) not in sys.path
    sys.modules.pop("cwd_net_tmp", None)
    assert "nope.py: no such file" in error_of("import", "torch:nope.py:net", "--input", "8x8x3")


def test_without_torch_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    line = error_of("import", "torch:anything:net", "--input", "8x8x3")
    assert "needs torch" in line
