"""Table open time and per-query time, against a plain numpy array lookup, side by side.

Usage: python analysis/bench_query.py [TABLE]   (default: the shipped NB201 table
nb201-cifar10-valid, converted from the NAS-Bench-201 exports)

Prints absolute times and ratios to the numpy reference measured in the same process.
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from nasbench_lab.tables import Table


def best_of(fn, repeat=5):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main(path: str | None = None) -> None:
    if path is None:
        from nasbench_lab.tables import builtin_tables

        path = str(builtin_tables()["nb201-cifar10-valid"])  # the shipped NAS-Bench-201 table
    # open time in fresh processes (imports excluded, so this is the file open itself)
    code = ("import time; from nasbench_lab.tables import Table; import h5py; t=time.perf_counter(); "
            f"Table({path!r}); print(time.perf_counter()-t)")
    opens = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(5)]
    t = Table(path)
    sch = t.schedule(None)
    n = 20000
    rng = np.random.default_rng(0)
    idx = rng.integers(0, t.n_archs, n)
    t0 = time.perf_counter()
    arr = t.array(sch.name, "valid_acc")
    first_read = time.perf_counter() - t0
    seed_label = sch.seeds[0]

    def table_scalar():
        for i in idx[:5000]:
            t.query(int(i), schedule=sch.name, seed=seed_label)

    arrays = [t.array(sch.name, m) for m in sch.metrics]

    def numpy_scalar():  # the same values Table.query returns, from plain arrays
        for i in idx[:5000]:
            [float(a[int(i), 0, -1]) for a in arrays]

    def table_vector():
        t.lookup("valid_acc", idx, schedule=sch.name, seed=seed_label)

    def numpy_vector():
        arr[idx, 0, -1]

    ts, ns = best_of(table_scalar) / 5000, best_of(numpy_scalar) / 5000
    tv, nv = best_of(table_vector) / n, best_of(numpy_vector) / n
    print(f"table: {path} ({t.name}, schedule {sch.name})")
    print(f"open (fresh process, median of 5): {np.median(opens) * 1e3:.2f} ms; first read of one metric "
          f"array {first_read * 1e3:.2f} ms")
    print(f"{'lookup':<34}{'table':>12}{'numpy':>12}{'ratio':>8}")
    print(f"{'scalar Table.query (all metrics)':<34}{ts * 1e6:>10.2f}us{ns * 1e6:>10.2f}us{ts / ns:>8.1f}")
    print(f"{'vectorised Table.lookup':<34}{tv * 1e9:>10.1f}ns{nv * 1e9:>10.1f}ns{tv / nv:>8.2f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
