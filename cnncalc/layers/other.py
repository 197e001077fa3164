"""Dense, normalisation, views, padding, merges and AlphaGo's position bias."""

from __future__ import annotations

from .. import formulas as fm
from ..errors import ShapeError
from ..model import Counts
from .activations import FUSABLE
from .base import (BOOL, NUMBER, PADDING, POS_INT, SHAPE, Layer, Out, Param, ParamError, Warn, choice,
                   need_spatial, need_vector, shape_text)


class Dense(Layer):
    type = "dense"
    aliases = ("fc", "linear", "fully_connected")
    doc = "fully connected layer on a vector (PyTorch Linear, Keras Dense)"
    primary = "units"
    params = {
        "units": Param(POS_INT, doc="number of outputs N_out"),
        "bias": Param(BOOL, True, "learnable bias per output"),
        "activation": Param(choice(*FUSABLE), None, "activation fused into this layer (adds no row)"),
    }

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_vector(self, shape)
        n_in, n_out = shape[0], p["units"]
        counts = Counts(weights=fm.dense_weights(n_in, n_out), biases=n_out if p["bias"] else 0,
                        macs=fm.dense_macs(n_in, n_out))
        return Out((n_out,), counts, [], ("global",))


class BatchNorm(Layer):
    type = "batchnorm"
    aliases = ("bn", "batchnorm2d", "batchnorm1d", "batch_norm")
    doc = "batch normalisation over the channel (last) axis"
    params = {
        "affine": Param(BOOL, True, "learnable γ (counted as weights) and β (as biases)"),
        "track_running_stats": Param(BOOL, True, "running mean and variance (non-trainable)"),
        "eps": Param(NUMBER, 1e-5, "ε"),
        "momentum": Param(NUMBER, 0.1, "running-average momentum"),
    }

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        c = shape[-1]
        return Out(shape, Counts(weights=c if p["affine"] else 0, biases=c if p["affine"] else 0,
                                 non_trainable=2 * c if p["track_running_stats"] else 0))


class LRN(Layer):
    type = "lrn"
    aliases = ("local_response_norm",)
    doc = "local response normalisation across channels (AlexNet); no parameters"
    primary = "size"
    params = {
        "size": Param(POS_INT, 5, "neighbouring channels n"),
        "alpha": Param(NUMBER, 1e-4, "α"),
        "beta": Param(NUMBER, 0.75, "β"),
        "k": Param(NUMBER, 1.0, "k (AlexNet paper: 2; PyTorch default: 1)"),
    }

    def infer(self, ins, p) -> Out:
        need_spatial(self, ins[0])
        return Out(tuple(ins[0]))


class Dropout(Layer):
    type = "dropout"
    doc = "dropout: a view at inference, adds no activations"
    primary = "rate"
    view = True
    params = {"rate": Param(NUMBER, 0.5, "probability of zeroing, 0 ≤ rate < 1")}

    def configure(self, p):
        if not 0 <= p["rate"] < 1:
            raise ParamError("rate must be at least 0 and less than 1", p["rate"])
        return p

    def infer(self, ins, p) -> Out:
        return Out(tuple(ins[0]))


class Flatten(Layer):
    type = "flatten"
    doc = "H×W×C → a vector of H·W·C (a view: adds no activations)"
    view = True
    params = {}

    def infer(self, ins, p) -> Out:
        return Out((fm.elements(ins[0]),))


class Reshape(Layer):
    type = "reshape"
    aliases = ("view",)
    doc = "re-view the values in a new shape with the same number of elements"
    primary = "shape"
    view = True
    params = {"shape": Param(SHAPE, doc="new shape, H×W×C order, or [N]")}

    def infer(self, ins, p) -> Out:
        new = p["shape"]
        if fm.elements(new) != fm.elements(ins[0]):
            raise ShapeError(f"cannot reshape {fm.elements(ins[0])} values into {shape_text(new)} "
                             f"({fm.elements(new)} values)", received=shape_text(ins[0]))
        if len(new) == 2:
            raise ShapeError("a shape is H×W×C or a vector [N]", received=shape_text(new))
        return Out(tuple(new))


class ZeroPad(Layer):
    type = "zeropad"
    aliases = ("zeropad2d", "zeropadding2d", "pad")
    doc = "pad H and W with zeros"
    primary = "padding"
    params = {"padding": Param(PADDING, doc="P, [P_h, P_w] or [top, bottom, left, right]")}

    def configure(self, p):
        if isinstance(p["padding"], str):
            raise ParamError("must be an integer ≥ 0, [h, w] or [top, bottom, left, right]", p["padding"])
        return p

    def infer(self, ins, p) -> Out:
        need_spatial(self, ins[0])
        h, w, c = ins[0]
        t, b, left, right = p["padding"]
        return Out((h + t + b, w + left + right, c))


class Add(Layer):
    type = "add"
    doc = "elementwise sum of two or more inputs of the same shape (residual connections)"
    min_inputs, max_inputs = 2, None
    params = {}

    def infer(self, ins, p) -> Out:
        first = tuple(ins[0])
        for other in ins[1:]:
            if tuple(other) != first:
                raise ShapeError("add needs inputs of the same shape",
                                 received=", ".join(shape_text(s) for s in ins))
        return Out(first)


class Concat(Layer):
    type = "concat"
    aliases = ("concatenate",)
    doc = "join inputs along the channel (last) axis; H and W must match"
    min_inputs, max_inputs = 2, None
    params = {}

    def infer(self, ins, p) -> Out:
        ranks = {len(s) for s in ins}
        if len(ranks) != 1 or {tuple(s[:-1]) for s in ins}.__len__() != 1:
            raise ShapeError("concat needs inputs that agree on every axis but the channels",
                             received=", ".join(shape_text(s) for s in ins))
        first = tuple(ins[0])
        return Out(first[:-1] + (sum(s[-1] for s in ins),))


class PositionBias(Layer):
    type = "position_bias"
    doc = "a separate learnable bias for every output position (AlphaGo's policy network output)"
    params = {}

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        return Out(shape, Counts(biases=fm.elements(shape)))


LAYERS = (Dense, BatchNorm, LRN, Dropout, Flatten, Reshape, ZeroPad, Add, Concat, PositionBias)

__all__ = ["LAYERS", "Warn"]
