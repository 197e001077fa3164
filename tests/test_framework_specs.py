"""The shipped torchvision and Keras specs against their framework's own figures.

Expected figures are read from docs/reference/torchvision_figures.json and keras_figures.json,
written by the scripts beside them (torchvision 0.29.1 on the meta device, Keras 3 on the torch
backend; not run in CI): parameters, non-trainable values (torchvision: floating-point buffers,
the BN running statistics; Keras: non-trainable weights), MACs (FlopCounterMode / 2) and the
output shape. None of them comes from cnncalc.
"""

from __future__ import annotations

import json

import pytest

from cnncalc import analyze, load_spec

from .conftest import ROOT

REFERENCE = ROOT / "docs" / "reference"
TORCHVISION = json.loads((REFERENCE / "torchvision_figures.json").read_text())
KERAS = json.loads((REFERENCE / "keras_figures.json").read_text())

# spec name → entry of torchvision_figures.json
SHIPPED_TORCHVISION = ["mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf", "shufflenet_v2_x1_0", "convnext_tiny",
                       "vit_b_16", "efficientnet_v2_s", "deeplabv3_resnet50", "swin_t", "swin_v2_t",
                       "maxvit_t"]
SHIPPED_KERAS = ["keras_efficientnet_b0", "keras_convnext_tiny"]


def _shape(ref_output) -> tuple:
    """The JSON writes outputs as H, W, C (or N), as cnncalc does."""
    return tuple(ref_output)


@pytest.mark.parametrize("name", SHIPPED_TORCHVISION)
def test_torchvision_spec_equals_torchvision(name):
    ref = TORCHVISION[name]
    report = analyze(load_spec(name))
    t = report.totals
    assert tuple(report.input_shape) == tuple(ref["input"])
    assert t.params == ref["params"]
    assert t.non_trainable_params == ref["non_trainable"]
    assert t.macs == ref["macs"]
    assert report.output_shape == _shape(ref["output"])


@pytest.mark.parametrize("name", SHIPPED_KERAS)
def test_keras_spec_equals_keras(name):
    ref = KERAS[name]
    report = analyze(load_spec(name))
    t = report.totals
    assert tuple(report.input_shape) == tuple(ref["input"])
    assert t.params == ref["trainable"]
    assert t.non_trainable_params == ref["non_trainable"]
    assert t.params + t.non_trainable_params == ref["params"]
    assert report.output_shape == _shape(ref["output"])


def test_every_figure_file_entry_is_known():
    """A figure recorded for a model that has no spec yet is listed here, so that nothing is
    forgotten silently: the shipped ones are tested above, the others are still to come."""
    pending: set = set()
    existing = {"resnet50", "mobilenet_v2", "vgg16"}  # held to REFERENCE.md by test_modern_specs
    assert set(TORCHVISION) | set(KERAS) == set(SHIPPED_TORCHVISION) | set(SHIPPED_KERAS) | pending | existing
    assert not pending & (set(SHIPPED_TORCHVISION) | set(SHIPPED_KERAS))


# torchvision's per-module figures (leaf modules in registration order: their parameters and
# output shapes) against cnncalc's layers that have parameters, one for one. Networks whose
# parameters partly live outside leaf modules (ConvNeXt's layer scale, ViT's class token and
# position embedding, Swin's attention) are held to their totals only.
PER_LAYER = ["mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf", "shufflenet_v2_x1_0",
             "efficientnet_v2_s", "deeplabv3_resnet50"]


@pytest.mark.parametrize("name", PER_LAYER)
def test_torchvision_spec_layer_by_layer(name):
    ref = [(m["params"], tuple(m["output"])) for m in TORCHVISION[name]["layers"] if m["params"]]
    mine = [(r.params, tuple(r.output_shape)) for r in analyze(load_spec(name)).layers if r.params]
    assert len(mine) == len(ref)
    for i, (a, b) in enumerate(zip(mine, ref)):
        assert a == b, (i, TORCHVISION[name]["layers"] and [m["module"] for m in TORCHVISION[name]["layers"]
                                                            if m["params"]][i])


def test_keras_efficientnet_layer_by_layer():
    """Keras's layers with weights, in the model's order: trainable and non-trainable counts and
    output shapes, one for one with cnncalc's layers that have any."""
    ref = [(m["trainable"], m["non_trainable"], tuple(m["output"])) for m in KERAS["keras_efficientnet_b0"]["layers"]
           if m["trainable"] or m["non_trainable"]]
    mine = [(r.params, r.non_trainable_params, tuple(r.output_shape))
            for r in analyze(load_spec("keras_efficientnet_b0")).layers if r.params or r.non_trainable_params]
    assert mine == ref


@pytest.mark.parametrize("name, count", [("swin_t", 12), ("swin_v2_t", 12), ("maxvit_t", 22)])
def test_attention_layers_one_for_one(name, count):
    """torchvision's attention modules (docs/reference: each one's input, parameters, float buffers
    and MACs; MaxViT's partition type) against the spec's attention layers, in order."""
    ref = [(tuple(a["input"]), a.get("partition"), a["params"], a["non_trainable"], a["macs"])
           for a in TORCHVISION[name]["attention"]]
    report = analyze(load_spec(name))
    by_name = {r.name: r for r in report.layers}
    kind = {"block": "window", "grid": "grid"}  # torchvision calls MaxViT's block attention "window"
    mine = [(tuple(by_name[r.inputs[0]].output_shape),
             kind[r.spec.params["partition"]] if r.type == "partition_attention" else None,
             r.params, r.non_trainable_params, r.macs)
            for r in report.layers if r.type in ("window_attention", "partition_attention")]
    assert len(ref) == count and mine == ref
