"""Normalisation and scaling layers of transformers and modern CNNs: layer, group and instance
normalisation, ConvNeXt's layer scale, stochastic depth (an identity at inference), and
Keras's preprocessing layers ``rescaling`` and ``normalization``.

Every one of them acts on the last axis (the channels C of H×W×C, the features C of a token
sequence L×C) and counts no MACs: ``torch.utils.flop_counter`` counts none for them (it counts
matrix products and convolutions only); their element-wise work is not a multiply-accumulate.
"""

from __future__ import annotations

from typing import Optional

from ..core.errors import ShapeError
from ..core.formulas import elements
from ..core.model import Counts
from .base import BOOL, NUMBER, POS_INT, RATE, Keras, Layer, Out, Param, Torch, ew, need_spatial, normalised, shape_text
from .worked import n


def last_axis(shape, *constructs) -> tuple:
    """PyTorch constructs that act on the last axis (LayerNorm, Linear): an H×W×C tensor is
    N×C×H×W in PyTorch, so they are wrapped in a permute to N×H×W×C and back (the oracle's
    ``last_axis``); a vector or a token sequence needs no permute."""
    if len(shape) == 3:
        return (Torch("last_axis", tuple(constructs)),)
    return tuple(constructs)


class LayerNorm(Layer):
    type = "layernorm"
    aliases = ("layer_norm", "layernormalization", "layernorm2d")
    doc = ("layer normalisation over the last axis (the channels of H×W×C: ConvNeXt's LayerNorm2d; "
           "the features of tokens L×C: ViT, Swin); γ and β of C each")
    imports = {"onnx": ("LayerNormalization",), "keras": ("LayerNormalization",)}
    params = {
        "eps": Param(NUMBER, 1e-5, "ε (PyTorch 1e-5, Keras 1e-3; torchvision's ConvNeXt and ViT 1e-6)"),
        "affine": Param(BOOL, True, "learnable γ (weights) and β (biases) (PyTorch elementwise_affine)"),
        "bias": Param(BOOL, True, "learnable β (PyTorch bias=False: γ only)"),
        "center": Param(BOOL, True, "Keras: learnable β"),
        "scale": Param(BOOL, True, "Keras: learnable γ"),
    }

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        c = shape[-1]
        gamma = p["affine"] and p["scale"]
        beta = p["affine"] and p["bias"] and p["center"]
        return Out(shape, Counts(weights=c if gamma else 0, biases=c if beta else 0))

    def elementwise(self, ins, p, out) -> dict:
        return normalised(out)

    def explain(self, w) -> list:
        c, r = w.in_shape[-1], w.r
        lines = [("output_shape", f"normalised over the last axis of {'×'.join(map(str, w.in_shape))}: "
                                  f"C = {c} values at each position")]
        if r.weights or r.biases:
            terms = " + ".join(t for t, on in (("γ " + str(c), r.weights), ("β " + str(c), r.biases)) if on)
            lines.append(("params", f"params = {terms} = {n(r.weights + r.biases)}"))
        lines.append(("macs", "MACs = 0 (normalisation is element-wise, not multiply-accumulate)"))
        return lines

    def torch(self, p, ins) -> Optional[tuple]:
        gamma = p["affine"] and p["scale"]
        beta = p["affine"] and p["bias"] and p["center"]
        if beta and not gamma:
            return None  # PyTorch's LayerNorm has no β without γ
        return last_axis(ins[0], Torch("LayerNorm", (ins[0][-1],),
                                       {"eps": p["eps"], "elementwise_affine": gamma, "bias": beta}))

    def keras(self, p, ins) -> tuple:
        beta = p["affine"] and p["bias"] and p["center"]
        return (Keras("LayerNormalization", kwargs={"epsilon": p["eps"], "center": beta,
                                                    "scale": p["affine"] and p["scale"]}),)


