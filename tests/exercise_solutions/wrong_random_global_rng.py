"""Wrong: draws from numpy's global random state instead of self.rng."""
import numpy as np

from nasbench_lab.strategies import Ask, Strategy


class MyRandomSearch(Strategy):
    """Uniform random search without repeats.

    Parameters:
      max_tries (100): plain samples before a full scan.
    """

    name = "my-random"
    defaults = {"max_tries": 100}
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.seen = set()

    def ask(self):
        for _ in range(self.params["max_tries"]):
            arch = self.space.make(np.random.randint(0, self.space.n_options, self.space.n_decisions))
            if self.space.canonical_key(arch) not in self.seen:
                return Ask(arch)
        unseen = [a for a in self.space.all_archs() if self.space.canonical_key(a) not in self.seen]
        return Ask(unseen[np.random.randint(len(unseen))]) if unseen else None

    def tell(self, ask, obs):
        self.seen.add(self.space.canonical_key(ask.arch))
