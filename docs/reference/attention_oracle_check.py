"""Checks the hand-written PyTorch reference modules of tests/torch_oracle.py (Swin V1 and V2
window attention, MaxViT block and grid attention) against torchvision's own modules, numerically:
same weights, random input, outputs equal to float32 rounding. Not run in CI (torchvision does
not import beside torch 2.13):

    /work/tvvenv/bin/python docs/reference/attention_oracle_check.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torchvision.models.maxvit import PartitionAttentionLayer
from torchvision.models.swin_transformer import ShiftedWindowAttention, ShiftedWindowAttentionV2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.torch_oracle import PartitionAttention, WindowAttention, WindowAttentionV2  # noqa: E402


def swin_v2(c, heads, window, shift, h, w) -> float:
    tv = ShiftedWindowAttentionV2(c, [window, window], [shift, shift], heads).eval()
    with torch.no_grad():
        tv.qkv.bias.normal_()  # a K bias that the forward must zero
        tv.logit_scale.normal_()
    mine = WindowAttentionV2(c, heads, window, shift).eval()
    missing = mine.load_state_dict(tv.state_dict(), strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys
    x = torch.randn(2, h, w, c)
    with torch.no_grad():
        # torchvision drops the shift when the window covers the padded map; so does Swin's model
        want = tv(x)
        got = mine(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    return float((want - got).abs().max())


def swin_v1(c, heads, window, shift, h, w) -> float:
    tv = ShiftedWindowAttention(c, [window, window], [shift, shift], heads).eval()
    mine = WindowAttention(c, heads, window, shift).eval()
    missing = mine.load_state_dict(tv.state_dict(), strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys
    x = torch.randn(2, h, w, c)
    with torch.no_grad():
        want = tv(x)
        got = mine(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    return float((want - got).abs().max())


def maxvit(c, head_dim, size, partition, hw) -> float:
    tv = PartitionAttentionLayer(c, head_dim, size, partition, (hw, hw), 4, torch.nn.GELU, torch.nn.LayerNorm,
                                 0.0, 0.0, 0.0).eval()
    inner = tv.attn_layer[1]
    with torch.no_grad():
        inner.relative_position_bias_table.normal_()
    mine = PartitionAttention(c, c // head_dim, size, "block" if partition == "window" else "grid").eval()
    mine.to_qkv.load_state_dict(inner.to_qkv.state_dict())
    mine.merge.load_state_dict(inner.merge.state_dict())
    with torch.no_grad():
        mine.relative_position_bias_table.copy_(inner.relative_position_bias_table)
    x = torch.randn(2, c, hw, hw)
    with torch.no_grad():
        g = tv.partition_swap(tv.partition_op(x, tv.p))
        gh = hw // tv.p
        want = tv.departition_op(tv.departition_swap(inner(g)), tv.p, gh, gh)
        got = mine(x)
    return float((want - got).abs().max())


def main() -> int:
    worst = 0.0
    for case in [(96, 3, 8, 0, 64, 64), (96, 3, 8, 4, 16, 16), (12, 2, 4, 2, 9, 7), (8, 1, 3, 1, 5, 5),
                 (768, 24, 8, 4, 8, 8)]:
        d = swin_v2(*case)
        print("swin_v2", case, d)
        worst = max(worst, d)
    for case in [(96, 3, 7, 0, 56, 56), (96, 3, 7, 3, 14, 14), (12, 2, 4, 2, 9, 7), (8, 1, 3, 1, 5, 5),
                 (768, 24, 7, 3, 7, 7)]:
        d = swin_v1(*case)
        print("swin_v1", case, d)
        worst = max(worst, d)
    for case in [(64, 32, 7, "window", 56), (64, 32, 7, "grid", 56), (24, 8, 3, "grid", 12), (24, 8, 3, "window", 12),
                 (512, 32, 7, "grid", 7)]:
        d = maxvit(*case)
        print("maxvit", case, d)
        worst = max(worst, d)
    print("largest difference", worst)
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
