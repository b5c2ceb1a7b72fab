"""Reference solution of the "random-search" exercise."""
from nasbench_lab.strategies import Ask, Observation, Strategy


class MyRandomSearch(Strategy):
    """Uniform random search that never pays twice for the same function.

    Parameters:
      max_tries (100): plain samples ask() draws before it looks through the whole space
        for a cell whose canonical key has not been queried yet.
    """

    name = "my-random"
    defaults = {"max_tries": 100}
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.seen = set()

    def ask(self):
        for _ in range(self.params["max_tries"]):
            arch = self.space.sample(self.rng)
            if self.space.canonical_key(arch) not in self.seen:
                return Ask(arch)
        unseen = [a for a in self.space.all_archs() if self.space.canonical_key(a) not in self.seen]
        if not unseen:
            return None
        return Ask(unseen[int(self.rng.integers(len(unseen)))])

    def tell(self, ask: Ask, obs: Observation) -> None:
        self.seen.add(self.space.canonical_key(ask.arch))
