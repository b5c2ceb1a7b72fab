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
from dataclasses import dataclass

import numpy as np

from nasbench_lab import NasbenchError, __version__, asks
from nasbench_lab.strategies import SearchContext, get_strategy
from nasbench_lab.spaces.finite import enumeration
from nasbench_lab.strategies.base import Ask, Observation
from nasbench_lab.strategies.proxy_asks import ProxyAsk
from nasbench_lab.strategies.proxy_asks import answer as answer_proxy
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


#: the trajectory columns of a RunRecord and their dtypes (one entry per query)
TRAJECTORY = {
    "time": np.float64,             # simulated clock after the query
    "arch": np.int64,               # architecture index queried
    "epoch": np.int64,              # epoch queried
    "cost": np.float64,             # simulated seconds charged
    "valid": np.float64,            # observed validation accuracy
    "incumbent": np.int64,          # incumbent's index
    "incumbent_valid": np.float64,  # report-schedule valid acc (seed mean)
    "incumbent_test": np.float64,   # report-schedule test acc (seed mean)
}


_EMPTY = {k: np.zeros(0, dtype=dt) for k, dt in TRAJECTORY.items()}  # shared; columns are replaced, never written
for _a in _EMPTY.values():
    _a.flags.writeable = False


@dataclass(eq=False)
class RunRecord:
    """One finished run: metadata and the full trajectory, one numpy array per column of
    TRAJECTORY (one entry per query). Construct it from lists or arrays; they are converted."""

    meta: dict
    time: np.ndarray = None
    arch: np.ndarray = None
    epoch: np.ndarray = None
    cost: np.ndarray = None
    valid: np.ndarray = None
    incumbent: np.ndarray = None
    incumbent_valid: np.ndarray = None
    incumbent_test: np.ndarray = None

    def __post_init__(self):
        for k, dt in TRAJECTORY.items():
            v = getattr(self, k)
            setattr(self, k, _EMPTY[k] if v is None else np.asarray(v, dtype=dt))

    @property
    def n_queries(self) -> int:
        return len(self.time)

    @property
    def final(self) -> dict:
        if not len(self.time):
            return {"valid": float("nan"), "test": float("nan"), "arch": None, "time": 0.0}
        return {"valid": float(self.incumbent_valid[-1]), "test": float(self.incumbent_test[-1]),
                "arch": int(self.incumbent[-1]), "time": float(self.time[-1])}

    def extend(self, columns: dict) -> None:
        """Append queries: `columns` maps every TRAJECTORY name to a list or array."""
        for k, dt in TRAJECTORY.items():
            add = columns[k]
            if len(add):
                old = getattr(self, k)
                new = np.asarray(add, dtype=dt)
                setattr(self, k, np.concatenate([old, new]) if len(old) else new)

    def to_dict(self) -> dict:
        """Plain Python values (JSON-ready): meta and one list per trajectory column."""
        return {"meta": self.meta, **{k: getattr(self, k).tolist() for k in TRAJECTORY}}

    @classmethod
    def from_dict(cls, d: dict) -> "RunRecord":
        return cls(**d)


#: the search metrics run_loop reads per query, packed in this order in SearchView.packed
_NEG_INF = float("-inf")
ROWS_MAX = 1_000_000  # packed values up to which SearchView keeps them as nested lists too
_new, _set_dict = object.__new__, object.__setattr__
PACKED = ("valid_acc", "valid_loss", "train_acc", "train_loss", "train_time", "valid_time")


class SearchView:
    """The arrays of one table schedule that a search needs, fetched once."""

    def __init__(self, table: Table, search_schedule, report_schedule, report_table: Table | None = None):
        self.table = table
        self.search = table.schedule(search_schedule)
        # the incumbent's reported values come from `report_table` (default: this table; transfer/)
        self.report_table = rt = table if report_table is None else report_table
        self.report = rt.schedule(report_schedule if report_schedule is not None else self.search.name)
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
        self.report_valid = rt.lookup("valid_acc", idx, self.report.name)
        self.report_test = rt.lookup("test_acc", idx, self.report.name) \
            if "test_acc" in self.report.metrics else np.full(table.n_archs, np.nan)
        self.has_costs = table.has_costs(s)
        table.check_holes(s)
        # what run_loop looks up per query, prepared once: seed columns per arch as lists,
        # the report values as lists, one [arch, seed, epoch, 6] array of the search metrics,
        # and the space's enumeration (shared Arch objects, index by choices) where it has one
        self.packed = np.stack([self.metrics[m] for m in PACKED], axis=-1)
        present = np.asarray(self.present, dtype=bool)
        self.n_present = present.sum(axis=1).tolist()
        self.present_cols = np.argsort(~present, axis=1, kind="stable").tolist()
        self.report_valid_list = np.asarray(self.report_valid, dtype=float).tolist()
        self.report_test_list = np.asarray(self.report_test, dtype=float).tolist()
        self.report_arrays = (np.asarray(self.report_valid_list), np.asarray(self.report_test_list))
        # small tables (NB201's 15,625 x 1 seed x 1 epoch) also as nested lists: the cheapest read
        self.rows = self.packed.tolist() if self.packed.size <= ROWS_MAX else None
        en = enumeration(table.space)
        self.enumeration = en if en is not None and en.size == table.n_archs else None
        # with at most one seed column per arch the noise stream cannot change a seed choice
        self.epoch_index = {e: i for i, e in enumerate(self.search.recorded_epochs)}
        self.needs_noise = bool(present.sum(axis=1).max(initial=0) > 1)
        self._no_noise = np.zeros(table.n_archs)

    def seed_column(self, idx: int, u: float) -> int:
        cols = np.flatnonzero(self.present[idx])
        if cols.size == 0:
            return -1
        return int(cols[min(int(u * cols.size), cols.size - 1)])


