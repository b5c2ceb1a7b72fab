"""Helpers shared by the built-in strategies: canonical-key bookkeeping and unseen sampling.

Nothing here touches global random state; every random choice takes the caller's
`numpy.random.Generator`.
"""
from __future__ import annotations

import numpy as np

from nasbench_lab.spaces import Arch, SearchSpace
from nasbench_lab.strategies.base import Ask, Observation, Strategy

# per-space list of canonical keys by index; built lazily (NB201: ~0.2 s, once per process)
_ALL_KEYS: dict[str, list] = {}


def all_keys(space: SearchSpace) -> list:
    keys = _ALL_KEYS.get(space.name)
    if keys is None:
        valid = getattr(space, "is_valid", None)
        keys = []
        for i in range(space.size):
            a = space.from_index(i)
            keys.append(space.canonical_key(a) if valid is None or valid(a) else None)
        _ALL_KEYS[space.name] = keys
    return keys


def option_counts(space: SearchSpace) -> np.ndarray:
    """Options per decision. Product spaces (NB201) have `n_options` everywhere; a mixed space
    (NB101: binary edges, 3 ops) says so with an `option_counts` attribute or `_options(i)`."""
    counts = getattr(space, "option_counts", None)
    if counts is None:
        counts = [space.n_options] * space.n_decisions
    return np.asarray(counts, dtype=np.int64)


def is_valid(space: SearchSpace, arch: Arch) -> bool:
    """False for cells a space marks invalid (NB101: input does not reach output)."""
    check = getattr(space, "is_valid", None)
    return True if check is None else bool(check(arch))


def onehot(choices, n_options: int) -> np.ndarray:
    """A [decisions x n_options] one-hot, flattened (the relaxation's vertex of a cell)."""
    x = np.zeros((len(choices), n_options))
    x[np.arange(len(choices)), list(choices)] = 1.0
    return x.ravel()


def sample_unseen(space: SearchSpace, rng: np.random.Generator, seen, max_tries: int = 100) -> Arch | None:
    """A uniform sample whose canonical key is not in `seen` (a set or dict of keys).

    Tries `max_tries` plain samples first (cheap while most of the space is unseen); then
    enumerates the space and picks uniformly among the (valid) architectures with an unseen
    key.
    Returns None when every canonical key has been seen: the space is exhausted.
    """
    for _ in range(max_tries):
        arch = space.sample(rng)
        if space.canonical_key(arch) not in seen:
            return arch
    keys = all_keys(space)
    free = [i for i, k in enumerate(keys) if k is not None and k not in seen]
    if not free:
        return None
    return space.from_index(free[int(rng.integers(len(free)))])


def encode(space: SearchSpace, arch: Arch, encoding: str) -> np.ndarray:
    """'path' (BANANAS path encoding, where the space has one) or 'onehot'."""
    if encoding == "path" and hasattr(space, "encode_path"):
        return space.encode_path(arch)
    return space.encode_onehot(arch)


def adam_step(params: list, grads: list, state: dict, lr: float, b1: float = 0.9, b2: float = 0.999,
              eps: float = 1e-8) -> None:
    """One in-place Adam step over a list of arrays; `state` holds the moments and step count."""
    if not state:
        state["t"] = 0
        state["m"] = [np.zeros_like(p) for p in params]
        state["v"] = [np.zeros_like(p) for p in params]
    state["t"] += 1
    t = state["t"]
    step = lr / (1 - b1 ** t)
    root_c2 = np.sqrt(1 - b2 ** t)
    for p, g, m, v in zip(params, grads, state["m"], state["v"]):
        tmp = g * (1 - b1)
        m *= b1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v *= b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / root_c2
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= step
        p -= tmp


class ModelGuided(Strategy):
    """Shared loop of predictor-guided strategies (BANANAS, gradient surrogate): uniform
    unseen samples until `num_init` observations, then batches of proposals from
    `_propose()` (which fills `self.queue`, best last); a canonical key is never paid twice.
    Subclasses implement `_enc(arch)` (the model's input) and `_propose()`."""

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.seen: dict = {}      # canonical key -> score (NaN for a failed training)
        self.X: list = []
        self.y: list = []
        self.archs: list = []     # (score, arch) of finite observations
        self.queue: list = []
        self.model = None         # an MLPEnsemble once there is data, refitted warm
        self._adam: dict = {}

    def _enc(self, arch) -> np.ndarray:
        raise NotImplementedError

    def _fit(self) -> None:
        """(Re)fit the MLP ensemble on all finite observations, warm-starting Adam."""
        from nasbench_lab.strategies._mlp import MLPEnsemble

        p = self.params
        X = np.asarray(self.X, dtype=float)
        if self.model is None:
            self.model = MLPEnsemble(X.shape[1], members=p["ensemble"], hidden=p["hidden"],
                                     layers=p["layers"], rng=self.rng)
            self._adam = {}
        self.model.fit(X, np.asarray(self.y), steps=p["fit_steps"], lr=p["lr"], warm=self._adam)

    def _propose(self) -> None:
        raise NotImplementedError

    def ask(self) -> Ask | None:
        if not self.queue and len(self.seen) >= self.params["num_init"] and len(self.y) >= 2:
            self._propose()
        while self.queue:
            a = self.queue.pop()
            if self.space.canonical_key(a) not in self.seen:
                return Ask(a)
        arch = sample_unseen(self.space, self.rng, self.seen)
        return None if arch is None else Ask(arch)

    def tell(self, ask: Ask, obs: Observation) -> None:
        v = obs.valid_acc
        self.seen[self.space.canonical_key(ask.arch)] = v
        if v == v:
            self.X.append(self._enc(ask.arch))
            self.y.append(float(v))
            self.archs.append((float(v), ask.arch))
