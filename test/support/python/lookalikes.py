"""Policies built the way each library builds them, for testing tools/export without the libraries.

Stable-Baselines3 is not installable here (Debian has no package, CI has no PyPI): these torch
modules have SB3's structure and attribute names (torch_layers.FlattenExtractor / MlpExtractor /
create_mlp, ActorCriticPolicy for PPO and A2C, sac.policies.Actor, td3.policies.Actor for TD3 and
DDPG), FinRL's paper-trading ActorPPO and ElegantRL net.py's ActorPPO (with its state_avg /
state_std). Each carries its library's own deterministic `predict`, written from the library's
semantics, not from the recipes: the tests compare the recipes' ONNX files against these.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn


def box(n: int) -> SimpleNamespace:
    """What the recipes read of a gym Box: its shape."""
    return SimpleNamespace(shape=(n,), dtype=np.float32)


def create_mlp(input_dim: int, output_dim: int, net_arch: list[int], activation_fn=nn.ReLU, squash_output: bool = False) -> list[nn.Module]:
    """SB3's torch_layers.create_mlp: Linear + activation per hidden layer, then Linear (and Tanh if squashed)."""
    modules: list[nn.Module] = []
    last = input_dim
    for width in net_arch:
        modules += [nn.Linear(last, width), activation_fn()]
        last = width
    if output_dim > 0:
        modules.append(nn.Linear(last, output_dim))
    if squash_output:
        modules.append(nn.Tanh())
    return modules


class FlattenExtractor(nn.Module):
    """SB3's default features extractor for a Box observation."""

    def __init__(self, observation_space):
        super().__init__()
        self.flatten = nn.Flatten()
        self.features_dim = observation_space.shape[0]

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.flatten(observations)


class MlpExtractor(nn.Module):
    """SB3 >= 1.8's MlpExtractor: separate policy_net and value_net."""

    def __init__(self, feature_dim: int, net_arch: dict, activation_fn):
        super().__init__()
        self.policy_net = nn.Sequential(*create_mlp(feature_dim, -1, net_arch["pi"], activation_fn))
        self.value_net = nn.Sequential(*create_mlp(feature_dim, -1, net_arch["vf"], activation_fn))
        self.latent_dim_pi = net_arch["pi"][-1] if net_arch["pi"] else feature_dim
        self.latent_dim_vf = net_arch["vf"][-1] if net_arch["vf"] else feature_dim

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        return self.policy_net(features)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        return self.value_net(features)


def _preprocess(obs: torch.Tensor) -> torch.Tensor:
    return obs.float()  # SB3's preprocess_obs for a Box


