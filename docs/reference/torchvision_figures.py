"""Reference figures for cnncalc's shipped specs, from torchvision itself (not run in CI).

Run in a separate environment that has torchvision (it does not import beside torch 2.13):
    python3 -m venv tv && tv/bin/pip install torch==2.14.1 torchvision==0.29.1
    tv/bin/python docs/reference/torchvision_figures.py > docs/reference/torchvision_figures.json

Models are built on the ``meta`` device (no weights are allocated, so even the largest take
seconds; on the CPU, torch 2.14's FlopCounterMode misses the attention matmuls that the meta
device counts). For each model: params (``parameters()``), non-trainable (buffers, without
integer bookkeeping buffers such as BatchNorm's ``num_batches_tracked``, counted apart), MACs (``FlopCounterMode`` FLOPs / 2:
one multiply-accumulate is two FLOPs there), the output shape in H×W×C (or N), and per leaf
module its output shape, params and MACs, in execution order.
"""

from __future__ import annotations

import json
import sys

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

MODELS = {
    # name in cnncalc: (torchvision builder, input H, W)
    "convnext_tiny": ("convnext_tiny", 224),
    "swin_t": ("swin_t", 224),
    "vit_b_16": ("vit_b_16", 224),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0", 224),
    "efficientnet_b0": ("efficientnet_b0", 224),
    "efficientnet_v2_s": ("efficientnet_v2_s", 384),
    "mobilenet_v3_small": ("mobilenet_v3_small", 224),
    "regnet_y_400mf": ("regnet_y_400mf", 224),
    "deeplabv3_resnet50": ("segmentation.deeplabv3_resnet50", 520),
    "resnet50": ("resnet50", 224),
    "mobilenet_v2": ("mobilenet_v2", 224),
    "vgg16": ("vgg16", 224),
    "swin_v2_t": ("swin_v2_t", 256),
    "maxvit_t": ("maxvit_t", 224),
}

# attention modules recorded one by one ("attention": input H×W×C, params, float buffers, MACs):
# Swin's (V1, V2) window attention as a whole; for MaxViT's PartitionAttentionLayer its
# attention proper (attn_layer[1], RelativePositionalMultiHeadAttention: no LayerNorm, MLP or
# residual), with the partition type ("window" is MaxViT's block attention)
ATTENTION = ("ShiftedWindowAttention", "ShiftedWindowAttentionV2", "PartitionAttentionLayer")


def _builder(path: str):
    obj = torchvision.models
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _hwc(shape) -> list:
    s = list(shape)[1:]
    return [s[1], s[2], s[0]] if len(s) == 3 else s


def _out(o):
    if isinstance(o, dict):  # segmentation models return {"out": …, "aux": …}
        o = o["out"]
    if isinstance(o, (tuple, list)):
        o = o[0]
    return o


def figures(name: str, path: str, size: int) -> dict:
    kwargs = {"weights": None}
    if name == "deeplabv3_resnet50":
        kwargs.update(weights_backbone=None, aux_loss=False)
    try:
        with torch.device("meta"):
            model = _builder(path)(**kwargs).eval()
    except NotImplementedError:  # RegNet computes its widths with tensors: build on the CPU, then move
        model = _builder(path)(**kwargs).eval().to("meta")
    x = torch.empty(1, 3, size, size, device="meta")
    params = sum(p.numel() for p in model.parameters())
    # running statistics are non-trainable parameters; integer buffers (BatchNorm's
    # num_batches_tracked, Swin's relative_position_index) are bookkeeping, listed apart
    nontrain = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    index_buffers = sum(b.numel() for b in model.buffers() if not b.is_floating_point())
    layers = []
    hooks = []
    for mname, mod in model.named_modules():
        if len(list(mod.children())) == 0:
            def hook(m, inp, out, mname=mname):
                o = _out(out)
                layers.append({"module": mname, "type": type(m).__name__,
                               "output": _hwc(o.shape) if hasattr(o, "shape") else None,
                               "params": sum(p.numel() for p in m.parameters(recurse=False))})
            hooks.append(mod.register_forward_hook(hook))
    attention = []
    for mname, mod in model.named_modules():
        if type(mod).__name__ in ATTENTION:
            def att_hook(m, inp, out, mname=mname):
                x = inp[0]
                if type(m).__name__ == "PartitionAttentionLayer":
                    inner, key = m.attn_layer[1], f"{mname}.attn_layer.1"
                    entry = {"input": _hwc(x.shape), "partition": m.partition_type}
                else:  # Swin's attention takes N×H×W×C
                    inner, key = m, mname
                    entry = {"input": list(x.shape[1:])}
                entry.update(module=mname, type=type(m).__name__, counted=key,
                             params=sum(p.numel() for p in inner.parameters()),
                             non_trainable=sum(b.numel() for b in inner.buffers() if b.is_floating_point()))
                attention.append(entry)
            hooks.append(mod.register_forward_hook(att_hook))
    with FlopCounterMode(display=False) as fc:
        with torch.no_grad():
            out = _out(model(x))
    for h in hooks:
        h.remove()
    flops = fc.get_total_flops()
    per_module = fc.get_flop_counts()
    assert flops % 2 == 0
    root = type(model).__name__
    for entry in attention:
        entry["macs"] = sum(per_module[f"{root}.{entry.pop('counted')}"].values()) // 2
    return {"torchvision": torchvision.__version__, "torch": torch.__version__, "builder": path,
            "input": [size, size, 3], "output": _hwc(out.shape), "params": params,
            "non_trainable": nontrain, "integer_buffers": index_buffers, "macs": flops // 2,
            "macs_by_module": {k: sum(v.values()) // 2 for k, v in per_module.items() if k != "Global"},
            "attention": attention, "layers": layers}


def main(argv) -> int:
    names = argv[1:] or list(MODELS)
    out = sys.stdout
    out.write("{\n")
    for i, n in enumerate(names):  # one model a block, one layer a line: small, readable diffs
        fig = figures(n, *MODELS[n])
        layers, by_module, attention = fig.pop("layers"), fig.pop("macs_by_module"), fig.pop("attention")
        out.write(f" {json.dumps(n)}: {{\n")
        for k, v in fig.items():
            out.write(f"  {json.dumps(k)}: {json.dumps(v)},\n")
        out.write('  "macs_by_module": {\n' + ",\n".join(f"   {json.dumps(k)}: {v}" for k, v in by_module.items())
                  + "\n  },\n")
        if attention:
            out.write('  "attention": [\n' + ",\n".join("   " + json.dumps(x) for x in attention) + "\n  ],\n")
        out.write('  "layers": [\n' + ",\n".join("   " + json.dumps(x) for x in layers) + "\n  ]\n")
        out.write(" }" + ("," if i < len(names) - 1 else "") + "\n")
    out.write("}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
