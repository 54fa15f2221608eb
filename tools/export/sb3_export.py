"""Stable-Baselines3 policies (FinRL's five: PPO, A2C, SAC, TD3, DDPG) to ONNX for `rl-paper-trader register`.

From Python, with the trained model at hand:

    from sb3_export import export_sb3_policy, vecnormalize_to_json
    export_sb3_policy(model.policy, "ppo", "ppo.onnx")
    vecnormalize_to_json(VecNormalize.load("vec_normalize.pkl", venv), "vecnormalize.json")  # only under VecNormalize

From a shell (needs stable_baselines3 installed, as where the model was trained):

    python3 tools/export/sb3_export.py --algo ppo --model trained_ppo.zip --out ppo.onnx \
        [--vecnormalize vec_normalize.pkl --normalization-out vecnormalize.json]

The graph has one input `input` [batch, observation] and one output `action` [batch, actions]:
the action `model.predict(obs, deterministic=True)` takes before its clip to the action space
(rl-paper-trader clips to [-1, 1] as FinRL's env does). It is built from the policy's own
submodules, by SB3's attribute names:

- PPO, A2C (ActorCriticPolicy): pi_features_extractor -> mlp_extractor.policy_net -> action_net,
  the Gaussian's mean (tanh of it when the policy squashes, gSDE with squash_output);
- SAC (policy.actor): features_extractor -> latent_pi -> mu, then tanh (the squashed Gaussian's mode);
- TD3, DDPG (policy.actor): features_extractor -> mu, whose last layer is already a Tanh.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import sys
from typing import Any

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_common import export_module, observation_size_of  # noqa: E402

ALGOS = ("ppo", "a2c", "sac", "td3", "ddpg")


class _Observation(torch.nn.Module):
    """SB3's `preprocess_obs` for a Box space (a cast to float), then the features extractor."""

    def __init__(self, features_extractor: torch.nn.Module):
        super().__init__()
        self.features_extractor = features_extractor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.features_extractor(obs.float())


class ActorCriticAction(torch.nn.Module):
    """PPO / A2C: the mean of the Gaussian (`get_distribution(obs).mode()`), values and log_prob left out."""

    def __init__(self, policy: Any):
        super().__init__()
        extractor = getattr(policy, "pi_features_extractor", None)
        if extractor is None:
            extractor = policy.features_extractor
        self.observation = _Observation(extractor)
        mlp = policy.mlp_extractor
        shared = getattr(mlp, "shared_net", None)  # SB3 < 1.8 had one before the two heads
        self.shared_net = torch.nn.Identity() if shared is None else shared
        self.policy_net = mlp.policy_net
        self.action_net = policy.action_net
        self.squash = bool(getattr(policy, "squash_output", False))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        mean = self.action_net(self.policy_net(self.shared_net(self.observation(obs))))
        return torch.tanh(mean) if self.squash else mean


class SacAction(torch.nn.Module):
    """SAC: tanh of the actor's mean (SquashedDiagGaussian's mode, and gSDE's with squash_output)."""

    def __init__(self, actor: Any):
        super().__init__()
        self.observation = _Observation(actor.features_extractor)
        self.latent_pi = actor.latent_pi
        self.mu = actor.mu

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.mu(self.latent_pi(self.observation(obs))))


class DeterministicActorAction(torch.nn.Module):
    """TD3 / DDPG: the actor's output, `mu` ending in Tanh."""

    def __init__(self, actor: Any):
        super().__init__()
        self.observation = _Observation(actor.features_extractor)
        self.mu = actor.mu

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.mu(self.observation(obs))


def action_module(policy: Any, algo: str) -> torch.nn.Module:
    """The deterministic action of `policy` (`model.policy`) as one torch module."""
    algo = algo.lower()
    if algo in ("ppo", "a2c"):
        for name in ("mlp_extractor", "action_net"):
            if not hasattr(policy, name):
                raise ValueError(f"{algo}: the policy has no '{name}': pass model.policy of an SB3 {algo.upper()} (an ActorCriticPolicy)")
        return ActorCriticAction(policy)
    actor = getattr(policy, "actor", policy)  # model.policy, or model.policy.actor itself
    if algo == "sac":
        if not hasattr(actor, "latent_pi"):
            raise ValueError("sac: the actor has no 'latent_pi': pass model.policy of an SB3 SAC")
        return SacAction(actor)
    if algo in ("td3", "ddpg"):
        if not hasattr(actor, "mu") or hasattr(actor, "latent_pi"):
            raise ValueError(f"{algo}: the actor is not a TD3/DDPG actor (a 'mu' network ending in Tanh): pass model.policy of an SB3 {algo.upper()}")
        return DeterministicActorAction(actor)
    raise ValueError(f"unknown algorithm '{algo}': one of {', '.join(ALGOS)}")


