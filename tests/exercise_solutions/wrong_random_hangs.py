"""Wrong: deduplicates, but loops forever once every cell has been seen."""
from nasbench_lab.strategies import Ask, Strategy


class MyRandomSearch(Strategy):
    """Uniform random search without repeats.

    Parameters:
      max_tries (100): unused.
    """

    name = "my-random"
    defaults = {"max_tries": 100}
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.seen = set()

    def ask(self):
        while True:
            arch = self.space.sample(self.rng)
            if self.space.canonical_key(arch) not in self.seen:
                return Ask(arch)

    def tell(self, ask, obs):
        self.seen.add(self.space.canonical_key(ask.arch))
