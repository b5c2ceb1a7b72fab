"""Retrain K stored entries of a built table with their own seeds and compare, epoch by epoch.

On the machine (CPU and BLAS kernels) that built the table the retraining is bitwise equal;
on another CPU the rounding differs and a training diverges by chaos, so this prints how far:
per entry the final valid accuracy stored vs retrained, whether every metric is bitwise equal,
and the final difference against the table's seed noise for that cell.

    python analysis/reproduce_entries.py nb201-mnist1d --k 12
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from nasbench_lab.tables.build import train_job
from nasbench_lab.tables.table import open_table


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--k", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0, help="sampling seed of the entries")
    a = ap.parse_args(argv)
    t = open_table(a.table)
    sch = t.schedule(None)
    present = t.present(sch.name)
    full = np.flatnonzero(present.all(axis=1))
    rng = np.random.default_rng(a.seed)
    picks = rng.choice(full, size=min(a.k, len(full)), replace=False)
    va = t.array(sch.name, "valid_acc")
    print(f"{t.name}: {len(picks)} entries of {len(full)} fully trained, machine: {cpu_model()}, "
          f"table built on: {t.provenance.get('machine', '?')}")
    print(f"{'index':>6} {'seed':>4} {'stored':>7} {'retrain':>7} {'diff':>6} {'cell sd':>7} bitwise")
    diffs, sds, same = [], [], 0
    t0 = time.process_time()
    for n, i in enumerate(picks):
        si = n % len(sch.seeds)
        s = int(sch.seeds[si])
        r = train_job("check", s, int(i), t.space.name, sch.protocol)
        stored = va[i, si]
        eq = bool(np.array_equal(np.asarray(r["valid_acc"], np.float32), stored))
        same += eq
        d = float(r["valid_acc"][-1] - stored[-1])
        sd = float(np.std(va[i, :, -1], ddof=1))
        diffs.append(d)
        sds.append(sd)
        print(f"{i:>6} {s:>4} {stored[-1]:>7.2f} {r['valid_acc'][-1]:>7.2f} {d:>+6.2f} {sd:>7.2f} {eq}")
    diffs = np.array(diffs)
    print(f"bitwise equal: {same}/{len(picks)}; final valid diff: mean {diffs.mean():+.2f}, "
          f"mean |diff| {np.abs(diffs).mean():.2f}, max |diff| {np.abs(diffs).max():.2f}; "
          f"mean seed sd of these cells {np.mean(sds):.2f}; {time.process_time() - t0:.0f} CPU s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