def run_search(table: Table, strategy, *, seed: int, run: int = 0, budget: Budget,
               params: dict | None = None, search_schedule=None, report_schedule=None,
               view: SearchView | None = None, objectives=None) -> RunRecord:
    """Run one seeded search of `strategy` on `table` and return its record. `objectives` (an
    `objectives.Objectives`; default: validation accuracy alone) adds vector observations
    and the --max-params constraint (the incumbent then ignores infeasible queries)."""
    from nasbench_lab.objectives import DEFAULT, apply_constraint

    obj = DEFAULT if objectives is None else objectives
    view = view or SearchView(table, search_schedule, report_schedule)
    if budget.seconds is not None and not view.has_costs:
        raise NasbenchError(f"table {table.name!r} has no costs in schedule {view.search.name!r}: "
                            "use --budget-queries instead of --budget-seconds")
    cls = strategy if isinstance(strategy, type) else get_strategy(strategy)
    strategy = cls.name or cls.__name__
    strategy_ss, noise_ss = np.random.SeedSequence([int(seed), int(run)]).spawn(2)
    # (skipped where every arch has one seed column: the draw could not change anything)
    noise_u = np.random.default_rng(noise_ss).random(table.n_archs) if view.needs_noise else view._no_noise
    context = SearchContext(space=table.space, fidelities=view.search.recorded_epochs,
                            max_queries=budget.queries, max_seconds=budget.seconds,
                            objectives=obj.names, max_params=obj.max_params)
    try:
        strat = cls(context, np.random.default_rng(strategy_ss), **(params or {}))
    except Exception as e:  # noqa: BLE001 - the strategy's own bug: one line naming it and where
        err = None if isinstance(e, NasbenchError) else asks.strategy_error(e, cls, strategy)
        if err is None:
            raise
        raise err from None
    record = RunRecord(meta={
        "strategy": strategy, "params": strat.params, "seed": int(seed), "run": int(run),
        "table": table.name, "table_hash": table.content_hash, "space": table.space.name,
        "search_schedule": view.search.name, "report_schedule": view.report.name,
        "budget_seconds": budget.seconds, "budget_queries": budget.queries,
        "software_version": __version__, **obj.config()})
    try:
        run_loop(strat if obj.is_default else obj.driver(strat, table), view, noise_u, budget, record)
    except Exception as e:  # noqa: BLE001 - the strategy's own bug: one line naming it and where
        err = None if isinstance(e, NasbenchError) else asks.strategy_error(e, cls, strategy)
        if err is None:
            raise
        raise err from None
    if obj.max_params is not None:
        apply_constraint(record, obj.feasible_mask(table), *view.report_arrays)
    if view.report_table is not table:  # reported on another table: say which, check its cells
        from nasbench_lab.transfer.report_table import finish_record

        finish_record(record, view)
    return record


