"""Benchmark: one supernet training step against the single-cell steps it stands for.

Measures CPU time (time.process_time, one BLAS thread) of one forward+backward at batch
64 on the built-in protocol's shapes for
  - the supernet with every op of every edge computed (DARTS, SETN's alpha step),
  - the supernet with one path per edge (GDAS, RSPS, SETN's weight step),
  - single-cell `Network`s of randomly drawn cells (what a multi-trial method trains),
and reports the supernet step against the mean single-cell step and against the sum of
the single-cell steps of the 5 cells it superposes (one per op on every edge: e.g. the
5 uniform cells).

    python analysis/bench_supernet.py            # 20 random cells, 30 timed steps each
    python analysis/bench_supernet.py --cells 5 --steps 10
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench_lab.live.layers import softmax_cross_entropy  # noqa: E402
from nasbench_lab.live.network import Network  # noqa: E402
from nasbench_lab.live.protocol import BUILTIN_PROTOCOL as P  # noqa: E402
from nasbench_lab.live.supernet import Supernet, softmax  # noqa: E402
from nasbench_lab.spaces import NB201, Arch  # noqa: E402


def median_step(fn, steps: int) -> float:
    fn()
    ts = []
    for _ in range(steps):
        t = time.process_time()
        fn()
        ts.append(time.process_time() - t)
    return float(np.median(ts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=20)
    ap.add_argument("--steps", type=int, default=30)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 64, 1)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    sup = Supernet(C=P.channels, N=P.cells_per_stage, seed=0)
    sup.flatten()
    w = softmax(1e-3 * rng.standard_normal((6, 5)))

    def sup_step(active=None):
        def f():
            act = active if active is not None else None
            _, g, _ = softmax_cross_entropy(sup.forward(x, w, act), y)
            sup.backward(g)
        return f

    t_all = median_step(sup_step(), a.steps)
    paths = [tuple(int(c) for c in rng.integers(0, 5, 6)) for _ in range(a.steps)]
    it = iter(paths * 3)
    t_path = median_step(lambda: sup_step(next(it))(), a.steps)

    def net_step(arch):
        net = Network(arch, C=P.channels, N=P.cells_per_stage)

        def f():
            _, g, _ = softmax_cross_entropy(net.forward(x, True), y)
            net.backward(g)
        return f

    singles = [median_step(net_step(NB201.from_index(int(i))), a.steps)
               for i in rng.choice(15625, a.cells, replace=False)]
    uniform = [median_step(net_step(Arch("nb201", (k,) * 6)), a.steps) for k in range(5)]
    print(f"built-in protocol shapes (L=40, batch 64, C={P.channels}, N={P.cells_per_stage}); "
          f"median CPU ms per forward+backward")
    print(f"  supernet, all 5 ops on every edge : {1e3 * t_all:7.2f}")
    print(f"  supernet, one path per edge       : {1e3 * t_path:7.2f}")
    print(f"  single cell, mean of {a.cells:3d} random  : {1e3 * np.mean(singles):7.2f} "
          f"(min {1e3 * min(singles):.2f}, max {1e3 * max(singles):.2f})")
    print(f"  sum of the 5 uniform cells        : {1e3 * sum(uniform):7.2f} "
          f"({', '.join(f'{1e3 * u:.2f}' for u in uniform)})")
    print(f"  all-ops step / sum of uniform cells: {t_all / sum(uniform):.2f}; "
          f"one-path step / mean random cell: {t_path / np.mean(singles):.2f}")


if __name__ == "__main__":
    main()
