"""SB3's VecNormalize without its env: the statistics, `normalize_obs` and `save` (a pickle, as SB3 writes it)."""
from __future__ import annotations

import pickle

import numpy as np

from stable_baselines3.common.running_mean_std import RunningMeanStd


class VecNormalize:
    def __init__(self, observation_size: int, clip_obs: float = 10.0, clip_reward: float = 10.0, gamma: float = 0.99, epsilon: float = 1e-8):
        self.obs_rms = RunningMeanStd(shape=(observation_size,))
        self.ret_rms = RunningMeanStd(shape=())
        self.clip_obs = clip_obs
        self.clip_reward = clip_reward
        self.norm_obs = True
        self.norm_reward = True
        self.gamma = gamma
        self.epsilon = epsilon
        self.training = False

    def normalize_obs(self, obs: np.ndarray) -> np.ndarray:
        normalized = np.clip((obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.epsilon), -self.clip_obs, self.clip_obs)
        return normalized.astype(np.float32)

    def save(self, path: str) -> None:
        with open(path, "wb") as f:
            pickle.dump(self, f)