def run_loop(strat, view: SearchView, noise_u: np.ndarray, budget: Budget, record: RunRecord) -> None:
    """Drive an already constructed strategy; appends to `record`. Exposed for the conformance
    suite, which pickles a strategy mid-run and resumes it.

    Per query this does dictionary and list look-ups only: an architecture the space handed
    out (one of its enumeration's shared objects) is recognised by identity, anything else
    goes through `space.check` and `space.to_index`; the trajectory is collected in lists
    and appended to `record` as arrays when the loop ends (also when it raises)."""
    space = view.table.space
    en = view.enumeration
    archs = en.archs if en is not None else ()
    search = view.search
    epochs = search.recorded_epochs
    ep_index = view.epoch_index
    last = len(epochs) - 1
    packed, rows, tt = view.packed, view.rows, view.metrics["train_time"]
    n_present, present_cols = view.n_present, view.present_cols
    has_costs = view.has_costs
    max_q, max_s = budget.queries, budget.seconds
    trained: dict[int, tuple[int, int]] = {}  # idx -> (seed column, furthest epoch index)
    clock = float(record.time[-1]) if record.n_queries else 0.0
    clock = max(clock, float(record.meta.get("clock", 0.0)))  # zero-cost proxies charged after the last query
    best_s, best_i = float("-inf"), -1
    if record.n_queries:  # resuming: rebuild the state from the trajectory
        for idx, ep, v in zip(record.arch.tolist(), record.epoch.tolist(), record.valid.tolist()):
            ei = epochs.index(ep)
            col, prev = trained.get(idx, (view.seed_column(idx, noise_u[idx]), -1))
            trained[idx] = (col, max(prev, ei))
            sc = float("-inf") if v != v else v
            if sc > best_s:
                best_s, best_i = sc, idx
    done = record.n_queries
    T, A, E, C, V, I = [], [], [], [], [], []
    wall0 = _time.perf_counter()
    try:
        while max_q is None or done + len(T) < max_q:
            ask = strat.ask()
            if ask is None:
                break
            if type(ask) is ProxyAsk:  # a zero-cost proxy: no training, its CPU seconds on the clock
                clock = answer_proxy(strat, ask, view, noise_u, clock, max_s, record)
                if clock is None:
                    break
                continue
            if not isinstance(ask, Ask):
                raise NasbenchError(f"strategy {record.meta['strategy']!r} returned {type(ask).__name__} "
                                    "from ask(); it must return an Ask or None")
            arch = ask.arch
            try:  # one of the enumeration's shared objects: its index, no re-validation
                idx = arch._index
                if archs[idx] is not arch:
                    raise KeyError
            except (KeyError, TypeError, AttributeError, IndexError):
                idx = asks.arch_index(space, arch, record.meta["strategy"])  # exact, one line naming it
            ep = ask.epoch
            if ep is None:
                ei = last
            elif type(ep) is int and ep in ep_index:
                ei = ep_index[ep]
            else:
                ei = asks.epoch_index(search, ep, record.meta["strategy"])
            state = trained.get(idx)
            if state is None:
                n = n_present[idx]
                if n == 0:
                    raise NasbenchError(f"table {view.table.name!r} has no trained entry for arch {idx} in "
                                        f"schedule {search.name!r}: the table is incomplete (a build "
                                        "still running?); finish or resume it first")
                col, prev = present_cols[idx][min(int(noise_u.item(idx) * n), n - 1)], -1
            else:
                col, prev = state
            if rows is not None:
                va, vl, ta, tl, tti, vti = rows[idx][col][ei]
                train_cost = tti - rows[idx][col][prev][4] if prev >= 0 else tti
            else:
                va, vl, ta, tl, tti, vti = packed[idx, col, ei].tolist()
                train_cost = tti - tt.item(idx, col, prev) if prev >= 0 else tti
            cost = (0.0 if train_cost < 0.0 else train_cost) + vti  # NaN stays NaN
            if cost != cost:
                if has_costs:
                    raise NasbenchError(f"table {view.table.name!r}: no cost for arch {idx} at epoch "
                                        f"{epochs[ei]}; the table is damaged: re-import or rebuild it")
                cost = 0.0
            if max_s is not None and clock + cost > max_s:
                break
            clock += cost
            trained[idx] = (col, ei if ei > prev else prev)
            epoch = epochs[ei]
            obs = _new(Observation)  # Observation(arch, epoch, ...) without the frozen __init__'s
            _set_dict(obs, "__dict__", {"arch": arch, "epoch": epoch, "valid_acc": va, "valid_loss": vl,
                                        "train_acc": ta, "train_loss": tl, "cost": cost, "time": clock})
            sc = va if va == va else _NEG_INF  # score(): NaN is the worst
            if sc > best_s or best_i < 0:
                best_s, best_i = sc, idx
            T.append(clock)
            A.append(idx)
            E.append(epoch)
            C.append(cost)
            V.append(va)
            I.append(best_i)
            strat.tell(ask, obs)
    finally:
        inc = np.asarray(I, dtype=np.int64)
        record.extend({"time": T, "arch": A, "epoch": E, "cost": C, "valid": V, "incumbent": inc,
                       "incumbent_valid": view.report_arrays[0][inc], "incumbent_test": view.report_arrays[1][inc]})
        record.meta["wall_seconds"] = record.meta.get("wall_seconds", 0.0) + _time.perf_counter() - wall0
