"""A stand-in for the `stable_baselines3` package, for tests only (PYTHONPATH=test/support/python/sb3_stub).

The real package is not installable here. This one has what tools/export/sb3_export.py's CLI
touches — `PPO.load(path, device=...)` returning a model with `.policy` and `.observation_space`,
and a VecNormalize pickled under SB3's module path — around the policies of ../lookalikes.py.
`save` writes a torch pickle, not SB3's zip: only this stand-in's `load` reads it.
"""
from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import lookalikes  # noqa: E402


class _Algorithm:
    policy_class: type = type(None)

    def __init__(self, observation_size: int, action_size: int, net_arch: list[int] | None = None):
        self.policy = self.policy_class(observation_size, action_size, net_arch)
        self.observation_space = self.policy.observation_space
        self.action_space = self.policy.action_space

    def save(self, path: str) -> None:
        torch.save(self, path)

    @classmethod
    def load(cls, path: str, device: str = "auto") -> "_Algorithm":
        model = torch.load(path, map_location="cpu")
        if not isinstance(model, cls):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


class PPO(_Algorithm):
    policy_class = lookalikes.ActorCriticPolicy


class A2C(_Algorithm):
    policy_class = lookalikes.ActorCriticPolicy


class SAC(_Algorithm):
    policy_class = lookalikes.SACPolicy


class TD3(_Algorithm):
    policy_class = lookalikes.TD3Policy


class DDPG(_Algorithm):
    policy_class = lookalikes.TD3Policy
