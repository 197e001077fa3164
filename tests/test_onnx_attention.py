"""Attention read from ONNX (cnncalc/importers/onnx_fuse.py): the reference modules of
tests/torch_oracle.py (written after torchvision's, independently of cnncalc's exporter) are
exported by PyTorch and read back; params, non-trainable numbers, MACs and the output shape
must equal PyTorch's own count of the module (parameters(), float buffers, FlopCounterMode).
Each near miss is refused in one line."""

from __future__ import annotations

import io
import json
import warnings
from contextlib import redirect_stdout

import pytest

from .conftest import run_cli

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
nn = torch.nn

from .torch_oracle import PartitionAttention, WindowAttention, WindowAttentionV2  # noqa: E402


def _export(model, shape, path, folding=True):
    model = model.eval()
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():  # random values: a folded bias table must show its structure
            p.copy_(torch.randn_like(p))
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(shape),), str(path), dynamo=False, do_constant_folding=folding)
    return model


def _pytorch_figures(model, shape):
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    frozen = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.zeros(shape))
    return params, frozen, counter.get_total_flops() // 2, list(out.shape)


def _cnncalc(path):
    r = run_cli(str(path), "--format", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    t = d["totals"]
    return d, (t["params"], t["non_trainable_params"], t["macs"])


def _hwc_to_nchw(shape):
    return [1, shape[2], shape[0], shape[1]] if len(shape) == 3 else shape


CASES = [
    # (module, N×C×H×W input, the layer type cnncalc must read)
    (lambda: WindowAttention(32, 2, 4, 0), (1, 32, 8, 8), "window_attention"),
    (lambda: WindowAttention(32, 2, 4, 2), (1, 32, 8, 8), "window_attention"),  # shifted: roll + mask
    (lambda: WindowAttention(24, 3, 4, 2), (1, 24, 10, 6), "window_attention"),  # padded to 12×8
    (lambda: WindowAttention(16, 2, 7, 3), (1, 16, 5, 9), "window_attention"),  # shift dropped along H
    (lambda: WindowAttention(16, 4, 3, 1, qkv_bias=False, proj_bias=False), (1, 16, 6, 6), "window_attention"),
    (lambda: WindowAttentionV2(32, 2, 4, 2, hidden=16), (1, 32, 8, 8), "window_attention"),
    (lambda: WindowAttentionV2(16, 2, 4, 0, hidden=8), (1, 16, 6, 5), "window_attention"),
    (lambda: PartitionAttention(32, 2, 3, "block"), (1, 32, 6, 9), "partition_attention"),
    (lambda: PartitionAttention(32, 2, 3, "grid"), (1, 32, 6, 9), "partition_attention"),
    (lambda: PartitionAttention(16, 4, 2, "grid", qkv_bias=False), (1, 16, 4, 4), "partition_attention"),
]


@pytest.mark.parametrize("folding", [True, False], ids=["folded", "unfolded"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_attention_from_onnx_has_pytorchs_figures(tmp_path, case, folding):
    make, shape, kind = CASES[case]
    path = tmp_path / "attn.onnx"
    model = _export(make(), shape, path, folding)
    d, got = _cnncalc(path)
    params, frozen, macs, out = _pytorch_figures(model, shape)
    assert got == (params, frozen, macs)
    assert [layer["type"] for layer in d["layers"]][1:] == [kind]
    assert _hwc_to_nchw(d["layers"][-1]["output_shape"]) == out


def test_window_and_shift_are_read_from_the_graph(tmp_path):
    path = tmp_path / "swin.onnx"
    _export(WindowAttention(24, 3, 4, 2), (1, 24, 10, 6), path)
    r = run_cli("import", str(path))
    assert r.code == 0, r.err
    import yaml

    (layer,) = [entry for entry in yaml.safe_load(r.out)["layers"]]
    (kind, p), = layer.items()
    assert kind == "window_attention" and (p["heads"], p["window"], p["shift"]) == (3, 4, 2)


class TransposedWindows(WindowAttention):
    """Swin's windows, but each window's tokens read column by column: the same counts, another
    attention (its relative-position bias no longer matches): not cnncalc's window_attention."""

    def forward(self, x):
        b, c, h, w = x.shape
        return super().forward(x.transpose(2, 3)).transpose(2, 3)


class FreeBias(nn.Module):
    """Window attention with a free heads×n×n bias (not a relative-position table)."""

    def __init__(self, c=16, heads=2, win=4):
        super().__init__()
        self.inner = WindowAttention(c, heads, win, 0)
        self.free = nn.Parameter(torch.zeros(1, heads, win * win, win * win))
        self.inner.relative_position_bias_table.requires_grad_(False)

    def forward(self, x):
        inner = self.inner
        x = x.permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        win = inner.window
        x = x.view(b, h // win, win, w // win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, win * win, c)
        qkv = inner.qkv(x).reshape(x.shape[0], win * win, 3, inner.heads, c // inner.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q * (c // inner.heads) ** -0.5).matmul(k.transpose(-2, -1)) + self.free).softmax(dim=-1)
        x = inner.proj(attn.matmul(v).transpose(1, 2).reshape(x.shape[0], win * win, c))
        x = x.view(b, h // win, w // win, win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        return x.permute(0, 3, 1, 2)


class SeparateProjections(nn.Module):
    """Q, K and V by three Linear layers: cnncalc's attention types read one packed projection."""

    def __init__(self, c=16, heads=2):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(c, c) for _ in range(4))
        self.heads = heads

    def forward(self, x):
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        q, k, v = (f(t).reshape(b, h * w, self.heads, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
        a = (q.matmul(k.transpose(-2, -1)) * 0.5).softmax(-1).matmul(v)
        return self.o(a.transpose(1, 2).reshape(b, h * w, c)).transpose(1, 2).reshape(b, c, h, w)


@pytest.mark.parametrize("module, shape, why", [
    (lambda: TransposedWindows(16, 2, 4, 0), (1, 16, 8, 8), "neither Swin's windows nor MaxViT's"),
    (lambda: FreeBias(), (1, 16, 8, 8), "not a relative-position table's"),
    (lambda: SeparateProjections(), (1, 16, 4, 4), "3 projections feed Q, K and V"),
])
def test_near_misses_are_refused_in_one_line(tmp_path, module, shape, why):
    path = tmp_path / "near.onnx"
    _export(module(), shape, path)
    r = run_cli(str(path))
    assert r.code == 2 and r.out == ""
    assert why in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r.err


# ------------------------------------------------------------------------------------------
# LayerNorm before opset 17 and GELU before opset 20, spread over ops by the exporter: read as one

class Permute(nn.Module):
    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


def _convnext_like():
    # channels-last stretch as ConvNeXt's: LayerNorm (γ, β), Linear, GELU, Linear, LayerNorm without
    # an affine part, LayerNorm without β; then a vector head with GELU
    return nn.Sequential(nn.Conv2d(3, 8, 3), Permute(0, 2, 3, 1), nn.LayerNorm(8, eps=1e-6), nn.Linear(8, 32),
                         nn.GELU(), nn.Linear(32, 8), nn.LayerNorm(8, elementwise_affine=False),
                         nn.LayerNorm(8, bias=False), Permute(0, 3, 1, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 6), nn.GELU(), nn.Linear(6, 3))


@pytest.mark.parametrize("opset", [13, 16, 17, 20])
def test_layernorm_and_gelu_of_every_opset_are_read(tmp_path, opset):
    model = _convnext_like().eval()
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 10, 10),), str(path), dynamo=False, opset_version=opset)
    d, got = _cnncalc(path)
    params, frozen, macs, out = _pytorch_figures(model, (1, 3, 10, 10))
    # by hand: conv 3·3·3·8 + 8 = 224; LayerNorms 16, 0, 8; Linear 8·32 + 32 = 288, 32·8 + 8 = 264,
    # 8·6 + 6 = 54, 6·3 + 3 = 21
    assert params == 224 + 16 + 8 + 288 + 264 + 54 + 21
    assert got == (params, frozen, macs) and d["layers"][-1]["output_shape"] == out[1:]
    types = [layer["type"] for layer in d["layers"]]
    assert types.count("layernorm") == 3 and types.count("gelu") == 2, types
    r = run_cli("import", str(path))
    assert "eps: 1.0e-06" in r.out and "affine: false" in r.out and "bias: false" in r.out


def test_gelu_tanh_spread_over_ops_is_refused_in_one_line(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.GELU(approximate="tanh")).eval()
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 2, 2),), str(path), dynamo=False, opset_version=17)
    r = run_cli(str(path))
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r.err


def test_weights_in_an_external_file(tmp_path):
    # PyTorch's dynamo exporter writes weights to FILE.onnx.data: cnncalc reads shapes only, and the few
    # small tensors a check needs (here the folded bias table) from that file, never from outside the folder
    import onnx

    shape = (1, 16, 8, 8)
    model = _export(WindowAttention(16, 2, 4, 2), shape, tmp_path / "inline.onnx")
    proto = onnx.load(str(tmp_path / "inline.onnx"))
    onnx.save_model(proto, str(tmp_path / "ext.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.onnx.data", size_threshold=0)
    _, got = _cnncalc(tmp_path / "ext.onnx")
    assert got == _pytorch_figures(model, shape)[:3]
    (tmp_path / "ext.onnx.data").unlink()
    r = run_cli(str(tmp_path / "ext.onnx"))
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r.err
    assert "Attention (a folded bias table whose external data file is absent" in r.err


class EinsumPartition(PartitionAttention):
    """MaxViT's attention with both products written as torchvision writes them, torch.einsum
    (exported as ONNX Einsum): the same figures as the MatMul form."""

    def forward(self, x):
        b, c, h, w = x.shape
        s = self.size
        g = x.reshape(b, c, h // s, s, w // s, s).permute(0, 2, 4, 3, 5, 1).reshape(b, -1, s * s, c)
        heads, d = self.heads, c // self.heads
        q, k, v = torch.chunk(self.to_qkv(g), 3, dim=-1)
        q, k, v = (t.reshape(b, -1, s * s, heads, d).permute(0, 1, 3, 2, 4) for t in (q, k, v))
        dot = torch.einsum("bghid,bghjd->bghij", q, k * c ** -0.5)
        bias = self.relative_position_bias_table[self.relative_position_index].view(s * s, s * s, -1)
        dot = (dot + bias.permute(2, 0, 1)).softmax(dim=-1)
        out = torch.einsum("bghij,bghjd->bghid", dot, v).permute(0, 1, 3, 2, 4).reshape(b, -1, s * s, c)
        out = self.merge(out).reshape(b, h // s, w // s, s, s, c).permute(0, 5, 1, 3, 2, 4)
        return out.reshape(b, c, h, w)


def test_attention_products_written_as_einsum(tmp_path):
    shape = (1, 16, 6, 6)
    model = _export(EinsumPartition(16, 2, 3, "block"), shape, tmp_path / "einsum.onnx")
    d, got = _cnncalc(tmp_path / "einsum.onnx")
    # by hand: QKV 16·48 + 48, merge 16·16 + 16, table (2·3 − 1)²·2 = 50; MACs: 36 positions · (16·48 + 16·16)
    # + Q·Kᵀ and ·V: 4 groups · 2 heads · 9 · 9 · 8 each
    assert got == (816 + 272 + 50, 0, 36 * (768 + 256) + 2 * 4 * 2 * 9 * 9 * 8)
    assert got == _pytorch_figures(model, shape)[:3]
    assert [layer["type"] for layer in d["layers"]][1:] == ["partition_attention"]
