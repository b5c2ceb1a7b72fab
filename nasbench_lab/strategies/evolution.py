"""Regularized evolution (Real et al., 2019), as NAS-Bench-201 runs it."""
from __future__ import annotations

from collections import deque

from nasbench_lab.strategies import register
from nasbench_lab.strategies.base import Ask, Observation, Strategy


@register
class RegularizedEvolution(Strategy):
    """Aging evolution with tournament selection.

    Parameters (NAS-Bench-201 defaults):
      population (10): size of the population; the oldest member dies at each birth.
      sample_size (3): tournament size; the best of a random sample is the parent.
    The first `population` asks are uniform samples; afterwards each ask is a mutation
    (the space's own, for NB201: a node, one of its incoming edges, a different op) of the
    tournament winner. Children are not deduplicated (aging needs them in the population),
    as in the original method.
    """

    name = "rea"
    defaults = {"population": 10, "sample_size": 3}

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        if self.params["population"] < 1 or not 1 <= self.params["sample_size"] <= self.params["population"]:
            from nasbench_lab import NasbenchError
            raise NasbenchError(f"{self.name} needs population >= 1 and 1 <= sample_size <= population")
        self.population: deque = deque()
        self._asked = 0
        self._size, self._sample = int(self.params["population"]), int(self.params["sample_size"])

    def ask(self) -> Ask:
        self._asked += 1
        pop, rng = self.population, self.rng
        if len(pop) < self._size:
            return Ask(self.space.sample(rng))
        best = None  # the tournament: the first of the highest scores among the sampled members
        for i in rng.choice(len(pop), self._sample, replace=False).tolist():
            m = pop[i]
            if best is None or m[1] > best[1]:
                best = m
        return Ask(self.space.mutate(best[0], rng))

    def tell(self, ask: Ask, obs: Observation) -> None:
        pop = self.population
        v = obs.valid_acc
        pop.append((ask.arch, float(v) if v == v else _NEG_INF))  # score(obs): NaN is the worst
        if len(pop) > self._size:
            pop.popleft()


_NEG_INF = float("-inf")
