"""The stored runs of one (table, strategy) as flat arrays, and their anytime curves over all runs at once."""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError

_CHUNK = 8192  # runs per block of the (runs x grid) index computation (bounds its memory)


class RunColumns:
    """`ResultStore.load_columns` of one (table, strategy): run indices, metas, lengths and the
    trajectory columns concatenated over runs (run i's queries at start[i]:start[i] + length[i])."""

    def __init__(self, cols: dict):
        self.run = cols["run"]
        self.meta = cols["meta"]
        self.length = np.asarray(cols["length"], dtype=np.int64)
        self.start = np.concatenate([[0], np.cumsum(self.length)[:-1]]).astype(np.int64) if self.length.size \
            else np.zeros(0, dtype=np.int64)
        self.time, self.incumbent = cols["time"], cols["incumbent"]
        self.incumbent_valid, self.incumbent_test = cols["incumbent_valid"], cols["incumbent_test"]

    def __len__(self) -> int:
        return int(self.run.size)

    def final(self) -> dict[str, np.ndarray]:
        """RunRecord.final of every run as arrays: valid, test (NaN for a run without queries),
        arch (-1 there), time (0.0 there)."""
        has = self.length > 0
        last = self.start + self.length - 1
        out = {"valid": np.full(len(self), np.nan), "test": np.full(len(self), np.nan),
               "arch": np.full(len(self), -1, dtype=np.int64), "time": np.zeros(len(self))}
        for k, col in (("valid", self.incumbent_valid), ("test", self.incumbent_test), ("arch", self.incumbent),
                       ("time", self.time)):
            out[k][has] = col[last[has]]
        return out

    def x(self, kind: str) -> np.ndarray:
        """Each query's position on the x axis: its simulated clock, or its number (1, 2, ...)."""
        if kind == "time":
            return np.asarray(self.time, dtype=float)
        n = int(self.length.sum())
        return (np.arange(n, dtype=np.int64) - np.repeat(self.start, self.length) + 1).astype(float)


def step_index(x: np.ndarray, start: np.ndarray, length: np.ndarray, grid) -> np.ndarray:
    """index: for run i and grid point k, index[i, k] is the flat position of the run's last
    query with x <= grid[k], or x.size where there is none (before its first query). This is
    `stats.anytime_curves`'s searchsorted(x_run, grid, side="right") - 1 for every run at once: grid[k] >= x_j exactly
    when k >= searchsorted(grid, x_j, side="left"), so counting each query's first grid point
    and summing along the grid gives the same counts without a Python loop over runs.
    Runs with NaN or decreasing x are refused as `anytime_curves` refuses them."""
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1:
        raise NasbenchError("anytime_curves: grid must be one-dimensional")
    if grid.size > 1 and not (np.diff(grid) >= 0).all():
        raise NasbenchError("anytime_curves: the grid must be non-decreasing")
    x = np.asarray(x, dtype=float)
    n_runs, g = int(length.size), int(grid.size)
    bad = np.isnan(x)
    if x.size > 1:
        dec = np.diff(x) < 0
        first = start[(length > 0) & (start > 0)]
        dec[first - 1] = False  # across two runs' boundary: no order between them
        bad[1:] |= dec
    if bad.any():
        run = int(np.searchsorted(start + length, np.flatnonzero(bad)[0], side="right"))
        raise NasbenchError(f"anytime_curves: run {run} has times that are not non-decreasing")
    pos = np.searchsorted(grid, x, side="left")  # first grid point each query counts at (g: none)
    owner = np.repeat(np.arange(n_runs, dtype=np.int64), length)
    index = np.empty((n_runs, g), dtype=np.int64)
    for a in range(0, n_runs, _CHUNK):
        b = min(n_runs, a + _CHUNK)
        lo, hi = (int(start[a]), int(start[b - 1] + length[b - 1])) if b > a else (0, 0)
        cnt = np.bincount((owner[lo:hi] - a) * (g + 1) + pos[lo:hi], minlength=(b - a) * (g + 1))
        cum = np.cumsum(cnt.reshape(b - a, g + 1)[:, :g], axis=1)
        index[a:b] = np.where(cum > 0, start[a:b, None] + cum - 1, x.size)
    return index


def anytime_matrix(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The (runs x grid) step-function matrix of flat per-query `values` (NaN before a run's
    first query), from `step_index`: `stats.anytime_curves` of every run at once."""
    return np.append(np.asarray(values, dtype=float), np.nan)[index]
