"""ElegantRL actors, as FinRL's Alpaca paper trader loads them, to ONNX for `rl-paper-trader register`.

FinRL's paper trader (finrl/meta/paper_trading/alpaca.py, drl_lib="elegantrl") builds an
`ActorPPO(net_dims, state_dim, action_dim)`, loads `<cwd>/actor.pth` (its state_dict) into it and
acts with `actor(state)`: `net(state).tanh()`, `net` an MLP of Linear layers with ReLU between
them. ElegantRL's own net.py adds `state_avg` / `state_std` (the actor normalizes its state first).
Both are read here from the state_dict alone, so neither FinRL nor ElegantRL need be installed:

    python3 tools/export/elegantrl_export.py --actor trained/actor.pth --out ppo.onnx

From Python, with an actor module at hand (any actor whose forward is the deterministic action):

    from elegantrl_export import export_elegantrl_actor
    export_elegantrl_actor(agent.act, state_dim, "ppo.onnx")

The observation is FinRL's numpy env's (register it with layout finrl-stock-trading-np: cash·2^-12,
turbulence, its flag, price·2^-6, holdings·2^-6, cooldowns, indicators·2^-7 ticker by ticker).
The graph's one output `action` is in [-1, 1]; FinRL multiplies it by max_stock (env hmax).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any, Mapping

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_common import export_module  # noqa: E402

_LAYER = re.compile(r"^net\.(\d+)\.(weight|bias)$")


class ActorPPO(torch.nn.Module):
    """The actor FinRL's paper trader loads: same state_dict keys, same forward (the deterministic action)."""

    def __init__(self, dims: list[int], state_dim: int, action_dim: int, state_norm: bool = False):
        super().__init__()
        sizes = [state_dim, *dims, action_dim]
        layers: list[torch.nn.Module] = []
        for i in range(len(sizes) - 1):
            layers += [torch.nn.Linear(sizes[i], sizes[i + 1]), torch.nn.ReLU()]
        self.net = torch.nn.Sequential(*layers[:-1])  # no activation after the output layer
        self.action_std_log = torch.nn.Parameter(torch.zeros((1, action_dim)))
        if state_norm:
            self.state_avg = torch.nn.Parameter(torch.zeros((state_dim,)), requires_grad=False)
            self.state_std = torch.nn.Parameter(torch.ones((state_dim,)), requires_grad=False)
        self.state_norm = state_norm

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        if self.state_norm:
            state = (state - self.state_avg) / self.state_std
        return self.net(state).tanh()


def actor_from_state_dict(state: Mapping[str, torch.Tensor]) -> ActorPPO:
    """Rebuilds the actor from `actor.pth`: the layer sizes are the weights' shapes."""
    layers = sorted({int(m.group(1)) for m in map(_LAYER.match, state.keys()) if m})
    if not layers:
        keys = ", ".join(list(state.keys())[:6])
        raise ValueError(f"not an ElegantRL/FinRL ActorPPO state_dict (no net.<i>.weight; keys: {keys})")
    expected = list(range(0, 2 * len(layers), 2))
    if layers != expected:
        raise ValueError(f"the actor's layers are net.{layers}, expected Linear layers at net.{expected} with ReLU between them")
    shapes = [tuple(state[f"net.{i}.weight"].shape) for i in layers]
    for (out_a, _), (_, in_b) in zip(shapes, shapes[1:]):
        if out_a != in_b:
            raise ValueError(f"the actor's layers do not chain: {shapes}")
    state_dim, action_dim = shapes[0][1], shapes[-1][0]
    dims = [s[0] for s in shapes[:-1]]
    actor = ActorPPO(dims, state_dim, action_dim, state_norm="state_avg" in state)
    unexpected = sorted(set(state.keys()) - set(actor.state_dict().keys()))
    if unexpected:
        # another ElegantRL version's actor: its activations may differ too, so rebuilding it from weights would guess
        raise ValueError(f"the state_dict has keys FinRL's ActorPPO has not ({', '.join(unexpected[:6])}): export the actor module itself (export_elegantrl_actor)")
    actor.load_state_dict(dict(state), strict=True)
    return actor


def export_elegantrl_actor(actor: Any, state_dim: int, out: str, opset: int = 17) -> None:
    """Writes the actor's forward (`net(state).tanh()`) to the ONNX file `out`."""
    export_module(actor, state_dim, out, opset)


def load_actor(path: str) -> torch.nn.Module:
    """`actor.pth` as FinRL saves it (a state_dict), or a whole pickled actor (`torch.save(agent.act, ...)`)."""
    loaded = torch.load(path, map_location="cpu")
    if isinstance(loaded, torch.nn.Module):
        return loaded
    if isinstance(loaded, Mapping):
        return actor_from_state_dict(loaded)
    raise ValueError(f"{path}: neither a state_dict nor an actor module ({type(loaded).__name__})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export an ElegantRL actor (FinRL's paper trader's) to ONNX for rl-paper-trader register.")
    parser.add_argument("--actor", required=True, help="actor.pth (the state_dict FinRL saves in its cwd), or a pickled actor")
    parser.add_argument("--out", required=True, help="the ONNX file to write")
    parser.add_argument("--state-dim", type=int, help="the observation's size (read from the weights when not given)")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args(argv)
    try:
        actor = load_actor(args.actor)
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    state_dim = args.state_dim
    if state_dim is None:
        first = next((m for m in actor.modules() if isinstance(m, torch.nn.Linear)), None)
        if first is None:
            print("error: give --state-dim (the actor has no Linear layer to read it from)", file=sys.stderr)
            return 2
        state_dim = first.in_features
    export_elegantrl_actor(actor, state_dim, args.out, args.opset)
    print(f"wrote {args.out}: input 'input' float32[batch, {state_dim}], output 'action' (the actor's tanh output)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
