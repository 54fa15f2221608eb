"""Torch's own forward pass, library semantics, over observations a backtest journaled.

    forward.py  <  one job per line  ->  one {"actions": [[...], ...]} (or {"error": "..."}) per line

A job: {"algo": ..., "model" | "actor": FILE, "vecnormalize"?: FILE, "dims"?: [...],
"observations": [[...], ...]}; one process answers them all (torch is imported once). SB3 models act through `policy._predict(obs, deterministic=True)`
after VecNormalize's own `normalize_obs`; FinRL's ActorPPO is rebuilt and loaded from actor.pth as
PaperTradingAlpaca does and called on `torch.as_tensor(state)`; ElegantRL's pickled actor is called.
"""
from __future__ import annotations

import json
import os
import pickle
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "sb3_stub")]

import lookalikes  # noqa: E402
import stable_baselines3 as sb3  # noqa: E402  (the stand-in)


def act(job: dict) -> list:
    observations = np.asarray(job["observations"], dtype=np.float64)
    algo = job["algo"]
    with torch.no_grad():
        if algo in ("ppo", "a2c", "sac", "td3", "ddpg"):
            model = getattr(sb3, algo.upper()).load(job["model"])
            if job.get("vecnormalize"):
                with open(job["vecnormalize"], "rb") as f:
                    observations = pickle.load(f).normalize_obs(observations)
            actions = model.policy._predict(torch.as_tensor(observations.astype(np.float32)), deterministic=True)
        elif algo == "elegantrl":
            state = torch.load(job["actor"], map_location="cpu")
            action_dim = state[f"net.{2 * len(job['dims'])}.weight"].shape[0]
            actor = lookalikes.FinrlActorPPO(job["dims"], observations.shape[1], action_dim)
            actor.load_state_dict(state)
            actions = actor(torch.as_tensor(observations.astype(np.float32)))
        elif algo == "elegantrl-net":
            actor = torch.load(job["actor"], map_location="cpu")
            actions = actor(torch.as_tensor(observations.astype(np.float32)))
        else:
            raise ValueError(f"unknown algo {algo}")
    return actions.numpy().astype(np.float64).tolist()


def main() -> int:
    print(json.dumps({"ready": torch.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = {"actions": act(json.loads(line))}
        except Exception as e:  # the test reports it; the process keeps serving
            answer = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
