"""Local search over the one-decision neighbourhood, with random restarts."""
from __future__ import annotations

from nasbench_lab import NasbenchError
from nasbench_lab.strategies import register
from nasbench_lab.strategies._common import sample_unseen
from nasbench_lab.strategies.base import Ask, Observation, Strategy, score


@register
class LocalSearch(Strategy):
    """Hill climbing on the neighbours of the current architecture (White et al., 2020).

    A climb starts from the best of `init_samples` uniform samples. Its neighbours (every
    architecture differing in one decision) are visited in a random order:
    - first improvement: move as soon as a neighbour beats the current architecture;
    - best improvement: visit all neighbours, then move to the best if it beats the current.
    When no neighbour improves (a local optimum), the climb restarts from fresh samples.

    Deduplication is part of the method: a cache maps canonical keys to observed scores, so a
    neighbour that computes the same function as a cell already queried is never paid for
    twice (its cached score is used instead). When every canonical key of the space has been
    queried, `ask` returns None.

    Parameters:
      variant ("first"): "first" (first improvement) or "best" (best improvement).
      init_samples (10): uniform samples that seed each climb; the best is its start.
      max_tries (100): plain resamples when looking for an unseen architecture before
        enumerating the space.
    """

    name = "local_search"
    defaults = {"variant": "first", "init_samples": 10, "max_tries": 100}
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        if self.params["variant"] not in ("first", "best"):
            raise NasbenchError(f"local_search: variant must be 'first' or 'best', got {self.params['variant']!r}")
        if self.params["init_samples"] < 1:
            raise NasbenchError("local_search: init_samples must be >= 1")
        self.cache: dict = {}        # canonical key -> score
        self.current = None          # (arch, score) of the climb, None while seeding
        self.init_left = self.params["init_samples"]
        self.init_best = None        # best (arch, score) among this climb's seeds
        self.queue: list = []        # neighbours still to visit
        self.best_nb = None          # best neighbour so far (best-improvement)
        self.restarts = 0

    # ----- climbing state ------------------------------------------------------------------
    def _move(self, arch, s) -> None:
        self.current = (arch, s)
        self.best_nb = None
        nbs = self.space.neighbours(arch)
        order = self.rng.permutation(len(nbs))
        self.queue = [nbs[i] for i in order]

    def _restart(self) -> None:
        self.restarts += 1
        self.current = None
        self.init_left = self.params["init_samples"]
        self.init_best = None
        self.queue = []

    def _seeded(self, arch, s) -> None:
        if self.init_best is None or s > self.init_best[1]:
            self.init_best = (arch, s)
        self.init_left -= 1
        if self.init_left <= 0:
            self._move(*self.init_best)

    def _neighbour_seen(self, arch, s) -> bool:
        """Account for an evaluated neighbour; True when the climb moved."""
        if self.params["variant"] == "first":
            if s > self.current[1]:
                self._move(arch, s)
                return True
        elif self.best_nb is None or s > self.best_nb[1]:
            self.best_nb = (arch, s)
        return False

    def _queue_done(self) -> None:
        if self.params["variant"] == "best" and self.best_nb is not None and self.best_nb[1] > self.current[1]:
            self._move(*self.best_nb)
        else:
            self._restart()

    # ----- ask / tell --------------------------------------------------------------------------
    def ask(self) -> Ask | None:
        key_of = self.space.canonical_key
        for _ in range(100 * (self.space.n_decisions * self.space.n_options + 1)):
            if self.current is None:
                arch = sample_unseen(self.space, self.rng, self.cache, self.params["max_tries"])
                if arch is None:
                    if self.init_best is not None:  # space exhausted mid-seeding: climb from what we have
                        self._move(*self.init_best)
                        continue
                    return None
                return Ask(arch)
            if not self.queue:
                self._queue_done()
                continue
            arch = self.queue.pop()
            k = key_of(arch)
            if k in self.cache:
                self._neighbour_seen(arch, self.cache[k])
                continue
            return Ask(arch)
        # pathological cycling among known cells: fall back to any unseen cell
        arch = sample_unseen(self.space, self.rng, self.cache, self.params["max_tries"])
        return None if arch is None else Ask(arch)

    def tell(self, ask: Ask, obs: Observation) -> None:
        s = score(obs)
        self.cache[self.space.canonical_key(ask.arch)] = s
        if self.current is None:
            self._seeded(ask.arch, s)
        else:
            self._neighbour_seen(ask.arch, s)