def export_sb3_policy(policy: Any, algo: str, out: str, observation_size: int | None = None, opset: int = 17) -> None:
    """Writes `policy`'s deterministic action to the ONNX file `out` (see the module comment)."""
    if observation_size is None:
        observation_size = observation_size_of(policy.observation_space.shape)
    export_module(action_module(policy, algo), observation_size, out, opset)


def vecnormalize_statistics(vec_normalize: Any) -> dict:
    """VecNormalize's observation statistics in SB3's names, as `register --normalization` reads them."""
    rms = vec_normalize.obs_rms
    if isinstance(rms, dict):
        raise ValueError("the VecNormalize has per-key statistics (a Dict observation space): FinRL's observations are one vector")
    stats = {
        "obs_rms": {"mean": _floats(rms.mean), "var": _floats(rms.var), "count": float(rms.count)},
        "clip_obs": float(vec_normalize.clip_obs),
        "epsilon": float(vec_normalize.epsilon),
        "norm_obs": bool(vec_normalize.norm_obs),
    }
    for name, cast in (("norm_reward", bool), ("clip_reward", float), ("gamma", float)):
        if hasattr(vec_normalize, name):
            stats[name] = cast(getattr(vec_normalize, name))
    return stats


def vecnormalize_to_json(vec_normalize: Any, out: str) -> dict:
    """Writes `vecnormalize_statistics` to `out` (JSON); returns them."""
    stats = vecnormalize_statistics(vec_normalize)
    _write_json(stats, out)
    return stats


def _write_json(value: dict, out: str) -> None:
    with open(out, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1)
        f.write("\n")


def _floats(values: Any) -> list:
    floats = [float(v) for v in list(values)]
    bad = [i for i, v in enumerate(floats) if not math.isfinite(v)]
    if bad:
        raise ValueError(f"the statistics have non-finite values at {bad[:5]}")
    return floats


def load_model(algo: str, path: str) -> Any:
    try:
        import stable_baselines3 as sb3
    except ImportError:
        print(
            "error: stable_baselines3 is not installed in this Python: run this where the model was trained "
            "(pip install stable-baselines3), or call export_sb3_policy(model.policy, ...) from your own code",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    cls = getattr(sb3, algo.upper())
    return cls.load(path, device="cpu")


def load_vecnormalize(path: str) -> Any:
    """A VecNormalize saved with `.save(path)`: a pickle of the wrapper without its env."""
    with open(path, "rb") as f:
        return pickle.load(f)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export a Stable-Baselines3 policy to ONNX for rl-paper-trader register.")
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--model", required=True, help="the model saved with model.save(...) (a .zip)")
    parser.add_argument("--out", required=True, help="the ONNX file to write")
    parser.add_argument("--vecnormalize", help="the VecNormalize saved with env.save(...) (a .pkl), if trained under one")
    parser.add_argument("--normalization-out", help="the JSON file for register --normalization (with --vecnormalize)")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args(argv)
    if (args.vecnormalize is None) != (args.normalization_out is None):
        parser.error("--vecnormalize and --normalization-out go together")

    model = load_model(args.algo, args.model)
    try:
        size = observation_size_of(model.observation_space.shape)
        stats = None
        if args.vecnormalize is not None:
            stats = vecnormalize_statistics(load_vecnormalize(args.vecnormalize))
            if len(stats["obs_rms"]["mean"]) != size:
                raise ValueError(f"{args.vecnormalize}: the statistics have {len(stats['obs_rms']['mean'])} values, the policy's observation {size}")
        export_sb3_policy(model.policy, args.algo, args.out, size, args.opset)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: input 'input' float32[batch, {size}], output 'action' (the {args.algo.upper()} policy's deterministic action)")
    if stats is not None:
        _write_json(stats, args.normalization_out)
        print(f"wrote {args.normalization_out}: VecNormalize statistics, clip ±{stats['clip_obs']}")
        if not stats["norm_obs"]:
            print("note: norm_obs is false (observations were not normalized): register without --normalization", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
