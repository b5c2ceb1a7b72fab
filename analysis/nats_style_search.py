# %% [markdown]
# # A NATS-Bench script on nasbench_lab's tables (notebook-style walk-through)
#
# Code written for NATS-Bench's topology API runs on the built-in NAS-Bench-201 tables by
# changing one import. This walk-through (cells marked `# %%`, runnable as a script:
# `python analysis/nats_style_search.py [RUNS]`, and run by `tests/test_compat.py`) shows
# 1. the README calls of NATS-Bench, answered by the facade, next to the exports' numbers;
# 2. the random search of NATS-Bench's notebook with its hidden clock, and the same search
#    with an explicit `SimulatedClock` that never overshoots the budget.

# %%
from __future__ import annotations

import csv
import random
import sys
import time
from pathlib import Path

import numpy as np

from nasbench_lab.compat import BudgetExhausted, SimulatedClock, create

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "nb201"


def main(runs: int = 100) -> dict:
    out = {}
    # %% 1. create the API and query as NATS-Bench's README does
    t0 = time.perf_counter()
    api = create(None, "tss", fast_mode=True, verbose=False)
    print(f"create: {(time.perf_counter() - t0) * 1e3:.0f} ms; {api}")
    info = api.get_more_info(6111, "cifar10-valid", hp="200", is_random=False)
    keys = ("valid-accuracy", "test-accuracy", "train-per-time", "train-all-time", "valid-per-time")
    out["facade"] = {k: info[k] for k in keys}
    print("arch 6111, cifar10-valid, hp=200:", api.arch(6111))
    export = {}
    if (SHARED / "nb201_cifar10valid_200ep.csv").is_file():
        with open(SHARED / "nb201_cifar10valid_200ep.csv", newline="") as f:
            row = next(r for r in csv.DictReader(f) if r["index"] == "6111")
        export = {k: float(row[k]) for k in keys}
    out["export"] = export
    for k in keys:
        there = f"{export[k]:.6f}" if export else "(../shared/nb201 absent)"
        print(f"  {k:<16} facade {info[k]:12.6f}   export {there}")

    # %% 2. NATS-Bench's random-search notebook: the clock lives in the API object
    def random_search(time_budget=12000.0, dataset="cifar10"):
        api.reset_time()
        best_arch, best_acc, total = -1, -1.0, 0.0
        while total < time_budget:  # checked before the query: the last one overshoots
            arch_index = random.randint(0, len(api) - 1)
            acc, _, _, total = api.simulate_train_eval(arch_index, dataset, hp="12")
            if acc > best_acc:
                best_acc, best_arch = acc, arch_index
        return best_arch, total

    random.seed(0)
    t0 = time.perf_counter()
    hidden = [random_search() for _ in range(runs)]
    wall = time.perf_counter() - t0
    test_hidden = [api.get_more_info(a, "cifar10-valid", hp="200", is_random=False)["test-accuracy"] for a, _ in hidden]
    over = [t - 12000 for _, t in hidden]
    print(f"hidden clock: {runs} runs in {wall:.2f} s; final test {np.mean(test_hidden):.2f} +- "
          f"{np.std(test_hidden, ddof=1):.2f}; every run overshot the budget by {np.mean(over):.0f} s on average")

    # %% 3. the same search with an explicit clock per run (nothing shared, nothing overshoots)
    def random_search_clock(rng, time_budget=12000.0):
        clock = SimulatedClock(budget=time_budget)
        best_arch, best_acc = -1, -1.0
        try:
            while True:
                arch_index = int(rng.integers(len(api)))
                acc, _, _, _ = api.simulate_train_eval(arch_index, "cifar10", hp="12", clock=clock)
                if acc > best_acc:
                    best_acc, best_arch = acc, arch_index
        except BudgetExhausted:
            return best_arch, clock

    explicit = [random_search_clock(np.random.default_rng(i)) for i in range(runs)]
    test_explicit = [api.get_more_info(a, "cifar10-valid", hp="200", is_random=False)["test-accuracy"]
                     for a, _ in explicit]
    print(f"explicit clock: final test {np.mean(test_explicit):.2f} +- {np.std(test_explicit, ddof=1):.2f}; "
          f"largest clock {max(c.used for _, c in explicit):.0f} s of 12000")
    out.update(hidden_test=float(np.mean(test_hidden)), overshoot=float(np.mean(over)),
               explicit_test=float(np.mean(test_explicit)), explicit_max=max(c.used for _, c in explicit))
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
