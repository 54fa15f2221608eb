"""Builds the test policies, with fixed seeds, as each library saves them; with --export, exports them with tools/export.

    build_policies.py --out DIR --observation 31 --np-observation 36 --actions 3 [--obs-stats FILE] [--export]

DIR/<algo>/trained_<algo>.zip (this stand-in's save) and vec_normalize.pkl for ppo, a2c, sac, td3,
ddpg; DIR/elegantrl/actor.pth (FinRL's paper trader's ActorPPO state_dict) and
DIR/elegantrl-net/actor.pt (ElegantRL net.py's ActorPPO, pickled whole). --export writes
DIR/<algo>/policy.onnx (and vecnormalize.json) through the recipes' command lines.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path[:0] = [HERE, os.path.join(HERE, "sb3_stub"), os.path.join(PROJECT, "tools", "export")]

import lookalikes  # noqa: E402
import stable_baselines3 as sb3  # noqa: E402  (the stand-in)
from stable_baselines3.common.vec_env import VecNormalize  # noqa: E402

SB3_ALGOS = ("ppo", "a2c", "sac", "td3", "ddpg")
ELEGANT_DIMS = [128, 64]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--observation", type=int, required=True)
    parser.add_argument("--np-observation", type=int, required=True)
    parser.add_argument("--actions", type=int, required=True)
    parser.add_argument("--obs-stats", help="JSON {mean, var}: the VecNormalize statistics to pickle")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--algos", default="ppo,a2c,sac,td3,ddpg,elegantrl,elegantrl-net")
    parser.add_argument("--export", action="store_true")
    args = parser.parse_args()
    stats = None
    if args.obs_stats:
        with open(args.obs_stats) as f:
            stats = json.load(f)
    manifest = {}
    for i, algo in enumerate(args.algos.split(",")):
        folder = os.path.join(args.out, algo)
        os.makedirs(folder, exist_ok=True)
        torch.manual_seed(args.seed + i)
        entry: dict = {"algo": algo, "dir": folder}
        if algo in SB3_ALGOS:
            model = getattr(sb3, algo.upper())(args.observation, args.actions)
            entry["model"] = os.path.join(folder, f"trained_{algo}.zip")
            model.save(entry["model"])
            if stats is not None:
                vn = VecNormalize(args.observation, clip_obs=5.0)
                vn.obs_rms.mean = np.asarray(stats["mean"], np.float64)
                vn.obs_rms.var = np.asarray(stats["var"], np.float64)
                vn.obs_rms.count = 12345.0
                entry["vecnormalize"] = os.path.join(folder, "vec_normalize.pkl")
                vn.save(entry["vecnormalize"])
        elif algo == "elegantrl":
            actor = lookalikes.FinrlActorPPO(ELEGANT_DIMS, args.np_observation, args.actions)
            entry["actor"] = os.path.join(folder, "actor.pth")
            entry["dims"] = ELEGANT_DIMS
            torch.save(actor.state_dict(), entry["actor"])
        elif algo == "elegantrl-net":
            actor = lookalikes.ElegantActorPPO(ELEGANT_DIMS, args.np_observation, args.actions)
            generator = torch.Generator().manual_seed(args.seed)
            with torch.no_grad():
                actor.state_avg.copy_(torch.randn(args.np_observation, generator=generator) * 0.5)
                actor.state_std.copy_(1 + torch.rand(args.np_observation, generator=generator) * 4)
            entry["actor"] = os.path.join(folder, "actor.pt")
            torch.save(actor, entry["actor"])
        else:
            raise SystemExit(f"unknown algo {algo}")
        if args.export:
            export(entry)
        manifest[algo] = entry
    print(json.dumps(manifest))
    return 0


def export(entry: dict) -> None:
    """Through the recipes' own command lines, as a user runs them."""
    import elegantrl_export
    import sb3_export

    onnx = os.path.join(entry["dir"], "policy.onnx")
    entry["onnx"] = onnx
    if "model" in entry:
        argv = ["--algo", entry["algo"], "--model", entry["model"], "--out", onnx]
        if "vecnormalize" in entry:
            entry["normalization"] = os.path.join(entry["dir"], "vecnormalize.json")
            argv += ["--vecnormalize", entry["vecnormalize"], "--normalization-out", entry["normalization"]]
        code = sb3_export.main(argv)
    else:
        code = elegantrl_export.main(["--actor", entry["actor"], "--out", onnx])
    if code != 0:
        raise SystemExit(f"export of {entry['algo']} exited {code}")


if __name__ == "__main__":
    sys.exit(main())
