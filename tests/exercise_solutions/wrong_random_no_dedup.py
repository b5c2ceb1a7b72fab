"""Wrong: plain random search, pays again for functions it already knows."""
from nasbench_lab.strategies import Ask, Strategy


class MyRandomSearch(Strategy):
    """Uniform random search.

    Parameters:
      max_tries (100): unused.
    """

    name = "my-random"
    defaults = {"max_tries": 100}
    deduplicates = True

    def ask(self):
        return Ask(self.space.sample(self.rng))

    def tell(self, ask, obs):
        pass
