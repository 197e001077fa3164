"""The MAC figures other tools give for torchvision models: the source of docs/reference/peers.json.

Not run in CI (it needs torchvision and the peers). Run it in a venv of its own with the
versions peers.json records:

    python -m venv /tmp/peervenv
    /tmp/peervenv/bin/pip install torch==2.14.1 torchvision==0.29.1 torchinfo==1.8.0 \
        fvcore==0.1.5.post20221221 ptflops==0.7.5
    /tmp/peervenv/bin/python docs/reference/peers.py > docs/reference/peers.json

Every model is built with random weights (``weights=None``) on the CPU in eval mode and run on one
1×3×224×224 input; the figures do not depend on the weights. Each peer is called with its
defaults, as its README shows:

- torchinfo: ``summary(model, input_size=(1, 3, 224, 224)).total_mult_adds``
- fvcore: ``FlopCountAnalysis(model, x).total()`` (and ``by_operator()``)
- ptflops: ``get_model_complexity_info(model, (3, 224, 224), backend=...)`` for the default
  ``pytorch`` backend and the ``aten`` backend (its MACs)
- torch.utils.flop_counter: ``FlopCounterMode().get_total_flops()`` (FLOPs = 2 × MACs)
"""

import io
import json
import sys
import contextlib
from importlib.metadata import version

import torch
import torchvision

MODELS = ("resnet50", "vgg16", "resnet152")


def peers(name: str) -> dict:
    from torchinfo import summary
    from fvcore.nn import FlopCountAnalysis
    from ptflops import get_model_complexity_info
    from torch.utils.flop_counter import FlopCounterMode

    model = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    out = {}
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        s = summary(model, input_size=(1, 3, 224, 224), verbose=0)
        out["torchinfo"] = int(s.total_mult_adds)
        fa = FlopCountAnalysis(model, x)
        fa.unsupported_ops_warnings(False)
        fa.uncalled_modules_warnings(False)
        out["fvcore"] = int(fa.total())
        out["fvcore_by_operator"] = {k: int(v) for k, v in sorted(fa.by_operator().items())}
        macs, _ = get_model_complexity_info(model, (3, 224, 224), as_strings=False, backend="pytorch",
                                            print_per_layer_stat=False, verbose=False)
        out["ptflops_pytorch"] = int(macs)
        macs, _ = get_model_complexity_info(model, (3, 224, 224), as_strings=False, backend="aten",
                                            print_per_layer_stat=False, verbose=False)
        out["ptflops_aten"] = int(macs)
        with FlopCounterMode(display=False) as fc:
            model(x)
        out["flop_counter_flops"] = int(fc.get_total_flops())
    out["params"] = sum(p.numel() for p in model.parameters())
    return out


def main() -> None:
    doc = {
        "_about": "MACs of torchvision models as each peer counts them (docs/reference/peers.py; CPU, "
                  "1x3x224x224, eval mode). flop_counter_flops is torch.utils.flop_counter's FLOPs (2 per MAC).",
        "versions": {p: version(p) for p in ("torch", "torchvision", "torchinfo", "fvcore", "ptflops")},
        "models": {name: peers(name) for name in MODELS},
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
