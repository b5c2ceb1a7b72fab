"""REINFORCE (Williams, 1992) as NAS-Bench-201 runs it: a policy-gradient search."""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.strategies import register
from nasbench_lab.strategies._common import adam_step, option_counts
from nasbench_lab.strategies.base import Ask, Observation, Strategy


@register
class Reinforce(Strategy):
    """An independent categorical distribution per decision (edge), trained with REINFORCE.

    The policy is a logit matrix [decisions x options], initialised to 1e-3 x N(0, 1) as in
    NAS-Bench-201. Each ask samples one architecture from the policy; each tell makes one
    Adam step on the loss -log p(arch) x (reward - baseline), where the reward is the
    observed validation accuracy and the baseline an exponential moving average of the
    rewards (bias-corrected, as NAS-Bench-201's ExponentialMovingAverage).

    Parameters (NAS-Bench-201 defaults where they exist):
      learning_rate (0.01): Adam learning rate on the logits (NATS-Bench's REINFORCE script).
      baseline_momentum (0.9): momentum of the moving-average baseline (NAS-Bench-201: 0.9).
      init_std (0.001): standard deviation of the initial logits.
      nan_reward (0.0): reward for a failed (NaN) training.
      dedup (False): when True, an architecture whose canonical key was already queried is
        not queried again: its cached reward drives the policy update and the policy is
        sampled again (up to `max_tries` times per ask). Off by default: NAS-Bench-201's
        REINFORCE pays for repeats, and the reported numbers use that method.
      max_tries (100): resamples per ask when deduplicating; after that a repeat is queried.
    """

    name = "reinforce"
    defaults = {"learning_rate": 0.01, "baseline_momentum": 0.9, "init_std": 0.001,
                "nan_reward": 0.0, "dedup": False, "max_tries": 100}

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        p = self.params
        if not p["learning_rate"] > 0 or not 0 <= p["baseline_momentum"] < 1:
            raise NasbenchError("reinforce needs learning_rate > 0 and 0 <= baseline_momentum < 1")
        self.logits = p["init_std"] * rng.standard_normal((self.space.n_decisions, self.space.n_options))
        # mixed spaces (fewer options on some decisions): impossible options get probability 0
        counts = option_counts(self.space)
        self._mask = np.arange(self.space.n_options)[None, :] < counts[:, None]
        self._masked = not self._mask.all()
        self._valid = getattr(self.space, "is_valid", None)  # spaces with invalid cells (NB101)
        self._adam: dict = {}
        self._ema_num = 0.0
        self._ema_den = 0.0
        self.rewards: dict = {}  # canonical key -> reward (used when dedup is on)

    def probabilities(self) -> np.ndarray:
        z = self.logits - self.logits.max(1, keepdims=True)
        e = np.exp(z)
        if self._masked:
            e *= self._mask
        return e / e.sum(1, keepdims=True)

    def _draw(self) -> tuple:
        cdf = np.cumsum(self.probabilities(), axis=1)
        u = self.rng.random(self.space.n_decisions) * cdf[:, -1]
        ch = (u[:, None] >= cdf).sum(1)
        return tuple(int(c) for c in ch)

    def _sample(self) -> tuple:
        """A draw from the policy; on a space with invalid cells, redrawn until valid (the
        policy conditioned on validity, as NAS-Bench-101's samplers do)."""
        ch = self._draw()
        if self._valid is not None:
            for _ in range(1000):
                if self._valid(self.space.make(ch)):
                    break
                ch = self._draw()
            else:
                ch = self.space.sample(self.rng).choices
        return ch

    def baseline(self) -> float:
        return self._ema_num / self._ema_den if self._ema_den else 0.0

    def _update(self, choices: tuple, reward: float) -> None:
        m = self.params["baseline_momentum"]
        self._ema_num = m * self._ema_num + (1 - m) * reward
        self._ema_den = m * self._ema_den + (1 - m)
        advantage = reward - self.baseline()
        # d/dlogits of -log p(a) * advantage = (softmax - onehot) * advantage
        grad = self.probabilities()
        grad[np.arange(len(choices)), choices] -= 1.0
        grad *= advantage
        adam_step([self.logits], [grad], self._adam, self.params["learning_rate"])

    def ask(self) -> Ask:
        ch = self._sample()
        if self.params["dedup"]:
            for _ in range(self.params["max_tries"]):
                key = self.space.canonical_key(self.space.make(ch))
                if key not in self.rewards:
                    break
                self._update(ch, self.rewards[key])
                ch = self._sample()
        return Ask(self.space.make(ch))

    def tell(self, ask: Ask, obs: Observation) -> None:
        v = obs.valid_acc
        reward = float(self.params["nan_reward"]) if v != v else float(v)
        if self.params["dedup"]:
            self.rewards[self.space.canonical_key(ask.arch)] = reward
        self._update(ask.arch.choices, reward)
