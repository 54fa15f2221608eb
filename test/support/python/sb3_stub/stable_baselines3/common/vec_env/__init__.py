from stable_baselines3.common.vec_env.vec_normalize import VecNormalize

__all__ = ["VecNormalize"]
