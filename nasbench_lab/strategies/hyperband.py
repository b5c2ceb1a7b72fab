"""Hyperband (Li et al., 2018) and BOHB (Falkner et al., 2018) over the epochs of one schedule.

Fidelity is the training epoch of the search schedule. A configuration promoted from one
rung to the next is asked for again as the same architecture at a later epoch, so the
runner continues its training and charges only the extra epochs plus one validation pass:
the multi-fidelity saving is simulated honestly, never assumed. On a schedule that records
a single epoch (NAS-Bench-201's "12"), there is one fidelity, every bracket is a single
rung, and both methods reduce to sampling without replacement (BOHB: from its model).
"""
from __future__ import annotations

import math

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.strategies import register
from nasbench_lab.strategies._common import is_valid, option_counts, sample_unseen
from nasbench_lab.strategies.base import Ask, Observation, Strategy, score


def rung_plan(fidelities: tuple, eta: float, min_epoch: int) -> list[list[tuple[int, int]]]:
    """Brackets s = s_max..0, each a list of rungs (n_configs, epoch).

    Budgets R x eta^-i are rounded up to the next recorded epoch; rungs that round to the
    same epoch as the previous rung are merged (re-evaluating at the same epoch would pay a
    validation pass for nothing)."""
    fid = sorted(int(f) for f in fidelities)
    R = fid[-1]
    r_min = max(min(int(min_epoch), R), fid[0])
    s_max = int(math.floor(math.log(R / r_min) / math.log(eta) + 1e-9)) if R > r_min else 0
    brackets = []
    for s in range(s_max, -1, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * eta ** s))
        rungs: list[tuple[int, int]] = []
        for i in range(s + 1):
            budget = R * eta ** (i - s)
            epoch = next(f for f in fid if f >= budget - 1e-9)
            n_i = max(1, int(math.floor(n * eta ** (-i))))
            if rungs and rungs[-1][1] == epoch:
                continue
            rungs.append((n_i, epoch))
        brackets.append(rungs)
    return brackets


