"""The vector-observation check (--objectives, --max-params), enrolled in the suite's CHECKS."""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.conformance.driver import _RNG_HINT, TimeLimit, _first_difference, _label, _Spy, deadline
from nasbench_lab.conformance.results import CheckFailure
from nasbench_lab.conformance.tables import FIXTURES

N_VECTOR_QUERIES = 25


def _vector_run(cls, params, objectives, *, seed: int, run: int):
    """One run on the NB201 fixture with `objectives`: (trajectory, observations told)."""
    from nasbench_lab.runner import Budget, RunRecord, run_loop
    from nasbench_lab.strategies import SearchContext

    view = FIXTURES.view("nb201")
    budget = Budget(queries=N_VECTOR_QUERIES)
    strategy_ss, noise_ss = np.random.SeedSequence([seed, run]).spawn(2)
    noise_u = np.random.default_rng(noise_ss).random(view.table.n_archs)
    context = SearchContext(space=view.table.space, fidelities=view.search.recorded_epochs,
                            max_queries=budget.queries, objectives=objectives.names,
                            max_params=objectives.max_params)
    try:
        strat = cls(context, np.random.default_rng(strategy_ss), **(params or {}))
    except Exception as e:
        raise CheckFailure(f"constructing {cls.__name__} with objectives {objectives.names} raised "
                           f"{type(e).__name__}: {e}") from e
    spy = _Spy(strat, context, _label(cls))
    record = RunRecord(meta={"strategy": cls.name or cls.__name__, "seed": seed, "run": run})
    try:
        with deadline(60.0):
            run_loop(objectives.driver(spy, view.table), view, noise_u, budget, record)
    except TimeLimit:
        raise CheckFailure(f"a run with objectives {objectives.names} did not finish within 60 s") from None
    except CheckFailure:
        raise
    except NasbenchError as e:
        raise CheckFailure(f"the runner rejected the strategy's query: {e}") from e
    traj = [(int(a), int(e), None if v != v else round(float(v), 6))
            for a, e, v in zip(record.arch, record.epoch, record.valid)]
    return traj, spy.obs, view


def check_vector_observations(cls, params=None) -> None:
    """Told vector observations (objectives valid_acc,params; then also a --max-params cap, where
    infeasible cells come back with valid_acc NaN and feasible=False), the strategy keeps asking
    valid architectures, spends an exact budget of queries and is reproducible; strategies that
    optimise accuracy alone simply ignore the vector."""
    from nasbench_lab.objectives import Objectives

    view = FIXTURES.view("nb201")
    params_of = np.asarray(view.table.static("params"), dtype=float)
    cap = float(np.median(params_of))
    for obj in (Objectives(("valid_acc", "params")), Objectives(("valid_acc", "params"), max_params=cap)):
        what = f"objectives {','.join(obj.names)}" + (f" and max_params {cap:g}" if obj.max_params else "")
        t1, seen, _ = _vector_run(cls, params, obj, seed=11, run=2)
        if len(t1) != N_VECTOR_QUERIES:
            raise CheckFailure(f"with {what}, a budget of {N_VECTOR_QUERIES} queries gave {len(t1)} records: "
                               "ask() returned None although the space is far from exhausted")
        for o in seen:
            idx = view.table.space.to_index(o.arch)
            if len(o.objectives) != 2 or o.objectives[1] != params_of[idx]:
                raise CheckFailure(f"the runner told objectives {o.objectives!r}, not (valid_acc, params)")
            infeasible = obj.max_params is not None and params_of[idx] > cap
            if (infeasible and (o.feasible or o.valid_acc == o.valid_acc)) or (not infeasible and not o.feasible):
                raise CheckFailure(f"cell {idx} (params {params_of[idx]:g}, cap {cap:g}) was told with "
                                   f"feasible={o.feasible}, valid_acc={o.valid_acc}")
        t2, _, _ = _vector_run(cls, params, obj, seed=11, run=2)
        if t1 != t2:
            raise CheckFailure(f"with {what}, two runs with the same seed differ; "
                               + _first_difference(t1, t2, "run 1", "run 2") + ". " + _RNG_HINT)
