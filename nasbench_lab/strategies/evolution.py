"""Regularized evolution (Real et al., 2019), as NAS-Bench-201 runs it."""
from __future__ import annotations

from collections import deque

from nasbench_lab.strategies import register
from nasbench_lab.strategies.base import Ask, Observation, Strategy, score


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
            raise NasbenchError("rea needs population >= 1 and 1 <= sample_size <= population")
        self.population: deque = deque()
        self._asked = 0

    def ask(self) -> Ask:
        self._asked += 1
        pop = self.population
        if len(pop) < self.params["population"]:
            return Ask(self.space.sample(self.rng))
        idx = self.rng.choice(len(pop), self.params["sample_size"], replace=False).tolist()
        parent = max((pop[i] for i in idx), key=_score_of)
        return Ask(self.space.mutate(parent[0], self.rng))

    def tell(self, ask: Ask, obs: Observation) -> None:
        pop = self.population
        pop.append((ask.arch, score(obs)))
        if len(pop) > self.params["population"]:
            pop.popleft()


def _score_of(member) -> float:
    return member[1]
