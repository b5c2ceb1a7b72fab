"""The test-access check: test metrics, tables and the runner's data are out of a strategy's reach."""
from __future__ import annotations

import contextlib
import dataclasses
import inspect

import numpy as np

from nasbench_lab.conformance import driver
from nasbench_lab.conformance.driver import _continue, _label, _Spy, _start, _Trace
from nasbench_lab.conformance.results import CheckFailure
from nasbench_lab.conformance.tables import FIXTURES
from nasbench_lab.strategies import SearchContext
from nasbench_lab.strategies.base import Observation


_FORBIDDEN_TYPES: tuple = ()


def _forbidden_types() -> tuple:
    global _FORBIDDEN_TYPES
    if not _FORBIDDEN_TYPES:
        from nasbench_lab.runner import SearchView
        from nasbench_lab.tables.table import QueryResult, Table

        types = [Table, SearchView, QueryResult]
        try:
            import h5py

            types += [h5py.File, h5py.Dataset, h5py.Group]
        except ImportError:  # pragma: no cover
            pass
        _FORBIDDEN_TYPES = tuple(types)
    return _FORBIDDEN_TYPES


def _find_forbidden(obj, path: str = "strategy", depth: int = 0, seen=None):
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6 or len(seen) > 20000:
        return None
    seen.add(id(obj))
    if isinstance(obj, _forbidden_types()):
        return path, type(obj).__name__
    if isinstance(obj, (str, bytes, int, float, bool, type(None), np.ndarray, np.generic)):
        return None
    if isinstance(obj, dict):
        items = [(f"{path}[{k!r}]", v) for k, v in list(obj.items())[:5000]]
    elif isinstance(obj, (list, tuple, set, frozenset)) or type(obj).__name__ == "deque":
        items = [(f"{path}[{i}]", v) for i, v in enumerate(list(obj)[:5000])]
    elif hasattr(obj, "__dict__") and not inspect.ismodule(obj) and not inspect.isclass(obj):
        items = [(f"{path}.{k}", v) for k, v in vars(obj).items()]
    else:
        return None
    for p, v in items:
        hit = _find_forbidden(v, p, depth + 1, seen)
        if hit:
            return hit
    return None


@contextlib.contextmanager
def _tables_sealed():
    """While a strategy runs, any read through a Table (the runner reads its arrays up front)
    raises: a strategy that opens a table itself to peek at test metrics is caught."""
    from nasbench_lab.tables.table import Table

    names = ("__init__", "query", "lookup", "array", "value", "static")
    saved = {n: Table.__dict__[n] for n in names}

    def blocked(name):
        def f(*a, **k):
            raise CheckFailure(f"the strategy called Table.{name}(): strategies must not read tables "
                               "(test metrics would leak); use only the Observations given to tell()")
        return f

    try:
        for n in names:
            setattr(Table, n, blocked(n))
        yield
    finally:
        for n, f in saved.items():
            setattr(Table, n, f)


def check_no_test_access(cls, params=None) -> None:
    """Test metrics are out of reach, as far as an in-process check can see (nasbench_lab/isolation.py
    says exactly what it sees and what not; the classroom grader runs graded code in a separate
    process for real isolation). Seen: Observation and SearchContext carry no test metric or
    table; nothing of a forbidden type (Table, SearchView, QueryResult, h5py file/group/dataset)
    is reachable from the context or the strategy, before or after a run (attributes, containers,
    closures, class attributes; module namespaces are not entered); and while the strategy's
    __init__, ask() and tell() run, any read through a Table, opening an HDF5 file (open, os.open,
    h5py.File), inspecting the call stack (sys._getframe outside library code, inspect, frame
    attributes of tracebacks/generators), the garbage collector's object lists, ctypes and
    starting processes are refused and reported. Not seen: module globals reached by import
    (e.g. nasbench_lab.experiment's view cache), frames walked from one a library handed out
    (traceback.walk_tb), C extensions, other threads after the strategy's call returned."""
    from nasbench_lab.isolation import Watch, Watched, find_reachable
    from nasbench_lab.runner import Budget
    from nasbench_lab.spaces.finite import Enumeration

    for dc in (Observation, SearchContext):
        leaky = [f.name for f in dataclasses.fields(dc) if "test" in f.name.lower()]
        if leaky:
            raise CheckFailure(f"{dc.__name__} has test field(s) {leaky}: strategies must never see test metrics")
    if not dataclasses.is_dataclass(Observation) or not Observation.__dataclass_params__.frozen:
        raise CheckFailure("Observation must be a frozen dataclass")
    view = FIXTURES.view("nb201")  # build the fixture before the tables are sealed
    budget, paths, watch = Budget(queries=driver.N_QUERIES), [FIXTURES.path("nb201")], Watch.get()
    seen = len(watch.seen)
    try:
        with _tables_sealed():
            with watch.during(paths):
                strat, context, noise_u, record = _start(cls, view, seed=0, run=0, params=params, budget=budget)
            hit = find_reachable([context], _forbidden_types(), leaves=(Enumeration,))
            if hit:
                raise CheckFailure(f"the SearchContext given to strategies reaches a {hit[1]} ({hit[0]}): "
                                   "test metrics are within the strategy's reach; a bug of nasbench_lab")
            t = _Trace(record, _Spy(Watched(strat, paths), context, _label(cls)), strat, view, noise_u)
            _continue(t, budget, 60.0)
    except CheckFailure:
        if len(watch.seen) > seen:
            raise CheckFailure(f"the strategy {watch.seen[seen]}: strategies must not reach the runner's or the "
                               "table's data (test metrics); use only the Observations given to tell()") from None
        raise
    if len(watch.seen) > seen:  # refused inside the strategy, which caught the exception and went on
        raise CheckFailure(f"the strategy {watch.seen[seen]} (and caught the refusal): strategies must not reach "
                           "the runner's or the table's data (test metrics)")
    hit = _find_forbidden(t.strat) or find_reachable([t.strat], _forbidden_types(), leaves=(Enumeration,))
    if hit:
        raise CheckFailure(f"after a run the strategy holds a {hit[1]} at {hit[0]}: strategies must not keep "
                           "tables, search views or query results (they contain test metrics)")
