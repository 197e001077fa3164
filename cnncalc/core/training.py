"""Memory to train: parameters + gradients + optimizer state + stored activations.

The one home of the training-memory estimate (``--train sgd|momentum|adam``). Assumptions,
also in README: every value is stored in the ``--dtype`` in force (no mixed precision, no
float32 master copy); one gradient per learnable parameter; optimizer state per learnable
parameter — SGD none, SGD with momentum one velocity, Adam two moments; the stored activations
(kept from the forward pass for the backward pass) are the forward activations counted by
``activations`` (the input and every layer's output) × batch. Activation gradients (transient
during backward; the table's "with activation gradients" figure doubles the activations for
them), framework workspaces and allocator overhead are not counted.
"""

from __future__ import annotations

from .model import Conventions, Totals, TrainingMemory

# optimizer → state values kept per learnable parameter
OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2}


def training_memory(totals: Totals, conventions: Conventions, optimizer: str) -> TrainingMemory:
    """The training-memory breakdown for the totals of a report.

    >>> from cnncalc.core.model import Conventions, Totals
    >>> t = Totals(params=10, weights=8, biases=2, non_trainable_params=4, macs=0, flops=0, activations=100,
    ...            param_bytes=56, activation_bytes=400, activation_bytes_fwd_bwd=800)
    >>> m = training_memory(t, Conventions(), "adam")
    >>> m.param_bytes, m.gradient_bytes, m.optimizer_state_bytes, m.activation_bytes, m.total
    (56, 40, 80, 400, 576)
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(optimizer)
    bpv = conventions.bytes_per_value
    learnable = totals.weights + totals.biases  # physical storage: biases count whatever --weights-only says
    return TrainingMemory(
        optimizer=optimizer,
        param_bytes=totals.param_bytes,
        gradient_bytes=learnable * bpv,
        optimizer_state_bytes=OPTIMIZERS[optimizer] * learnable * bpv,
        activation_bytes=totals.activation_bytes,
    )