class GroupNorm(Layer):
    type = "groupnorm"
    aliases = ("group_norm", "groupnormalization")
    doc = "group normalisation: C channels of H×W×C in g groups (PyTorch GroupNorm); γ and β of C each"
    imports = {"onnx": ("GroupNormalization",), "keras": ("GroupNormalization",)}
    primary = "groups"
    params = {
        "groups": Param(POS_INT, doc="groups g (must divide C)"),
        "eps": Param(NUMBER, 1e-5, "ε"),
        "affine": Param(BOOL, True, "learnable γ (weights) and β (biases)"),
    }

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        need_spatial(self, shape)
        c = shape[-1]
        if c % p["groups"]:
            raise ShapeError(f"groups={p['groups']} does not divide the {c} channels",
                             received=f"input {shape_text(shape)}")
        if (c // p["groups"]) * shape[0] * shape[1] == 1:
            raise ShapeError("each group holds one value (C/groups·H·W = 1): nothing to normalise "
                             "(PyTorch refuses it)", received=f"input {shape_text(shape)}, groups {p['groups']}")
        return Out(shape, Counts(weights=c if p["affine"] else 0, biases=c if p["affine"] else 0))

    def elementwise(self, ins, p, out) -> dict:
        return normalised(out)

    def describe(self, p) -> str:
        return f"groupnorm g{p.get('groups')}"

    def torch(self, p, ins) -> tuple:
        return (Torch("GroupNorm", (p["groups"], ins[0][-1]), {"eps": p["eps"], "affine": p["affine"]}),)

    def keras(self, p, ins) -> tuple:
        return (Keras("GroupNormalization", kwargs={"groups": p["groups"], "epsilon": p["eps"], "center": p["affine"],
                                                    "scale": p["affine"]}),)


class InstanceNorm(Layer):
    type = "instancenorm"
    aliases = ("instance_norm", "instancenorm2d")
    doc = ("instance normalisation over H×W of each channel (PyTorch InstanceNorm2d: no γ, β or "
           "running statistics unless asked)")
    imports = {"onnx": ("InstanceNormalization",)}
    params = {
        "affine": Param(BOOL, False, "learnable γ (weights) and β (biases) of C each (PyTorch default: off)"),
        "track_running_stats": Param(BOOL, False, "running mean and variance, 2·C non-trainable (default: off)"),
        "eps": Param(NUMBER, 1e-5, "ε"),
        "momentum": Param(NUMBER, 0.1, "running-average momentum"),
    }

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        need_spatial(self, shape)
        c = shape[-1]
        if shape[0] * shape[1] == 1 and not p["track_running_stats"]:
            raise ShapeError("H×W is 1×1: one value per channel, nothing to normalise (PyTorch refuses it "
                             "unless it keeps running statistics)", received=f"input {shape_text(shape)}")
        return Out(shape, Counts(weights=c if p["affine"] else 0, biases=c if p["affine"] else 0,
                                 non_trainable=2 * c if p["track_running_stats"] else 0))

    def elementwise(self, ins, p, out) -> dict:
        return normalised(out)

    def torch(self, p, ins) -> tuple:
        return (Torch("InstanceNorm2d", (ins[0][-1],),
                      {"affine": p["affine"], "track_running_stats": p["track_running_stats"]}),)

    def keras(self, p, ins):
        if p["track_running_stats"]:
            return None  # Keras has no instance norm with running statistics
        # a group per channel is instance normalisation
        return (Keras("GroupNormalization", kwargs={"groups": ins[0][-1], "epsilon": p["eps"], "center": p["affine"],
                                                    "scale": p["affine"]}),)


class LayerScale(Layer):
    type = "layer_scale"
    aliases = ("layerscale",)
    doc = "a learnable scale per channel, C weights (ConvNeXt's γ, CaiT's LayerScale)"
    params = {"init": Param(NUMBER, 1e-6, "initial value of the scales (no effect on the counts)")}

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        return Out(shape, Counts(weights=shape[-1]))

    def elementwise(self, ins, p, out) -> dict:
        return ew(merge=elements(out.shape))  # one product per element

    def explain(self, w) -> list:
        return [("params", f"params = C = {n(w.r.weights)} scales (one per channel)"),
                ("macs", "MACs = 0 (an element-wise product)")]

    def torch(self, p, ins) -> tuple:
        return (Torch("layer_scale", (ins[0][-1], len(ins[0])), {"init": p["init"]}),)

    def keras(self, p, ins) -> tuple:
        return (Keras("LayerScale", (p["init"], ins[0][-1])),)  # the exporter's own layer (Keras has none)


class StochasticDepth(Layer):
    type = "stochastic_depth"
    aliases = ("drop_path", "droppath", "stochasticdepth")
    doc = "stochastic depth (drop path): an identity at inference; counts nothing, adds no activations"
    primary = "rate"
    view = True
    params = {"rate": Param(RATE, 0.0, "probability of dropping the branch while training, 0 ≤ rate < 1")}

    def infer(self, ins, p) -> Out:
        return Out(tuple(ins[0]))

    def torch(self, p, ins) -> tuple:
        return (Torch("Identity"),)

    def keras(self, p, ins) -> tuple:
        return (Keras("Identity"),)


class Rescaling(Layer):
    type = "rescaling"
    aliases = ()
    doc = "Keras Rescaling: x·scale + offset, element-wise; no parameters"
    imports = {"keras": ("Rescaling",)}
    primary = "scale"
    params = {
        "scale": Param(NUMBER, 1.0, "factor (1/255 maps bytes to [0, 1])"),
        "offset": Param(NUMBER, 0.0, "added after scaling"),
    }

    def infer(self, ins, p) -> Out:
        return Out(tuple(ins[0]))

    def torch(self, p, ins) -> tuple:
        return (Torch("rescale", (p["scale"], p["offset"])),)  # x·scale + offset: no module, no parameters

    def keras(self, p, ins) -> tuple:
        return (Keras("Rescaling", (p["scale"],), {"offset": p["offset"]}),)


class Normalization(Layer):
    type = "normalization"
    aliases = ()
    doc = ("Keras Normalization: (x − mean)/√variance per channel; adapted (mean, variance and "
           "count stored: 2·C + 1 non-trainable) or given as constants (nothing stored)")
    imports = {"keras": ("Normalization",)}
    params = {
        "adapted": Param(BOOL, True, "statistics learned by adapt() (stored) rather than given as mean=, variance="),
        "invert": Param(BOOL, False, "Keras invert=True: x·√variance + mean (no effect on the counts)"),
    }

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        return Out(shape, Counts(non_trainable=2 * shape[-1] + 1 if p["adapted"] else 0))

    def elementwise(self, ins, p, out) -> dict:
        return normalised(out)

    def explain(self, w) -> list:
        if w.r.non_trainable_params:
            c = w.in_shape[-1]
            return [("params", f"non-trainable = mean {c} + variance {c} + count 1 = "
                               f"{n(w.r.non_trainable_params)} (adapted statistics)"),
                    ("macs", "MACs = 0 (element-wise)")]
        return [("params", "params = 0 (mean and variance given as constants)"),
                ("macs", "MACs = 0 (element-wise)")]

    def torch(self, p, ins) -> tuple:
        return (Torch("normalization", (ins[0][-1], len(ins[0]), p["adapted"])),)

    def keras(self, p, ins) -> tuple:
        kw = {"invert": True} if p["invert"] else {}
        if p["adapted"]:  # mean, variance and count are stored (set by adapt())
            return (Keras("Normalization", kwargs={"axis": -1, **kw}),)
        return (Keras("Normalization", kwargs={"axis": -1, "mean": 0.0, "variance": 1.0, **kw}),)  # constants


LAYERS = (LayerNorm, GroupNorm, InstanceNorm, LayerScale, StochasticDepth, Rescaling, Normalization)
