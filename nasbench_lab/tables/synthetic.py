"""A synthetic NB201 table for tests: a seeded, closed-form landscape, built in ~1 s.

It is a test fixture, not a benchmark: accuracies come from a formula (op and path effects
plus seed noise and a saturating learning curve), costs grow with the number of
convolutions. It exercises every code path of the table format, runner and strategies
without ../shared and without training anything. Its provenance says so.
"""
from __future__ import annotations

import os

import numpy as np

from nasbench_lab.spaces import NB201
from nasbench_lab.spaces.nb201 import CONV1, CONV3, NONE, POOL, SKIP
from nasbench_lab.tables.writer import TableWriter


def make_synthetic_table(path: str | os.PathLike, *, seed: int = 0, n_seeds: int = 3, epochs: int = 12,
                         recorded=None, name: str = "synthetic-nb201", nan_fraction: float = 0.0,
                         missing_fraction: float = 0.0) -> str:
    """Write a synthetic table with one schedule (`epochs`) and return its path.

    nan_fraction: share of (arch, seed) trainings that diverged (NaN accuracy, finite time).
    missing_fraction: share of (arch, seed) entries recorded as missing (present=False);
    at least one seed per architecture is always kept.
    """
    rng = np.random.default_rng(seed)
    n = NB201.size
    recorded = list(recorded or range(1, epochs + 1))
    choices = np.array([NB201.from_index(i).choices for i in range(n)])
    w_op = np.array([-2.0, 0.5, 1.2, 2.0, 0.3])
    w_edge = rng.uniform(0.5, 1.5, 6)
    quality = (w_op[choices] * w_edge).sum(1)
    disconnected = np.array([NB201.is_disconnected(NB201.from_index(i)) for i in range(n)])
    final = 60 + 3.0 * quality + rng.normal(0, 0.8, n)
    final[disconnected] = 10.0
    final = np.clip(final, 10, 95)
    n_conv = (choices == CONV1).sum(1) + 2 * (choices == CONV3).sum(1)
    per_epoch = 5.0 + 2.0 * n_conv + 0.5 * (choices == POOL).sum(1) + 0.1 * (choices == SKIP).sum(1) \
        - 0.2 * (choices == NONE).sum(1)
    ep = np.asarray(recorded, dtype=float)
    curve = 1 - np.exp(-3.0 * ep / epochs)  # fraction of the final accuracy gap closed
    shape = (n, n_seeds, len(ep))
    noise = rng.normal(0, 0.6, (n, n_seeds, 1))
    valid = 10 + (final[:, None, None] - 10) * curve[None, None, :] + noise + rng.normal(0, 0.2, shape)
    test = valid + rng.normal(0, 0.4, shape)
    train = np.minimum(valid + 5 * curve, 100)
    train_time = per_epoch[:, None, None] * ep[None, None, :] * rng.uniform(0.95, 1.05, (n, n_seeds, 1))
    valid_time = np.broadcast_to((0.2 * per_epoch)[:, None, None], shape).copy()
    present = np.ones((n, n_seeds), dtype=bool)
    if missing_fraction > 0:
        present[:, 1:] = rng.random((n, n_seeds - 1)) >= missing_fraction
    if nan_fraction > 0:
        diverged = (rng.random((n, n_seeds)) < nan_fraction)[:, :, None] & np.ones(shape, bool)
        valid[diverged] = np.nan
        test[diverged] = np.nan
    metrics = {"valid_acc": valid, "test_acc": test, "train_acc": train,
               "valid_loss": (100 - valid) / 40, "test_loss": (100 - test) / 40,
               "train_loss": (100 - train) / 40, "train_time": train_time,
               "valid_time": valid_time, "test_time": valid_time}
    for k in metrics:
        metrics[k] = np.where(present[:, :, None], metrics[k], np.nan)
    with TableWriter(path, name=name, space=NB201, dataset="synthetic",
                     provenance={"source": "closed-form synthetic landscape for tests (not trained)",
                                 "seed": seed}) as w:
        w.add_schedule(str(epochs), epochs=epochs, recorded_epochs=recorded,
                       seeds=[str(s) for s in range(n_seeds)], protocol={"synthetic": True})
        for k, v in metrics.items():
            w.write(str(epochs), k, v)
        w.set_present(str(epochs), present)
        w.set_static("params", 1000 + 500 * n_conv)
    add_synthetic_proxies(path, final, 0.002 * (1 + n_conv), seed)
    return os.fspath(path)


def add_synthetic_proxies(path, quality: np.ndarray, seconds: np.ndarray, seed: int) -> None:
    """Proxies for test tables: every proxy of proxies/scores.py, 2 init seeds, scores that follow
    `quality` more or less closely (the first proxy most), `seconds` per arch times 1..4 by proxy."""
    from nasbench_lab.proxies.scores import PROXIES
    from nasbench_lab.tables.proxy_store import write_into

    rng = np.random.default_rng([seed, 0x9A0C])  # a stream of its own: the table's arrays are unchanged
    names = list(PROXIES)
    n, P = quality.shape[0], len(names)
    z = (quality - quality.mean()) / (quality.std() or 1.0)
    weight = np.linspace(1.0, 0.1, P)
    scores = z[:, None, None] * weight[None, None, :] + rng.normal(0, 0.5, (n, 2, P))
    secs = np.asarray(seconds, float)[:, None, None] * np.linspace(1, 4, P)[None, None, :] * np.ones((1, 2, 1))
    write_into(path, names=names, seeds=["0", "1"], setting={"synthetic": True, "names": names}, scores=scores,
               seconds=secs, present=np.ones((n, 2), bool))
