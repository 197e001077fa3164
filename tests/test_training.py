"""--train: params + gradients + optimizer state + stored activations (figures by hand)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

# VGG16 (REFERENCE.md): 138,357,544 params, no running stats; 15,237,608 activations.
P, A = 138_357_544, 15_237_608


@pytest.mark.parametrize("opt, states", [("sgd", 0), ("momentum", 1), ("adam", 2)])
@pytest.mark.parametrize("dtype, bpv, batch", [("float32", 4, 1), ("float16", 2, 8)])
def test_vgg16_training_bytes(opt, states, dtype, bpv, batch):
    r = run_cli("vgg16", "-f", "json", "--train", opt, "--dtype", dtype, "--batch", str(batch))
    assert r.code == 0, r.err
    t = json.loads(r.out)["totals"]
    parts = t["training"]
    assert parts == {"optimizer": opt, "param_bytes": P * bpv, "gradient_bytes": P * bpv,
                     "optimizer_state_bytes": states * P * bpv, "activation_bytes": A * bpv * batch}
    assert t["training_bytes"] == (2 + states) * P * bpv + A * bpv * batch


def test_running_statistics_are_stored_but_not_trained(tmp_path):
    # conv 3→4 3×3 no bias: 108 weights; BN(4): 8 learnable + 8 running stats. Input 4×4×3 = 48,
    # conv out 2×2×4 = 16, bn 16 → 80 activations. adam, float32:
    # params (108 + 8 + 8)·4 = 496; grads 116·4 = 464; states 2·464 = 928; activations 320 → 2,208
    p = tmp_path / "bn.yaml"
    p.write_text("input: [4, 4, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3, bias: false}\n  - batchnorm\n")
    t = json.loads(run_cli(str(p), "-f", "json", "--train", "adam").out)["totals"]
    assert t["training"]["param_bytes"] == 496
    assert t["training"]["gradient_bytes"] == 464
    assert t["training"]["optimizer_state_bytes"] == 928
    assert t["training"]["activation_bytes"] == 320
    assert t["training_bytes"] == 2208


def test_without_train_there_is_no_training_figure():
    t = json.loads(run_cli("vgg16", "-f", "json").out)["totals"]
    assert "training_bytes" not in t and "training" not in t


def test_table_shows_the_breakdown():
    out = run_cli("vgg16", "--train", "adam").out
    # 553,430,176 B params and gradients; states 1,106,860,352; activations 60,950,432; total 2,274,671,136
    assert "training     2.27 GB with adam = params 553.43 MB + gradients 553.43 MB" in out
    assert "+ optimizer state 1.11 GB + stored activations 60.95 MB" in out
    assert all(len(line) <= 100 for line in out.splitlines())
