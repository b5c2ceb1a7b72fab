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
        space, rng = self.space, self.rng
        arch = space.sample(rng)
        if self.params["dedup"]:
            key, seen = space.canonical_key, self.seen.keys  # what `arch in self.seen` does
            for _ in range(self.params["max_tries"]):
                if key(arch) not in seen:
                    break
                arch = space.sample(rng)
        return Ask(arch)

    def tell(self, ask: Ask, obs: Observation) -> None:
        self.seen.keys.add(self.space.canonical_key(ask.arch))  # self.seen.add(ask.arch)
