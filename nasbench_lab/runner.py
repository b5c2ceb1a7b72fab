"""The ask/tell loop: the only code that queries a table and charges the simulated clock.

Semantics (design.md section 3):
- cost of a query = training time up to the asked epoch + one validation pass; asking again
  for an architecture already trained in this run continues that training and charges
  only the extra epochs (none if the epoch was already reached) plus the validation pass;
- a query that would exceed the time budget is not made, not scored and not charged, and
  the search stops there (NAS-Bench-201's protocol);
- an architecture keeps one table seed for the whole run; which seed is drawn from the
  run's noise stream, which depends only on (seed, run index, architecture), so run i of
  every strategy sees the same noise: runs can be paired across strategies;
- the incumbent is the architecture with the best validation accuracy observed so far
  (ties: the earlier one); it is reported with the report schedule's seed-mean validation
  and test accuracy, never with a running max of test accuracy.
"""
from __future__ import annotations

import math
import time as _time
from dataclasses import asdict, dataclass, field

import numpy as np

from nasbench_lab import NasbenchError, __version__
from nasbench_lab.strategies import SearchContext, get_strategy
from nasbench_lab.strategies.base import Ask, Observation, score
from nasbench_lab.tables.table import Table


@dataclass(frozen=True)
class Budget:
    seconds: float | None = None
    queries: int | None = None

    def __post_init__(self):
        if self.seconds is None and self.queries is None:
            raise NasbenchError("give a budget: --budget-seconds X and/or --budget-queries Q")
        if self.seconds is not None and not (self.seconds > 0 and math.isfinite(self.seconds)):
            raise NasbenchError(f"--budget-seconds must be a positive number, got {self.seconds}")
        if self.queries is not None and (int(self.queries) != self.queries or self.queries <= 0):
            raise NasbenchError(f"--budget-queries must be a positive integer, got {self.queries}")


@dataclass
class RunRecord:
    """One finished run: metadata and the full trajectory (one row per query)."""

    meta: dict
    time: list = field(default_factory=list)            # simulated clock after the query
    arch: list = field(default_factory=list)            # architecture index queried
    epoch: list = field(default_factory=list)           # epoch queried
    cost: list = field(default_factory=list)            # simulated seconds charged
    valid: list = field(default_factory=list)           # observed validation accuracy
    incumbent: list = field(default_factory=list)       # incumbent's index
    incumbent_valid: list = field(default_factory=list)  # report-schedule valid acc (seed mean)
    incumbent_test: list = field(default_factory=list)   # report-schedule test acc (seed mean)

    @property
    def n_queries(self) -> int:
        return len(self.time)

    @property
    def final(self) -> dict:
        if not self.time:
            return {"valid": float("nan"), "test": float("nan"), "arch": None, "time": 0.0}
        return {"valid": self.incumbent_valid[-1], "test": self.incumbent_test[-1],
                "arch": self.incumbent[-1], "time": self.time[-1]}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunRecord":
        return cls(**d)


class SearchView:
    """The arrays of one table schedule that a search needs, fetched once."""

    def __init__(self, table: Table, search_schedule, report_schedule):
        self.table = table
        self.search = table.schedule(search_schedule)
        self.report = table.schedule(report_schedule if report_schedule is not None else self.search.name)
        s = self.search.name
        if "valid_acc" not in self.search.metrics:
            raise NasbenchError(f"table {table.name!r} (dataset {table.dataset}) has no validation "
                                f"accuracy in schedule {s!r}, so nothing to search on; NATS-Bench's "
                                "cifar10 has no validation split: search on a cifar10-valid table")
        nan = np.full((table.n_archs, len(self.search.seeds), len(self.search.recorded_epochs)), np.nan,
                      dtype=np.float32)
        self.metrics = {m: (table.array(s, m) if m in self.search.metrics else nan)
                        for m in ("valid_acc", "valid_loss", "train_acc", "train_loss",
                                  "train_time", "valid_time")}
        self.present = table.present(s)
        idx = np.arange(table.n_archs)
        self.report_valid = table.lookup("valid_acc", idx, self.report.name)
        self.report_test = table.lookup("test_acc", idx, self.report.name) \
            if "test_acc" in self.report.metrics else np.full(table.n_archs, np.nan)
        self.has_costs = table.has_costs(s)
        table.check_holes(s)

    def seed_column(self, idx: int, u: float) -> int:
        cols = np.flatnonzero(self.present[idx])
        if cols.size == 0:
            return -1
        return int(cols[min(int(u * cols.size), cols.size - 1)])


