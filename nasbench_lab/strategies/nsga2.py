"""NSGA-II (Deb et al., 2002) over a categorical cell space, as an ask/tell strategy."""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.objectives import observed_losses
from nasbench_lab.strategies import register
from nasbench_lab.strategies._common import is_valid, sample_unseen
from nasbench_lab.strategies.base import Ask, Observation, Strategy


def nondominated_ranks(losses: np.ndarray) -> np.ndarray:
    """Front number (0 = non-dominated) of each row of an (n, d) array to minimise; +inf rows
    are dominated by every finite one (Deb's fast non-dominated sort)."""
    n = len(losses)
    le = np.all(losses[:, None, :] <= losses[None, :, :], axis=2)
    lt = np.any(losses[:, None, :] < losses[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    count = dom.sum(axis=0)
    ranks = np.full(n, -1, dtype=np.int64)
    front = np.flatnonzero(count == 0)
    r = 0
    while front.size:
        ranks[front] = r
        count = count - dom[front].sum(axis=0)
        count[ranks >= 0] = -1
        front = np.flatnonzero(count == 0)
        r += 1
    ranks[ranks < 0] = r  # only identical +inf rows can be left: one last front
    return ranks


def crowding_distance(losses: np.ndarray) -> np.ndarray:
    """Crowding distance within one front (boundary points: inf); non-finite rows get 0."""
    n, d = losses.shape
    dist = np.zeros(n)
    ok = np.isfinite(losses).all(axis=1)
    idx = np.flatnonzero(ok)
    if idx.size <= 2:
        dist[idx] = np.inf
        return dist
    for j in range(d):
        order = idx[np.argsort(losses[idx, j], kind="stable")]
        v = losses[order, j]
        span = v[-1] - v[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (v[2:] - v[:-2]) / span
    return dist


def select(losses: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NSGA-II environmental selection: indices of the `k` survivors (whole fronts, the last
    one cut by crowding distance), with their ranks and crowding distances."""
    ranks = nondominated_ranks(losses)
    crowd = np.zeros(len(losses))
    for r in np.unique(ranks):
        m = np.flatnonzero(ranks == r)
        crowd[m] = crowding_distance(losses[m])
    order = np.lexsort((-crowd, ranks))  # rank ascending, crowding descending; stable
    keep = np.sort(order[:k])
    return keep, ranks[keep], crowd[keep]


@register
class NSGA2(Strategy):
    """NSGA-II: non-dominated sorting and crowding distance, (mu + lambda) generations.

    Minimises the run's objective vector (-validation accuracy, then cost metrics such as
    params; `--objectives`); in a plain accuracy run it is a generational GA on accuracy.
    Failed and infeasible observations count as dominated by every real one.

    Parameters:
      population (20): parents per generation; the first `population` asks are uniform
        samples, then each generation asks `population` children and keeps the best
        `population` of parents + children (fronts, then crowding distance).
      crossover_prob (0.9): probability that a child takes each decision uniformly from one
        of two parents (uniform crossover); otherwise it copies the first parent.
      mutation_prob (1.0): probability that the child then gets one mutation (the space's
        own: for NB201 a node, one of its incoming edges, a different op).
      dedup (True): never ask a canonical key already asked; a child that would be one is
        redrawn (up to `max_tries`), then a uniform unseen cell is asked instead.
      max_tries (50): child draws per ask before that fallback.
    Parents are chosen by binary tournaments on (front, crowding distance), as in Deb et al.
    """

    name = "nsga2"
    defaults = {"population": 20, "crossover_prob": 0.9, "mutation_prob": 1.0, "dedup": True, "max_tries": 50}
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        p = self.params
        if p["population"] < 2:
            raise NasbenchError("nsga2 needs population >= 2")
        for k in ("crossover_prob", "mutation_prob"):
            if not 0.0 <= p[k] <= 1.0:
                raise NasbenchError(f"nsga2 needs 0 <= {k} <= 1, got {p[k]}")
        if p["max_tries"] < 1:
            raise NasbenchError("nsga2 needs max_tries >= 1")
        self.parents: list = []    # [(arch, losses)] of the current generation
        self.ranks = np.zeros(0, dtype=np.int64)
        self.crowd = np.zeros(0)
        self.children: list = []   # told in this generation (the initial sample first)
        self.asked: set = set()    # canonical keys already asked

    # -------------------------------------------------------------------- asking
    def _tournament(self) -> int:
        i, j = (int(x) for x in self.rng.integers(len(self.parents), size=2))
        if (self.ranks[i], -self.crowd[i]) <= (self.ranks[j], -self.crowd[j]):
            return i
        return j

    def _child(self):
        space, rng = self.space, self.rng
        a = self.parents[self._tournament()][0]
        if rng.random() < self.params["crossover_prob"]:
            b = self.parents[self._tournament()][0]
            take = rng.random(space.n_decisions) < 0.5
            child = space.make([cb if t else ca for ca, cb, t in zip(a.choices, b.choices, take.tolist())])
            if not is_valid(space, child):
                child = a
        else:
            child = a
        if rng.random() < self.params["mutation_prob"]:
            child = space.mutate(child, rng)
        return child

    def ask(self) -> Ask | None:
        space = self.space
        if not self.parents:
            arch = sample_unseen(space, self.rng, self.asked) if self.params["dedup"] else space.sample(self.rng)
        else:
            arch = None
            for _ in range(self.params["max_tries"]):
                c = self._child()
                if not self.params["dedup"] or space.canonical_key(c) not in self.asked:
                    arch = c
                    break
            if arch is None:
                arch = sample_unseen(space, self.rng, self.asked)
        if arch is None:
            return None
        self.asked.add(space.canonical_key(arch))
        return Ask(arch)

    # -------------------------------------------------------------------- telling
    def tell(self, ask: Ask, obs: Observation) -> None:
        self.children.append((ask.arch, observed_losses(obs)))
        n = self.params["population"]
        if len(self.children) < n:
            return
        pool = self.parents + self.children
        keep, self.ranks, self.crowd = select(np.array([m[1] for m in pool], dtype=float), n)
        self.parents = [pool[i] for i in keep.tolist()]
        self.children = []
