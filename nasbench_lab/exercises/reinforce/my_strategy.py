"""Exercise "reinforce": REINFORCE with a moving-average baseline.  Read TASK.md.

Fill in the parts marked TODO, then run:  python grade.py
"""
import numpy as np

from nasbench_lab.strategies import Ask, Observation, Strategy


class MyReinforce(Strategy):
    """REINFORCE (Williams, 1992): one categorical distribution per decision (edge),
    trained by gradient ascent on the logits with a moving-average baseline.

    Parameters:
      learning_rate (1.0): step size of the gradient ascent on the logits.
      baseline_momentum (0.9): momentum of the moving-average baseline.
    """

    name = "my-reinforce"
    defaults = {"learning_rate": 1.0, "baseline_momentum": 0.9}

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.logits = np.zeros((self.space.n_decisions, self.space.n_options))
        self.baseline = None  # moving average of the rewards seen so far (None before the first)

    def probabilities(self) -> np.ndarray:
        """[decisions x options]: the policy, a softmax of each row of the logits."""
        z = np.exp(self.logits - self.logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def ask(self) -> Ask:
        # TODO: draw one option per decision from self.probabilities() with self.rng,
        #       return Ask(self.space.make(choices))
        raise NotImplementedError("ask() is not written yet")

    def tell(self, ask: Ask, obs: Observation) -> None:
        # TODO: reward = obs.valid_acc / 100 (0.0 when it is NaN: a failed training)
        #       baseline: the first reward, then m * baseline + (1 - m) * reward
        #       advantage = reward - baseline
        #       logits += learning_rate * advantage * (onehot(ask.arch.choices) - probabilities())
        raise NotImplementedError("tell() is not written yet")
