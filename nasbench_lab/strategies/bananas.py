"""BANANAS-style predictor-guided search (White, Neiswanger & Savani, 2021)."""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.strategies import register
from nasbench_lab.strategies._common import ModelGuided, encode


@register
class Bananas(ModelGuided):
    """Bayesian optimisation with an ensemble of small neural predictors on the path encoding.

    The first `num_init` queries are uniform samples. Then, every `batch` queries: fit an
    ensemble of `ensemble` tanh MLPs (`layers` x `hidden`, full-batch Adam, `fit_steps`
    steps, warm-started from the previous fit) on the encodings of the architectures seen so
    far and their validation accuracies; generate `num_candidates` candidates by mutating
    the `top_k` best architectures (one to `max_mutations` mutations each); score them with
    the acquisition; queue the best `batch`. The acquisition is independent Thompson
    sampling ("its": one draw per candidate from a normal with the ensemble's mean and
    standard deviation, BANANAS's default) or an upper confidence bound ("ucb": mean +
    `kappa` x std).

    Deduplication is part of the method: candidates whose canonical key was already queried
    (or is already queued) are dropped, so no cell is paid for twice. Failed (NaN)
    trainings are kept out of the predictor's data but their keys count as seen. When every
    canonical key has been queried, `ask` returns None.

    Parameters:
      num_init (10), batch (10), num_candidates (100), top_k (10), max_mutations (1),
      ensemble (5), hidden (32), layers (2), fit_steps (150), lr (0.01),
      acquisition ("its"), kappa (1.0),
      encoding ("path"): "path" (falls back to one-hot on a space without a path encoding)
        or "onehot".
    """

    name = "bananas"
    defaults = {"num_init": 10, "batch": 10, "num_candidates": 100, "top_k": 10, "max_mutations": 1,
                "ensemble": 5, "hidden": 32, "layers": 2, "fit_steps": 150, "lr": 0.01,
                "acquisition": "its", "kappa": 1.0, "encoding": "path"}
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        p = self.params
        if p["acquisition"] not in ("its", "ucb"):
            raise NasbenchError(f"bananas: acquisition must be 'its' or 'ucb', got {p['acquisition']!r}")
        if min(p["num_init"], p["batch"], p["num_candidates"], p["top_k"], p["ensemble"], p["hidden"],
               p["layers"], p["max_mutations"]) < 1:
            raise NasbenchError("bananas: sizes and counts must be >= 1")
        self.fits = 0

    def _enc(self, arch) -> np.ndarray:
        return encode(self.space, arch, self.params["encoding"])

    def _candidates(self) -> list:
        """Fresh candidates: the top_k best cells mutated 1..max_mutations times, unseen canonical keys."""
        p = self.params
        parents = [a for _, a in sorted(self.archs, key=lambda t: -t[0])[:p["top_k"]]]
        cands, keys = [], set()
        for i in range(p["num_candidates"]):
            a = parents[i % len(parents)]
            for _ in range(int(self.rng.integers(1, p["max_mutations"] + 1))):
                a = self.space.mutate(a, self.rng)
            k = self.space.canonical_key(a)
            if k in self.seen or k in keys:
                continue
            keys.add(k)
            cands.append(a)
        return cands

    def _queue_best(self, cands: list, pred: np.ndarray) -> None:
        """Queue the batch of candidates with the best acquisition under the ensemble's
        predictions `pred` (E, n): independent Thompson sample or mean + kappa * std."""
        p = self.params
        mu, sd = pred.mean(0), pred.std(0)
        if p["acquisition"] == "its":
            acq = mu + sd * self.rng.standard_normal(mu.shape)
        else:
            acq = mu + p["kappa"] * sd
        order = np.argsort(-acq, kind="stable")[:p["batch"]]
        self.queue = [cands[i] for i in order[::-1]]  # pop() takes the best first

    def _propose(self) -> None:
        self._fit()
        self.fits += 1
        cands = self._candidates()
        if not cands:
            return
        self._queue_best(cands, self.model.predict(np.stack([self._enc(a) for a in cands])))
