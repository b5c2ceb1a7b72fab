"""Random scalarisation: regularized evolution whose tournament uses fresh random weights per ask."""
from __future__ import annotations

from collections import deque

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.objectives import observed_losses
from nasbench_lab.strategies import register
from nasbench_lab.strategies.base import Ask, Observation, Strategy


@register
class ScalarisedREA(Strategy):
    """Aging evolution on a random scalarisation of the objectives (ParEGO's scalarisation).

    Each ask draws a weight vector w uniformly from the simplex (Dirichlet(1, ..., 1)) and
    scores the population with the augmented Tchebycheff function of ParEGO (Knowles, 2006),
    max_j w_j f_j + rho * sum_j w_j f_j, over objectives f normalised to [0, 1] by the
    smallest and largest values observed so far (-validation accuracy, then cost metrics;
    failed and infeasible observations score worst). The best of a random sample of the
    population is mutated, as in regularized evolution ("rea"), which this is for a single
    objective. Children are not deduplicated, as in rea.

    Parameters:
      population (10): size of the population; the oldest member dies at each birth.
      sample_size (3): tournament size.
      rho (0.05): weight of the linear term of the augmented Tchebycheff function.
    """

    name = "scalarised-rea"
    defaults = {"population": 10, "sample_size": 3, "rho": 0.05}

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        p = self.params
        if p["population"] < 1 or not 1 <= p["sample_size"] <= p["population"]:
            raise NasbenchError("scalarised-rea needs population >= 1 and 1 <= sample_size <= population")
        if not p["rho"] >= 0:
            raise NasbenchError(f"scalarised-rea needs rho >= 0, got {p['rho']}")
        self.population: deque = deque()
        self.lo = self.hi = None  # observed range of each finite objective

    def _scores(self, losses: np.ndarray) -> np.ndarray:
        d = losses.shape[1]
        w = self.rng.dirichlet(np.ones(d)) if d > 1 else np.ones(1)
        lo, hi = (np.zeros(d), np.ones(d)) if self.lo is None else (self.lo, self.hi)  # nothing finite yet
        f = (losses - lo) / np.where(hi > lo, hi - lo, 1.0)
        s = np.max(w * f, axis=1) + self.params["rho"] * np.sum(w * f, axis=1)
        return np.where(np.isfinite(s), s, np.inf)

    def ask(self) -> Ask:
        pop = self.population
        if len(pop) < self.params["population"]:
            return Ask(self.space.sample(self.rng))
        idx = self.rng.choice(len(pop), self.params["sample_size"], replace=False)
        scores = self._scores(np.array([pop[i][1] for i in idx.tolist()], dtype=float))
        parent = pop[int(idx[int(np.argmin(scores))])][0]
        return Ask(self.space.mutate(parent, self.rng))

    def tell(self, ask: Ask, obs: Observation) -> None:
        loss = np.array(observed_losses(obs), dtype=float)
        if np.isfinite(loss).all():
            self.lo = loss.copy() if self.lo is None else np.minimum(self.lo, loss)
            self.hi = loss.copy() if self.hi is None else np.maximum(self.hi, loss)
        self.population.append((ask.arch, tuple(loss.tolist())))
        if len(self.population) > self.params["population"]:
            self.population.popleft()
