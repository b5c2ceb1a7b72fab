"""Wrong: no baseline, the raw reward drives the update."""
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
        self.baseline = None

    def probabilities(self):
        z = np.exp(self.logits - self.logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def ask(self):
        P = self.probabilities()
        choices = [int(self.rng.choice(self.space.n_options, p=row)) for row in P]
        return Ask(self.space.make(choices))

    def tell(self, ask: Ask, obs: Observation) -> None:
        v = obs.valid_acc
        reward = 0.0 if v != v else v / 100.0
        m = self.params["baseline_momentum"]
        self.baseline = reward if self.baseline is None else m * self.baseline + (1 - m) * reward
        advantage = reward
        onehot = np.zeros_like(self.logits)
        onehot[np.arange(len(ask.arch.choices)), ask.arch.choices] = 1.0
        self.logits += self.params["learning_rate"] * advantage * (onehot - self.probabilities())
