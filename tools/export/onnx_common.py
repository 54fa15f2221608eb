"""The one ONNX shape every recipe writes, and the check that the file computes what torch computes.

A policy graph for `rl-paper-trader register`: one float32 input named `input` shaped
[batch, observation], one float32 output named `action` shaped [batch, actions], the batch
dimension dynamic, the action the deterministic one (no sampling in the graph).
"""
from __future__ import annotations

import inspect

import torch

INPUT_NAME = "input"
OUTPUT_NAME = "action"
DEFAULT_OPSET = 17  # torch 1.13 (Debian 12's python3-torch) writes up to 17; onnxruntime reads it


def export_module(module: torch.nn.Module, observation_size: int, out: str, opset: int = DEFAULT_OPSET) -> torch.Tensor:
    """Writes `module` (observation batch -> deterministic action batch) to `out`.

    Returns the module's own action for a probe batch, after checking its shape, so a caller can
    compare it with the ONNX file if onnxruntime is at hand.
    """
    module = module.eval().cpu()
    probe = _probe_batch(observation_size)
    with torch.no_grad():
        action = module(probe)
    if action.dim() != 2 or action.shape[0] != probe.shape[0]:
        raise ValueError(f"the policy maps a batch {tuple(probe.shape)} to {tuple(action.shape)}, expected (batch, actions)")
    options = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        options["dynamo"] = False  # torch >= 2.9 defaults to the dynamo exporter (onnxscript); this graph needs neither
    torch.onnx.export(
        module,
        (probe,),
        out,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=opset,
        do_constant_folding=True,
        **options,
    )
    return action


def observation_size_of(space_shape) -> int:
    """The flat observation width from a gym Box shape; FinRL's observations are vectors."""
    shape = tuple(int(d) for d in space_shape)
    if len(shape) != 1:
        raise ValueError(f"the observation space is shaped {shape}: only flat vectors (FinRL's envs) are supported")
    return shape[0]


def _probe_batch(size: int) -> torch.Tensor:
    """Two distinct observations: a batch of one would let a broadcasting bug pass unseen."""
    generator = torch.Generator().manual_seed(0)
    return torch.randn(2, size, generator=generator)
