"""Random search: uniform samples from the space, each queried at the last search epoch."""
from __future__ import annotations

from nasbench_lab.strategies import register
from nasbench_lab.strategies.base import Ask, Observation, SeenKeys, Strategy

BLOCK = 64  # samples per draw of the generator (about a run's worth on NB201's protocol halves)


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
    #: True for a subclass whose only use of self.rng is `_sample` (so drawing ahead is safe)
    draws_only_samples = False

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.seen = SeenKeys(self.space)
        self._ahead: list = []  # samples drawn ahead, next one last (see _sample)
        # a subclass may draw from self.rng between samples: it gets one sample per draw
        # unless it declares that it does not (`draws_only_samples = True`)
        self._block = BLOCK if type(self) is RandomSearch or self.draws_only_samples else 1

    def _sample(self):
        """The next `space.sample(self.rng)`, drawn BLOCK at a time with `space.sample_many`
        (the same architectures in the same order; only the generator runs ahead, which
        nothing else reads: a subclass, which might, draws one at a time)."""
        ahead = self._ahead
        if not ahead:
            ahead = self._ahead = self.space.sample_many(self.rng, self._block)[::-1]
        return ahead.pop()

    def ask(self) -> Ask:
        sample = self._sample
        arch = sample()
        if self.params["dedup"]:
            key, seen = self.space.canonical_key, self.seen.keys  # what `arch in self.seen` does
            for _ in range(self.params["max_tries"]):
                if key(arch) not in seen:
                    break
                arch = sample()
        return Ask(arch)

    def tell(self, ask: Ask, obs: Observation) -> None:
        self.seen.keys.add(self.space.canonical_key(ask.arch))  # self.seen.add(ask.arch)