class _Bracketed(Strategy):
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        if not self.params["eta"] > 1:
            raise NasbenchError(f"{self.name}: eta must be > 1")
        if self.params["min_epoch"] < 1:
            raise NasbenchError(f"{self.name}: min_epoch must be >= 1")
        self.plan = rung_plan(context.fidelities, self.params["eta"], self.params["min_epoch"])
        self.claimed: set = set()    # canonical keys of every configuration sampled so far
        self.bracket_i = -1
        self.rung_i = 0
        self.rungs: list = []
        self.pending: list = []      # archs still to evaluate at this rung
        self.results: list = []      # (score, order, arch) at this rung
        self.obs_by_epoch: dict = {}  # epoch -> list of (choices, score)
        self.brackets_started = 0

    def _new_config(self):
        return sample_unseen(self.space, self.rng, self.claimed)

    def _start_bracket(self) -> bool:
        for _ in range(len(self.plan)):
            self.bracket_i = (self.bracket_i + 1) % len(self.plan)
            self.rungs = self.plan[self.bracket_i]
            self.rung_i = 0
            self.results = []
            configs = []
            for _ in range(self.rungs[0][0]):
                a = self._new_config()
                if a is None:
                    break
                self.claimed.add(self.space.canonical_key(a))
                configs.append(a)
            if configs:
                self.pending = configs[::-1]
                self.brackets_started += 1
                return True
        return False

    def _promote(self) -> bool:
        """Move the best of this rung to the next; False when the bracket is finished."""
        if self.rung_i + 1 >= len(self.rungs):
            return False
        planned = self.rungs[self.rung_i + 1][0]
        k = min(planned, max(1, len(self.results) // int(round(self.params["eta"]))))
        best = sorted(self.results, key=lambda t: (-t[0], t[1]))[:k]
        self.rung_i += 1
        self.results = []
        self.pending = [a for _, _, a in best][::-1]
        return bool(self.pending)

    def ask(self) -> Ask | None:
        while not self.pending:
            if self.rungs and self._promote():
                break
            if not self._start_bracket():
                return None
        return Ask(self.pending.pop(), self.rungs[self.rung_i][1])

    def tell(self, ask: Ask, obs: Observation) -> None:
        s = score(obs)
        self.results.append((s, len(self.results), ask.arch))
        self.obs_by_epoch.setdefault(obs.epoch, []).append((ask.arch.choices, s))


@register
class Hyperband(_Bracketed):
    """Hyperband: successive halving in brackets of different aggressiveness, cycled.

    Bracket s (s_max down to 0) starts ceil((s_max+1)/(s+1) x eta^s) new configurations at
    max_epoch x eta^-s and keeps the best 1/eta of each rung for the next, up to the last
    epoch of the schedule. Epoch budgets are rounded up to recorded epochs.

    Deduplication is part of the method: new configurations are sampled without replacement
    over canonical keys (no cell is started twice) and a promoted configuration continues
    its own training, paying only the increment. When every canonical key has been started
    and all brackets are finished, `ask` returns None.

    Parameters:
      eta (3): halving rate.
      min_epoch (1): smallest epoch budget (rounded up to a recorded epoch).
    """

    name = "hyperband"
    defaults = {"eta": 3, "min_epoch": 1}


@register
class BOHB(_Bracketed):
    """BOHB: Hyperband whose new configurations come from a TPE-style density-ratio model.

    The model is fitted on the observations of the largest epoch with enough of them: the
    best `top_n_percent` are "good", the rest "bad"; each is a product of Aitchison-Aitken
    categorical kernels (bandwidth per decision from the normal-reference rule, 1.06 x std x
    n^-1/5, clipped to [min_bandwidth, (K-1)/K], as BOHB's statsmodels KDE gives). A new
    configuration is, with probability `random_fraction`, uniform; otherwise the best of
    `num_samples` candidates by l(x)/g(x), each drawn from a random good point whose
    decisions are resampled with probability bandwidth x `bandwidth_factor`.

    Deduplication is part of the method: candidates with a canonical key already started are
    skipped (uniform unseen sampling is the fallback), and promoted configurations continue
    their training, paying only the increments. When every key has been started and all
    brackets are finished, `ask` returns None.

    Parameters (BOHB defaults):
      eta (3), min_epoch (1), min_points_in_model (0: number of decisions + 1),
      top_n_percent (15), num_samples (64), random_fraction (0.3333),
      bandwidth_factor (3.0), min_bandwidth (0.001).
    """

    name = "bohb"
    defaults = {"eta": 3, "min_epoch": 1, "min_points_in_model": 0, "top_n_percent": 15,
                "num_samples": 64, "random_fraction": 0.3333, "bandwidth_factor": 3.0,
                "min_bandwidth": 0.001}

    def _counts(self) -> np.ndarray:
        if getattr(self, "_K", None) is None:
            self._K = option_counts(self.space)  # options per decision (mixed spaces: NB101)
        return self._K

    def _bandwidth(self, data: np.ndarray) -> np.ndarray:
        K = self._counts()
        bw = 1.06 * data.std(0) * len(data) ** (-0.2)
        return np.clip(bw, self.params["min_bandwidth"], (K - 1) / K)

    def _density(self, cands: np.ndarray, data: np.ndarray, bw: np.ndarray) -> np.ndarray:
        K = self._counts()
        eq = cands[:, None, :] == data[None, :, :]
        k = np.where(eq, 1.0 - bw, bw / np.maximum(K - 1, 1))
        return k.prod(-1).mean(1)

    def _model_data(self):
        p = self.params
        need = p["min_points_in_model"] or self.space.n_decisions + 1
        for epoch in sorted(self.obs_by_epoch, reverse=True):
            obs = [(c, s) for c, s in self.obs_by_epoch[epoch] if s > float("-inf")]
            if len(obs) < need:
                continue
            obs.sort(key=lambda t: -t[1])
            X = np.array([c for c, _ in obs])
            n_good = max(need, (p["top_n_percent"] * len(obs)) // 100)
            good, bad = X[:n_good], X[n_good:]
            if len(good) < 2 or len(bad) < 2:
                continue
            return good, bad
        return None

    def _new_config(self):
        p = self.params
        if self.rng.random() < p["random_fraction"]:
            return sample_unseen(self.space, self.rng, self.claimed)
        data = self._model_data()
        if data is None:
            return sample_unseen(self.space, self.rng, self.claimed)
        good, bad = data
        bw_g, bw_b = self._bandwidth(good), self._bandwidth(bad)
        K = self._counts()
        m = p["num_samples"]
        base = good[self.rng.integers(len(good), size=m)]
        resample = self.rng.random(base.shape) < np.maximum(bw_g * p["bandwidth_factor"], p["min_bandwidth"])
        cands = np.where(resample, self.rng.integers(0, K[None, :], base.shape), base)
        ratio = self._density(cands, good, bw_g) / np.maximum(self._density(cands, bad, bw_b), 1e-300)
        for i in np.argsort(-ratio, kind="stable"):
            a = self.space.make(cands[i])
            if is_valid(self.space, a) and self.space.canonical_key(a) not in self.claimed:
                return a
        return sample_unseen(self.space, self.rng, self.claimed)
