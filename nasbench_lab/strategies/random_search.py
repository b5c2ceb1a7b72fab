"""Random search: uniform samples from the space, each queried at the last search epoch."""
from __future__ import annotations

from nasbench_lab.strategies import register
from nasbench_lab.strategies.base import Ask, Observation, SeenKeys, Strategy


@register
class RandomSearch(Strategy):
    """Uniform random sampling.

    Parameters:
      dedup (True): skip architectures whose canonical key was already queried, so no
        cell is paid for twice (up to `max_tries` resamples; then it queries anyway).
      max_tries (100): resamples allowed per ask when deduplicating.
    """

    name = "random"
    defaults = {"dedup": True, "max_tries": 100}

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.seen = SeenKeys(self.space)

    def ask(self) -> Ask:
        arch = self.space.sample(self.rng)
        if self.params["dedup"]:
            for _ in range(self.params["max_tries"]):
                if arch not in self.seen:
                    break
                arch = self.space.sample(self.rng)
        return Ask(arch)

    def tell(self, ask: Ask, obs: Observation) -> None:
        self.seen.add(ask.arch)