def run_search(table: Table, strategy, *, seed: int, run: int = 0, budget: Budget,
               params: dict | None = None, search_schedule=None, report_schedule=None,
               view: SearchView | None = None) -> RunRecord:
    """Run one seeded search of `strategy` on `table` and return its record."""
    view = view or SearchView(table, search_schedule, report_schedule)
    if budget.seconds is not None and not view.has_costs:
        raise NasbenchError(f"table {table.name!r} has no costs in schedule {view.search.name!r}: "
                            "use --budget-queries instead of --budget-seconds")
    cls = strategy if isinstance(strategy, type) else get_strategy(strategy)
    strategy = cls.name or cls.__name__
    strategy_ss, noise_ss = np.random.SeedSequence([int(seed), int(run)]).spawn(2)
    noise_u = np.random.default_rng(noise_ss).random(table.n_archs)
    context = SearchContext(space=table.space, fidelities=view.search.recorded_epochs,
                            max_queries=budget.queries, max_seconds=budget.seconds)
    strat = cls(context, np.random.default_rng(strategy_ss), **(params or {}))
    record = RunRecord(meta={
        "strategy": strategy, "params": strat.params, "seed": int(seed), "run": int(run),
        "table": table.name, "table_hash": table.content_hash, "space": table.space.name,
        "search_schedule": view.search.name, "report_schedule": view.report.name,
        "budget_seconds": budget.seconds, "budget_queries": budget.queries,
        "software_version": __version__})
    run_loop(strat, view, noise_u, budget, record)
    return record


def run_loop(strat, view: SearchView, noise_u: np.ndarray, budget: Budget, record: RunRecord) -> None:
    """Drive an already constructed strategy; appends to `record`. Exposed for the conformance
    suite, which pickles a strategy mid-run and resumes it."""
    space = view.table.space
    m = view.metrics
    trained: dict[int, tuple[int, int]] = {}  # idx -> (seed column, furthest epoch index)
    clock = record.time[-1] if record.time else 0.0
    best = (float("-inf"), -1)
    if record.time:  # resuming: rebuild the state from the trajectory
        for idx, ep, v in zip(record.arch, record.epoch, record.valid):
            ei = view.search.recorded_epochs.index(ep)
            col, prev = trained.get(idx, (view.seed_column(idx, noise_u[idx]), -1))
            trained[idx] = (col, max(prev, ei))
            s = float("-inf") if v != v else v
            if s > best[0]:
                best = (s, idx)
    wall0 = _time.perf_counter()
    while budget.queries is None or len(record.time) < budget.queries:
        ask = strat.ask()
        if ask is None:
            break
        if not isinstance(ask, Ask):
            raise NasbenchError(f"strategy {record.meta['strategy']!r} returned {type(ask).__name__} "
                                "from ask(); it must return an Ask or None")
        arch = space.check(ask.arch)
        idx = space.to_index(arch)
        ei = view.search.epoch_index(ask.epoch)
        col, prev = trained.get(idx, (None, -1))
        if col is None:
            col = view.seed_column(idx, noise_u[idx])
        if col < 0:
            raise NasbenchError(f"table {view.table.name!r} has no trained entry for arch {idx} in "
                                f"schedule {view.search.name!r}: the table is incomplete (a build "
                                "still running?); finish or resume it first")
        tt = m["train_time"][idx, col]
        train_cost = float(tt[ei]) - (float(tt[prev]) if prev >= 0 else 0.0)
        cost = max(train_cost, 0.0) + float(m["valid_time"][idx, col, ei])
        va = float(m["valid_acc"][idx, col, ei])
        vl = float(m["valid_loss"][idx, col, ei])
        ta = float(m["train_acc"][idx, col, ei])
        tl = float(m["train_loss"][idx, col, ei])
        if cost != cost:
            if view.has_costs:
                raise NasbenchError(f"table {view.table.name!r}: no cost for arch {idx} at epoch "
                                    f"{view.search.recorded_epochs[ei]}; the table is damaged: "
                                    "re-import or rebuild it")
            cost = 0.0
        if budget.seconds is not None and clock + cost > budget.seconds:
            break
        clock += cost
        trained[idx] = (col, max(prev, ei))
        epoch = view.search.recorded_epochs[ei]
        obs = Observation(arch=arch, epoch=epoch, valid_acc=va, valid_loss=vl, train_acc=ta,
                          train_loss=tl, cost=cost, time=clock)
        s = score(obs)
        if s > best[0] or best[1] < 0:
            best = (s, idx)
        record.time.append(clock)
        record.arch.append(idx)
        record.epoch.append(epoch)
        record.cost.append(cost)
        record.valid.append(va)
        record.incumbent.append(best[1])
        record.incumbent_valid.append(float(view.report_valid[best[1]]))
        record.incumbent_test.append(float(view.report_test[best[1]]))
        strat.tell(ask, obs)
    record.meta["wall_seconds"] = record.meta.get("wall_seconds", 0.0) + _time.perf_counter() - wall0
