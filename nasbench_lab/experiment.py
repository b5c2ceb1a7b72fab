"""Many seeded runs of several strategies on several tables, in parallel, stored as they finish.

Used by `nasbench-lab run` (one strategy) and `nasbench-lab compare` (several). Runs are
grouped into small chunks, executed with joblib (processes) or on a Dask cluster through
joblib's dask backend, and each finished run is saved at once; runs already stored in the
output directory are not run again.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np

from nasbench_lab import NasbenchError, __version__
from nasbench_lab.asks import strategy_error
from nasbench_lab.objectives import DEFAULT as DEFAULT_OBJECTIVES
from nasbench_lab.outpaths import LOCK_NAME, exclusive, prepare_out_dir
from nasbench_lab.parallel import check_dask_address, check_workers, parallel_map
from nasbench_lab.results import ResultStore
from nasbench_lab.runner import Budget, RunRecord, SearchView, run_search
from nasbench_lab.strategies import get_strategy, proxy_asks
from nasbench_lab.tables.table import Table, open_table


@dataclass(frozen=True)
class StrategySpec:
    name: str             # what runs are stored under: a registered name, or the class's name
    params: tuple = ()    # sorted (key, value) pairs
    source: str = ""      # for a class outside nasbench_lab: 'file.py:Class' or 'module:Class'

    @property
    def param_dict(self) -> dict:
        return dict(self.params)

    @property
    def ref(self) -> str:
        """What any process (a joblib or Dask worker) resolves with get_strategy."""
        return self.source or self.name


def portable_specs(strategies: list[StrategySpec], parallel: bool) -> list[StrategySpec]:
    """Specs every worker can resolve: a reference ('file.py:Class') becomes the class's name
    plus its absolute source; a class registered from outside nasbench_lab (a user's module or
    script) gets its source. Names must be unique (they name the stored runs)."""
    from nasbench_lab.strategies import display_name, reference_of
    from nasbench_lab.strategies.loader import is_reference, normalize

    out = []
    for s in strategies:
        cls = get_strategy(s.ref)
        source = normalize(s.source or s.name) if is_reference(s.source or s.name) else reference_of(cls)
        if source is None and parallel and not cls.__module__.startswith("nasbench_lab."):
            raise NasbenchError(f"strategy {display_name(cls)!r} is defined where worker processes cannot import it "
                                "(an interactive session); put it in a file and pass 'file.py:ClassName', or "
                                "use --workers 1")
        out.append(StrategySpec(display_name(cls), s.params, source or ""))
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise NasbenchError(f"two strategies are named {dup[0]!r}; give your class another `name`")
    return out


_VIEWS: dict[tuple, SearchView] = {}
_OPENED: dict[tuple, Table] = {}  # (path, inode, size, mtime) -> a Table run_experiment opened, for _view
MAX_RUNS = 10_000_000  # per strategy and table: a bound, so a mistyped --runs fails at once


def _view(table_path: str, search_schedule, report_schedule, expect_hash: str | None = None,
          report: tuple | None = None) -> SearchView:
    """The cached view of a table, keyed by the file's identity too: a table replaced at the
    same path (rebuilt, re-imported) is opened afresh, never served from a stale cache.
    `report`: (path, content hash) of a report table (transfer/report_table.py), or None."""
    try:
        st = os.stat(table_path)
        rst = os.stat(report[0]) if report else None
    except OSError as e:
        raise NasbenchError(f"table {e.filename or table_path} is gone ({e.strerror})") from None
    key = (table_path, search_schedule, report_schedule, report and report[0], st.st_ino, st.st_size,
           st.st_mtime_ns, rst and (rst.st_ino, rst.st_size, rst.st_mtime_ns))
    if key not in _VIEWS:
        for k in [k for k in _VIEWS if k[:4] == key[:4]]:
            del _VIEWS[k]
        table = _OPENED.pop((table_path, *key[4:7]), None) or Table(table_path)
        _VIEWS[key] = SearchView(table, search_schedule, report_schedule, Table(report[0]) if report else None)
    view = _VIEWS[key]
    for t, want in ((view.table, expect_hash), (view.report_table, report and report[1])):
        if want is not None and t.content_hash != want:
            raise NasbenchError(f"table {t.path} changed during the experiment (content hash "
                                f"{t.content_hash[:12]}, expected {want[:12]}); rerun the command")
    return view


def _run_chunk(table_path, strategy: StrategySpec, seed, run_ids, budget, search_schedule,
               report_schedule, expect_hash: str | None = None, report: tuple | None = None, objectives=None) -> list[RunRecord]:
    view = _view(table_path, search_schedule, report_schedule, expect_hash, report)
    return [run_search(view.table, strategy.ref, seed=seed, run=r, budget=budget,
                       params=strategy.param_dict, view=view, objectives=objectives) for r in run_ids]


def _run_chunk_with(objectives, *job) -> list[RunRecord]:
    """`_run_chunk` for runs with --objectives or --max-params (an objectives.Objectives)."""
    return _run_chunk(*job, objectives=objectives)


def experiment_config(tables: list[Table], strategies: list[StrategySpec], seed: int, budget: Budget,
                      search_schedule, report_schedule, report_table: Table | None = None,
                      report_table_schedule: str | None = None) -> dict:
    """Everything that makes runs comparable (not the number of runs: more can be added)."""
    from nasbench_lab.transfer.report_table import config_entry

    return {**config_entry(report_table, report_table_schedule),
        "tables": {t.name: {"path": t.path, "content_hash": t.content_hash} for t in tables},
        "strategies": {s.name: {**get_strategy(s.ref).defaults, **s.param_dict} for s in strategies},
        "seed": int(seed), "budget_seconds": budget.seconds, "budget_queries": budget.queries,
        "search_schedule": None if search_schedule is None else str(search_schedule),
        "report_schedule": None if report_schedule is None else str(report_schedule),
        "software_version": __version__,
    }


def run_experiment(tables: list[str], strategies: list[StrategySpec], *, runs: int, seed: int,
                   budget: Budget, out: str, search_schedule=None, report_schedule=None,
                   workers: int = 1, dask_scheduler: str | None = None, progress: bool | None = None,
                   chunk: int = 8, on_start=None, objectives=None, report_table: str | None = None) -> tuple[ResultStore, dict]:
    """Run (or reuse) `runs` runs of every strategy on every table; returns the store and
    {(table, strategy): [RunRecord, ...]} ordered by run index.

    `on_start(store, tables)`, if given, is called once every input has been checked and the
    store has accepted the configuration, before any run starts (compare writes its
    manifest there). `report_table`: report the incumbents on that table of the same space
    (transfer/report_table.py); `report_schedule` then names its schedule."""
    if int(runs) != runs or runs <= 0:
        raise NasbenchError(f"--runs must be a positive integer, got {runs}")
    if runs > MAX_RUNS:
        raise NasbenchError(f"--runs {runs} is more than {MAX_RUNS:,} runs per strategy and table; "
                            "give a smaller number")
    check_workers(workers)
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise NasbenchError(f"--seed must be a non-negative integer, got {seed}")
    check_dask_address(dask_scheduler)
    strategies = portable_specs(strategies, parallel=workers > 1 or bool(dask_scheduler))
    for s in strategies:
        cls = get_strategy(s.ref)
        try:
            cls(_probe_context(), np.random.default_rng(0), **s.param_dict)
        except Exception as e:  # noqa: BLE001 - the user's strategy's own bug: one line naming it
            err = None if isinstance(e, NasbenchError) else strategy_error(e, cls, s.ref)
            if err is None:
                raise
            raise err from None
    opened = [open_table(t) for t in tables]
    names = [t.name for t in opened]
    if len(set(names)) != len(names):
        raise NasbenchError(f"two tables share a name ({', '.join(names)}); rename one file")
    if objectives is not None and not objectives.is_default and report_table is not None:
        raise NasbenchError("--objectives/--max-params and --report-table cannot be combined yet (the fronts "
                            "and the constrained oracle are read on the search table); drop one of them")
    rtable, rsched = None, None
    if report_table is not None:
        from nasbench_lab.transfer.report_table import open_report_table

        rtable, rsched = open_report_table(report_table, opened, search_schedule, report_schedule)
    for t in opened:
        for sch in (search_schedule, report_schedule if rtable is None else None):
            if sch is not None:
                t.schedule(sch)
        if budget.seconds is not None and not t.has_costs(search_schedule):
            raise NasbenchError(f"table {t.name!r} has no costs in schedule "
                                f"{t.schedule(search_schedule).name!r}: use --budget-queries")
        check_searchable(t, search_schedule)
        for spec in strategies:  # a proxy the table lacks: refused now, not after the folder is written
            cls = get_strategy(spec.ref)
            proxy_asks.check_table(t, cls.asked_proxies({**cls.defaults, **spec.param_dict}), spec.name)
        if objectives is not None:  # --objectives/--max-params: the table has the metrics, a cell fits
            objectives.check_table(t)
    out_dir = prepare_out_dir(out)  # a file, an unwritable place: one line, before any work
    # one writer per results directory: a second command into it is refused, not mixed in
    with exclusive(out_dir / LOCK_NAME, f"results into {out_dir}"):
        store = ResultStore(out, (objectives or DEFAULT_OBJECTIVES).add_to(experiment_config(opened, strategies, seed, budget, search_schedule,
                                                   report_schedule, rtable, rsched)))
        if on_start is not None:
            on_start(store, opened)
        report = (rtable.path, rtable.content_hash) if rtable is not None else None
        rs = rsched if rtable is not None else report_schedule  # the view reads B's resolved schedule
        jobs = []
        serial = workers == 1 and not dask_scheduler
        for t in opened:
            if serial:  # runs in this process: its view takes the table opened (and verified) here
                st = os.stat(t.path)
                _OPENED[(t.path, st.st_ino, st.st_size, st.st_mtime_ns)] = t
            for s in strategies:
                have = store.stored_runs(t.name, s.name)
                todo = [r for r in range(runs) if r not in have]
                # in this process a run per job (views are cached, so the progress moves by one run);
                # in worker processes chunks amortise the transfer, small enough to keep them all busy
                step = 1 if serial else max(1, min(chunk, len(todo) // (8 * max(workers, 1))))
                for i in range(0, len(todo), step):
                    jobs.append((t.path, s, seed, todo[i:i + step], budget, search_schedule,
                                 rs, t.content_hash, report))
        total = sum(len(j[3]) for j in jobs)
        lines = progress is None and not sys.stderr.isatty()  # a log file: a line now and then
        if progress is None:
            progress = not lines
        t0 = time.perf_counter()
        if total:
            bar = None
            if progress:  # (tqdm.auto imports asyncio: only when a bar is shown)
                from tqdm.auto import tqdm

                bar = tqdm(total=total, desc="runs", unit="run", leave=False)
            log = _ProgressLines(total, t0) if lines else None
            fn = _run_chunk if objectives is None or objectives.is_default else partial(_run_chunk_with, objectives)
            pending, last = [], time.perf_counter()
            try:
                for chunk_records in parallel_map(fn, jobs, workers, dask_scheduler):
                    pending += chunk_records
                    if len(pending) >= SAVE_RUNS or time.perf_counter() - last >= SAVE_SECONDS:
                        store.save_many(pending)  # one transaction: each run whole or absent
                        pending, last = [], time.perf_counter()
                    if bar is not None:
                        bar.update(len(chunk_records))
                    if log is not None:
                        log.update(len(chunk_records))
            finally:  # (also when a run raised: the finished ones are kept)
                if pending:
                    store.save_many(pending)
            if bar is not None:
                bar.close()
        wall = time.perf_counter() - t0
        results = StoredRuns(store, [(t.name, s.name) for t in opened for s in strategies], runs)
        return store, {"results": results, "wall_seconds": wall, "new_runs": total}


#: finished runs are committed together, at least every SAVE_RUNS runs or SAVE_SECONDS seconds
#: (a kill loses at most those: a run is stored whole or not at all, and a rerun redoes it)
SAVE_RUNS, SAVE_SECONDS = 8, 0.5


class StoredRuns(Mapping):
    """{(table, strategy): [RunRecord, ...]} read from the store when first asked for (a
    compare rerun that only reports never reads the trajectories here)."""

    def __init__(self, store: ResultStore, keys: list, runs: int):
        self._store, self._keys, self._runs, self._got = store, list(keys), runs, {}

    def __getitem__(self, key):
        if key not in self._got:
            if key not in self._keys:
                raise KeyError(key)
            store = self._store
            if store._con is None:  # the caller closed the store: read through a fresh connection
                with ResultStore(store.dir) as again:
                    self._got[key] = again.load(*key, self._runs)
            else:
                self._got[key] = store.load(*key, self._runs)
        return self._got[key]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)


class _ProgressLines:
    """Progress for a log file (stderr not a terminal): a line at every 10% and at least every
    30 s, with elapsed time and ETA, as `build` does."""

    def __init__(self, total: int, t0: float, every_s: float = 30.0):
        self.total, self.t0, self.every_s = total, t0, every_s
        self.done, self.next_share, self.last = 0, 0.1, t0

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        share = self.done / self.total
        if share + 1e-12 < self.next_share and now - self.last < self.every_s and self.done < self.total:
            return
        while self.next_share <= share + 1e-12:
            self.next_share += 0.1
        self.last = now
        el = now - self.t0
        eta = el / self.done * (self.total - self.done)
        print(f"runs: {self.done}/{self.total} done, {_dur(el)} elapsed, ETA {_dur(eta)}", file=sys.stderr,
              flush=True)


def _dur(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def check_searchable(table: Table, schedule) -> None:
    """A search observes validation accuracy: refuse a schedule without any finite value of it
    (a damaged table, or a dataset without a validation split) instead of running blind."""
    sch = table.schedule(schedule)
    va = table.array(sch.name, "valid_acc") if "valid_acc" in sch.metrics else None
    if va is None or not np.isfinite(va[table.present(sch.name)]).any():
        raise NasbenchError(f"table {table.name!r} has no finite validation accuracy in schedule "
                            f"{sch.name!r}, so a search cannot observe anything; use another table or "
                            "schedule")


def _probe_context():
    from nasbench_lab.spaces import NB201
    from nasbench_lab.strategies import SearchContext

    return SearchContext(space=NB201, fidelities=(1, 2, 3))


def final_summary(records: list[RunRecord]) -> dict:
    """Mean/std/median of the reported incumbent's validation and test accuracy."""
    valid = np.array([r.final["valid"] for r in records], dtype=float)
    test = np.array([r.final["test"] for r in records], dtype=float)
    nq = np.array([r.n_queries for r in records], dtype=float)

    def stats(x):
        x = x[np.isfinite(x)]
        if x.size == 0:
            return {"mean": None, "std": None, "median": None}
        x = np.sort(x)  # the median without np.median, whose first call imports numpy.ma (~20 ms)
        mid = x.size // 2
        median = float(x[mid]) if x.size % 2 else float((x[mid - 1] + x[mid]) / 2)
        return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if x.size > 1 else 0.0, "median": median}

    return {"runs": len(records), "valid": stats(valid), "test": stats(test),
            "queries_mean": float(nq.mean()) if nq.size else 0.0,
            "sim_seconds_mean": float(np.mean([r.final["time"] for r in records])) if records else 0.0}
