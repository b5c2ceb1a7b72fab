"""BANANAS whose predictor also sees zero-cost proxies of each cell, asked of the runner and charged on the clock."""
from __future__ import annotations

import math

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.strategies import register
from nasbench_lab.strategies._common import sample_unseen
from nasbench_lab.strategies.bananas import Bananas
from nasbench_lab.strategies.base import Ask
from nasbench_lab.strategies.proxy_asks import ProxyAsk, ProxyObservation


def _names(value) -> tuple:
    names = tuple(s.strip() for s in value.split(",")) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(s, str) and s for s in names) or len(set(names)) != len(names):
        raise NasbenchError(f"proxy_bananas: proxies must be distinct proxy names like 'synflow,naswot', "
                            f"got {value!r}")
    return names


@register
class ProxyBananas(Bananas):
    """BANANAS whose predictor input is the cell's encoding plus its normalised zero-cost proxies.

    Every cell the predictor sees (each one trained and each candidate it scores) is first
    scored by every proxy in `proxies` through `ProxyAsk`, so each proxy's CPU seconds are
    charged on the simulated clock (not a query of `--budget-queries`). Values are cached per
    canonical key: a cell is paid for once per proxy, also when it is later trained. Candidates
    of a batch are scored before the ensemble is fitted, so the training cells and the
    candidates are normalised over the same values.

    Normalisation, per proxy, over every value seen so far (trained cells and candidates):
    "rank" (mid-rank / count, in (0, 1]; robust to synflow's range of ten orders of magnitude)
    or "zscore" (minus the mean, over the standard deviation). An undefined value (NaN, -inf)
    ranks below every defined one (z-score: takes the lowest defined value).

    Parameters:
      proxies ("synflow,naswot"): comma-separated names of the table's proxies (the table needs
        them: `nasbench-lab proxies TABLE`); normalise ("rank") or "zscore";
      and every parameter of `bananas`, same defaults: num_init (10), batch (10),
      num_candidates (100), top_k (10), max_mutations (1), ensemble (5), hidden (32),
      layers (2), fit_steps (150), lr (0.01), acquisition ("its"), kappa (1.0),
      encoding ("path").
    """

    name = "proxy_bananas"
    defaults = {**Bananas.defaults, "proxies": "synflow,naswot", "normalise": "rank"}

    @classmethod
    def asked_proxies(cls, params):
        return _names(params["proxies"])

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self._proxies = _names(self.params["proxies"])
        if self.params["normalise"] not in ("rank", "zscore"):
            raise NasbenchError(f"proxy_bananas: normalise must be 'rank' or 'zscore', "
                                f"got {self.params['normalise']!r}")
        self._values: dict = {}   # canonical key -> {proxy: value}
        self._need: list = []     # ProxyAsks still to make, next last
        self._next = None         # the arch to train once its proxies are in
        self._cands = None        # a batch's candidates waiting for their proxies

    # ----- features ----------------------------------------------------------------------
    def _missing(self, arch) -> list:
        have = self._values.get(self.space.canonical_key(arch), {})
        return [ProxyAsk(arch, proxy=n) for n in self._proxies if n not in have]

    def _features(self, archs: list) -> np.ndarray:
        """Encodings of `archs` followed by their proxies, normalised over all values seen."""
        enc = np.stack([self._enc(a) for a in archs])
        keys = [self.space.canonical_key(a) for a in archs]
        cols = []
        for n in self._proxies:
            seen = np.array([v[n] for v in self._values.values()], dtype=float)
            x = np.array([self._values[k][n] for k in keys], dtype=float)
            seen[~np.isfinite(seen)] = -math.inf
            x[~np.isfinite(x)] = -math.inf
            if self.params["normalise"] == "rank":
                s = np.sort(seen)
                cols.append((np.searchsorted(s, x, "left") + np.searchsorted(s, x, "right")) / (2.0 * s.size))
            else:
                fin = seen[np.isfinite(seen)]
                if fin.size == 0:
                    cols.append(np.zeros(len(archs)))
                    continue
                x[~np.isfinite(x)] = fin.min()
                cols.append((x - fin.mean()) / (fin.std() or 1.0))
        return np.concatenate([enc, np.stack(cols, 1)], axis=1)

    # ----- the loop ----------------------------------------------------------------------
    def _train(self, arch):
        need = self._missing(arch)
        if not need:
            return Ask(arch)
        self._next, self._need = arch, need[::-1]
        return self._need.pop()

    def _propose(self) -> None:
        """Mutate the best cells into fresh candidates and ask for their proxies."""
        cands = self._candidates()
        self._cands = cands
        self._need = [q for a in cands for q in self._missing(a)][::-1]

    def _score(self) -> None:
        """Fit the ensemble on the trained cells, queue the candidates' best `batch`."""
        p, cands = self.params, self._cands
        self._cands = None
        if not cands:
            return
        X = self._features([a for _, a in self.archs])
        if self.model is None:
            from nasbench_lab.strategies._mlp import MLPEnsemble

            self.model = MLPEnsemble(X.shape[1], members=p["ensemble"], hidden=p["hidden"],
                                     layers=p["layers"], rng=self.rng)
            self._adam = {}
        self.model.fit(X, np.asarray(self.y), steps=p["fit_steps"], lr=p["lr"], warm=self._adam)
        self.fits += 1
        self._queue_best(cands, self.model.predict(self._features(cands)))

    def ask(self) -> Ask | None:
        if self._need:
            return self._need.pop()
        if self._next is not None:
            arch, self._next = self._next, None
            return Ask(arch)
        if self._cands is not None:
            self._score()
        elif not self.queue and len(self.seen) >= self.params["num_init"] and len(self.y) >= 2:
            self._propose()
            if self._need:
                return self._need.pop()
            self._score()
        while self.queue:
            a = self.queue.pop()
            if self.space.canonical_key(a) not in self.seen:
                return self._train(a)
        arch = sample_unseen(self.space, self.rng, self.seen)
        return None if arch is None else self._train(arch)

    def tell(self, ask, obs) -> None:
        if isinstance(obs, ProxyObservation):
            self._values.setdefault(self.space.canonical_key(ask.arch), {})[obs.proxy] = float(obs.value)
            return
        v = obs.valid_acc
        self.seen[self.space.canonical_key(ask.arch)] = v
        if v == v:
            self.y.append(float(v))
            self.archs.append((float(v), ask.arch))
