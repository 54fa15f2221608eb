"""SB3's RunningMeanStd, as far as a pickled VecNormalize holds it."""
import numpy as np


class RunningMeanStd:
    def __init__(self, epsilon: float = 1e-4, shape: tuple = ()):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = epsilon
