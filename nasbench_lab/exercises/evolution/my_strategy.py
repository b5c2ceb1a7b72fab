"""Exercise "evolution": regularized (aging) evolution.  Read TASK.md.

Fill in the parts marked TODO, then run:  python grade.py
"""
from collections import deque

from nasbench_lab.spaces import Arch
from nasbench_lab.strategies import Ask, Observation, Strategy, score  # noqa: F401 (score: for you)


class MyEvolution(Strategy):
    """Regularized evolution (Real et al., 2019): tournament selection, mutation, aging.

    Parameters:
      population (10): number of living members; at each birth the oldest one dies.
      sample_size (3): tournament size; the best of a random sample of the population is
        the parent of the next child.
    """

    name = "my-rea"
    defaults = {"population": 10, "sample_size": 3}

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.population = deque()  # (arch, score) pairs, oldest first

    def mutate(self, arch: Arch) -> Arch:
        """A copy of `arch` with exactly one decision (edge) set to a different option."""
        # TODO: pick a decision with self.rng, then a *different* option for it;
        #       build the child with self.space.make(choices)
        raise NotImplementedError("mutate() is not written yet")

    def ask(self) -> Ask:
        # TODO: until the population is full, a uniform sample (self.space.sample(self.rng));
        #       then: draw sample_size distinct members, the best one (by score) is the
        #       parent, return Ask(self.mutate(parent))
        raise NotImplementedError("ask() is not written yet")

    def tell(self, ask: Ask, obs: Observation) -> None:
        # TODO: append (ask.arch, score(obs)); when the population is too big, the OLDEST dies
        raise NotImplementedError("tell() is not written yet")
