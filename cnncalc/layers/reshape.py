"""Layers that rearrange values without arithmetic: channel split (several named outputs),
space-to-depth and its inverse pixel shuffle, and cropping.

``split`` is the one layer type with several outputs: ``split: 2`` on 14×14×116 makes two
named outputs of 14×14×58, read by later layers as ``from: NAME.0`` and ``from: NAME.1``
(ShuffleNet V2's ``x.chunk(2, dim=1)``); reading ``NAME`` alone reads the whole input again.
A split is a view: it adds no activations (``torch.split`` returns views).
"""

from __future__ import annotations

from fractions import Fraction

from ..core.errors import ShapeError
from .base import PADDING, POS_INT, Keras, Kind, Layer, Out, Param, ParamError, Torch, need_spatial, show, shape_text


MAX_PARTS = 4096  # named outputs of one split (each is a shape the analysis keeps)


def _sizes(v):
    if isinstance(v, (list, tuple)) and len(v) > MAX_PARTS:
        raise ParamError(f"must list at most {MAX_PARTS:,} parts; the number listed", len(v))
    if isinstance(v, (list, tuple)) and 1 <= len(v) and all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in v):
        return tuple(v)
    raise ParamError("must be a list of positive integers (the channels of each part)", v)


SIZES = Kind("sizes", _sizes, {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
             "a list of positive integers")


class Split(Layer):
    type = "split"
    aliases = ("chunk", "split_channels")
    doc = ("split the channels (last axis) into equal parts or parts of given sizes; part i is the "
           "named output NAME.i (from: split1.0); a view")
    imports = {"onnx": ("Split", "Slice")}
    primary = "parts"
    view = True
    params = {
        "parts": Param(POS_INT, None, "number of equal parts (must divide C)"),
        "sizes": Param(SIZES, None, "channels of each part instead, [c0, c1, …] summing to C"),
    }

    def configure(self, p):
        if (p["parts"] is None) == (p["sizes"] is None):
            raise ParamError("split takes either parts or sizes (exactly one)",
                             "neither" if p["parts"] is None else "both")
        if p["parts"] is not None and p["parts"] > MAX_PARTS:
            raise ParamError(f"a split makes at most {MAX_PARTS:,} parts", p["parts"])
        return p

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        c = shape[-1]
        if p["sizes"] is not None:
            sizes = p["sizes"]
            if sum(sizes) != c:
                raise ShapeError(f"the parts {show(list(sizes))} add up to {sum(sizes)}, not to the {c} channels",
                                 received=f"input {shape_text(shape)}")
        else:
            if c % p["parts"]:
                raise ShapeError(f"{p['parts']} parts do not divide the {c} channels",
                                 received=f"input {shape_text(shape)}")
            sizes = (c // p["parts"],) * p["parts"]
        return Out(shape, parts=tuple(shape[:-1] + (s,) for s in sizes), work={"sizes": sizes})

    def describe(self, p) -> str:
        if p.get("sizes") is not None:
            return "split " + "+".join(map(str, p["sizes"]))
        return f"split {p.get('parts')}"

    def explain(self, w) -> list:
        sizes = w.out.work["sizes"] if w.out is not None and w.out.work else ()
        return [("output_shape", f"{len(w.r.parts)} parts of " + " + ".join(map(str, sizes))
                 + f" = {w.r.output_shape[-1]} channels: "
                 + ", ".join(f"{w.r.name}.{i} {'×'.join(map(str, s))}" for i, s in enumerate(w.r.parts)))]

    def forward(self, p, ins, out_shape):
        return list(ins[0][1])  # reading NAME alone reads the whole input; the parts: forward_parts

    def forward_parts(self, p, ins, parts) -> list:
        """The data of each named output NAME.i: its channels at every position."""
        shape, x = ins[0]
        c = shape[-1]
        out, lo = [], 0
        for part in parts:
            k = part[-1]
            out.append([v for pos in range(0, len(x), c) for v in x[pos + lo:pos + lo + k]])
            lo += k
        return out

    def torch(self, p, ins) -> tuple:
        c = ins[0][-1]
        sizes = list(p["sizes"]) if p["sizes"] is not None else [c // p["parts"]] * p["parts"]
        return (Torch("split", (sizes, 1 if len(ins[0]) == 3 else -1)),)

    def keras(self, p, ins) -> tuple:
        c = ins[0][-1]
        sizes = list(p["sizes"]) if p["sizes"] is not None else [c // p["parts"]] * p["parts"]
        return (Keras("SplitChannels", (sizes,)),)  # the exporter's own layer: a list of outputs


class SpaceToDepth(Layer):
    type = "space_to_depth"
    aliases = ("pixel_unshuffle", "pixelunshuffle", "spacetodepth")
    doc = ("H×W×C → H/b × W/b × b²·C: each b×b block of positions becomes channels (Swin's patch "
           "merging; PyTorch PixelUnshuffle); no parameters")
    imports = {"onnx": ("SpaceToDepth",)}
    primary = "block"
    params = {"block": Param(POS_INT, 2, "block size b (must divide H and W)")}

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        need_spatial(self, shape)
        h, w, c = shape
        b = p["block"]
        if h % b or w % b:
            raise ShapeError(f"block {b} does not divide {h}×{w}", received=f"input {shape_text(shape)}")
        return Out((h // b, w // b, b * b * c), rf=(b, b, b, b))

    def describe(self, p) -> str:
        return f"space_to_depth {p.get('block', 2)}"

    def forward(self, p, ins, out_shape):  # PyTorch PixelUnshuffle: out[y, x, c·b² + i·b + j] = in[y·b + i, x·b + j, c]
        (h, w, c), x = ins[0]
        b = p["block"]
        oh, ow, oc = out_shape
        out = [0] * len(x)
        for y in range(h):
            for q in range(w):
                base = (y * w + q) * c
                o = ((y // b) * ow + q // b) * oc + (y % b) * b + q % b
                for ch in range(c):
                    out[o + ch * b * b] = x[base + ch]
        return out

    def torch(self, p, ins) -> tuple:
        return (Torch("PixelUnshuffle", (p["block"],)),)

    def keras(self, p, ins) -> tuple:
        return (Keras("SpaceToDepth", (p["block"],)),)  # the exporter's own layer, PyTorch's channel order


class PixelShuffle(Layer):
    type = "pixel_shuffle"
    aliases = ("depth_to_space", "pixelshuffle", "depthtospace")
    doc = "H×W×C → H·b × W·b × C/b²: channels become b×b blocks of positions (PyTorch PixelShuffle)"
    imports = {"onnx": ("DepthToSpace",)}
    primary = "block"
    params = {"block": Param(POS_INT, 2, "upscale factor b (b² must divide C)")}

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        need_spatial(self, shape)
        h, w, c = shape
        b = p["block"]
        if c % (b * b):
            raise ShapeError(f"b² = {b * b} does not divide the {c} channels", received=f"input {shape_text(shape)}")
        # each output position comes from one input position; the jump shrinks by b (exact Fraction)
        return Out((h * b, w * b, c // (b * b)), rf=(1, 1, Fraction(1, b), Fraction(1, b)))

    def describe(self, p) -> str:
        return f"pixel_shuffle {p.get('block', 2)}"

    def forward(self, p, ins, out_shape):  # PyTorch PixelShuffle: out[y·b + i, x·b + j, c] = in[y, x, c·b² + i·b + j]
        (h, w, c), x = ins[0]
        b = p["block"]
        oh, ow, oc = out_shape
        out = [0] * len(x)
        for y in range(oh):
            for q in range(ow):
                src = ((y // b) * w + q // b) * c + (y % b) * b + q % b
                o = (y * ow + q) * oc
                for ch in range(oc):
                    out[o + ch] = x[src + ch * b * b]
        return out

    def torch(self, p, ins) -> tuple:
        return (Torch("PixelShuffle", (p["block"],)),)

    def keras(self, p, ins) -> tuple:
        return (Keras("PixelShuffle", (p["block"],)),)  # the exporter's own layer, PyTorch's channel order


class Cropping(Layer):
    type = "cropping"
    aliases = ("cropping2d", "crop")
    doc = "remove rows and columns at the borders of H×W (Keras Cropping2D); no parameters"
    imports = {"keras": ("Cropping2D",)}
    primary = "crop"
    params = {"crop": Param(PADDING, doc="P, [P_h, P_w] or [top, bottom, left, right] rows/columns removed")}

    def configure(self, p):
        if isinstance(p["crop"], str):
            raise ParamError("must be an integer ≥ 0, [h, w] or [top, bottom, left, right]", p["crop"])
        return p

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        need_spatial(self, shape)
        h, w, c = shape
        t, b, left, right = p["crop"]
        if t + b >= h or left + right >= w:
            raise ShapeError(f"cropping {t}+{b} rows and {left}+{right} columns leaves nothing of {h}×{w}",
                             received=f"input {shape_text(shape)}")
        # a 1×1 window on the cropped grid: position 0 is input position t (padding −t, as zeropad's +t)
        return Out((h - t - b, w - left - right, c), rf=(1, 1, 1, 1, -t, -left))

    def forward(self, p, ins, out_shape):
        (h, w, c), x = ins[0]
        t, _b, left, _r = p["crop"]
        oh, ow, _ = out_shape
        out = []
        for y in range(t, t + oh):
            s0 = (y * w + left) * c
            out.extend(x[s0:s0 + ow * c])
        return out

    def torch(self, p, ins) -> tuple:
        return (Torch("crop", tuple(p["crop"])),)

    def keras(self, p, ins) -> tuple:
        t, b, left, right = p["crop"]
        return (Keras("Cropping2D", (((t, b), (left, right)),)),)


LAYERS = (Split, SpaceToDepth, PixelShuffle, Cropping)
