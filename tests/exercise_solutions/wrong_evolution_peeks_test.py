"""Wrong: selects by test accuracy, which Observations do not carry."""
from collections import deque

from nasbench_lab.strategies import Ask, Observation, Strategy, score  # noqa: F401


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
        self.population = deque()

    def mutate(self, arch):
        i = int(self.rng.integers(self.space.n_decisions))
        new = int(self.rng.integers(self.space.n_options - 1))
        new += new >= arch.choices[i]
        ch = list(arch.choices)
        ch[i] = new
        return self.space.make(ch)

    def ask(self):
        if len(self.population) < self.params["population"]:
            return Ask(self.space.sample(self.rng))
        idx = self.rng.choice(len(self.population), self.params["sample_size"], replace=False)
        parent = max((self.population[i] for i in idx), key=lambda m: m[1])
        return Ask(self.mutate(parent[0]))

    def tell(self, ask: Ask, obs: Observation) -> None:
        self.population.append((ask.arch, obs.test_acc))
        if len(self.population) > self.params["population"]:
            self.population.popleft()