class ActorCriticPolicy(nn.Module):
    """SB3's MlpPolicy for PPO and A2C (Tanh activations, shared features extractor, DiagGaussian)."""

    def __init__(self, observation_size: int, action_size: int, net_arch: list[int] | None = None, log_std_init: float = 0.0):
        super().__init__()
        arch = net_arch if net_arch is not None else [64, 64]
        self.observation_space = box(observation_size)
        self.action_space = box(action_size)
        self.features_extractor = FlattenExtractor(self.observation_space)
        self.pi_features_extractor = self.features_extractor
        self.vf_features_extractor = self.features_extractor
        self.mlp_extractor = MlpExtractor(self.features_extractor.features_dim, {"pi": arch, "vf": arch}, nn.Tanh)
        self.action_net = nn.Linear(self.mlp_extractor.latent_dim_pi, action_size)
        self.log_std = nn.Parameter(torch.ones(action_size) * log_std_init)
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        self.squash_output = False

    def _predict(self, observation: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        features = self.pi_features_extractor(_preprocess(observation))
        mean_actions = self.action_net(self.mlp_extractor.forward_actor(features))
        if deterministic:
            return mean_actions  # DiagGaussianDistribution.mode()
        return torch.normal(mean_actions, self.log_std.exp().expand_as(mean_actions))


class SacActor(nn.Module):
    """SB3's sac.policies.Actor (no gSDE): latent_pi, mu, log_std; the action is squashed."""

    def __init__(self, observation_size: int, action_size: int, net_arch: list[int]):
        super().__init__()
        self.observation_space = box(observation_size)
        self.features_extractor = FlattenExtractor(self.observation_space)
        self.latent_pi = nn.Sequential(*create_mlp(observation_size, -1, net_arch, nn.ReLU))
        last = net_arch[-1] if net_arch else observation_size
        self.mu = nn.Linear(last, action_size)
        self.log_std = nn.Linear(last, action_size)

    def forward(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        latent = self.latent_pi(self.features_extractor(_preprocess(obs)))
        mean_actions = self.mu(latent)
        if deterministic:
            return torch.tanh(mean_actions)  # SquashedDiagGaussianDistribution.mode()
        log_std = torch.clamp(self.log_std(latent), -20, 2)
        return torch.tanh(torch.normal(mean_actions, log_std.exp()))


class SACPolicy(nn.Module):
    def __init__(self, observation_size: int, action_size: int, net_arch: list[int] | None = None):
        super().__init__()
        arch = net_arch if net_arch is not None else [256, 256]
        self.observation_space = box(observation_size)
        self.action_space = box(action_size)
        self.actor = SacActor(observation_size, action_size, arch)
        self.critic = nn.Sequential(*create_mlp(observation_size + action_size, 1, arch, nn.ReLU))

    def _predict(self, observation: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        return self.actor(observation, deterministic)


class Td3Actor(nn.Module):
    """SB3's td3.policies.Actor (also DDPG's): mu = create_mlp(..., squash_output=True)."""

    def __init__(self, observation_size: int, action_size: int, net_arch: list[int]):
        super().__init__()
        self.observation_space = box(observation_size)
        self.features_extractor = FlattenExtractor(self.observation_space)
        self.mu = nn.Sequential(*create_mlp(observation_size, action_size, net_arch, nn.ReLU, squash_output=True))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.mu(self.features_extractor(_preprocess(obs)))


class TD3Policy(nn.Module):
    def __init__(self, observation_size: int, action_size: int, net_arch: list[int] | None = None):
        super().__init__()
        arch = net_arch if net_arch is not None else [400, 300]
        self.observation_space = box(observation_size)
        self.action_space = box(action_size)
        self.actor = Td3Actor(observation_size, action_size, arch)
        self.actor_target = Td3Actor(observation_size, action_size, arch)
        self.actor_target.load_state_dict(self.actor.state_dict())

    def _predict(self, observation: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        return self.actor(observation)  # TD3 and DDPG act deterministically: the noise is added outside


def finrl_build_mlp(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers += [nn.Linear(dims[i], dims[i + 1]), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class FinrlActorPPO(nn.Module):
    """finrl/meta/paper_trading/common.py's ActorPPO: what PaperTradingAlpaca loads from actor.pth."""

    def __init__(self, dims: list[int], state_dim: int, action_dim: int):
        super().__init__()
        self.net = finrl_build_mlp([state_dim, *dims, action_dim])
        self.action_std_log = nn.Parameter(torch.zeros((1, action_dim)), requires_grad=True)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.net(state).tanh()


class ElegantActorPPO(nn.Module):
    """ElegantRL net.py's ActorPPO: ActorBase's state_avg / state_std, then net(state).tanh()."""

    def __init__(self, dims: list[int], state_dim: int, action_dim: int):
        super().__init__()
        self.state_avg = nn.Parameter(torch.zeros((state_dim,)), requires_grad=False)
        self.state_std = nn.Parameter(torch.ones((state_dim,)), requires_grad=False)
        self.net = finrl_build_mlp([state_dim, *dims, action_dim])
        self.action_std_log = nn.Parameter(torch.zeros((1, action_dim)), requires_grad=True)

    def state_norm(self, state: torch.Tensor) -> torch.Tensor:
        return (state - self.state_avg) / self.state_std

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.net(self.state_norm(state)).tanh()
