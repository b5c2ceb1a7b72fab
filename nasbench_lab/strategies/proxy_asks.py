"""Asking the runner for a cell's zero-cost proxy: answered from the table, charged on the simulated clock.

A strategy returns `ProxyAsk(arch, proxy)` from `ask()`; the runner looks the proxy up in the
table (one init seed, drawn per architecture from the run's noise stream like a training
seed), advances the clock by the CPU seconds that computation took, and calls
`tell(ask, ProxyObservation(...))`. No training happens, so it is not a query of the budget
(`--budget-queries` counts trainings), but its seconds count against `--budget-seconds`; a
proxy that would exceed the time budget ends the run like a query would. A proxy sees only
training signals, never validation or test labels (proxies/compute.py). `params` and `flops`
are accepted as free baselines (the table's static metrics, charged nothing), on any table
that stores them.
"""
from __future__ import annotations

from dataclasses import dataclass

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import Arch
from nasbench_lab.strategies.base import Ask


@dataclass(frozen=True)
class ProxyAsk(Ask):
    """Compute the zero-cost proxy `proxy` of `arch` (no training; `epoch` is ignored)."""

    proxy: str = "synflow"


@dataclass(frozen=True)
class ProxyObservation:
    """A proxy's value for one cell (NaN or -inf where the proxy is undefined), its cost and the clock."""

    arch: Arch
    proxy: str
    value: float
    cost: float
    time: float


#: Static metrics a ProxyAsk may name as a baseline "proxy": known from the cell without
#: training or a forward pass (a count over the compiled network), so charged 0 seconds.
#: The zero-cost-proxies literature compares every proxy against them.
STATIC_BASELINES = ("params", "flops")


def _static_baseline(ask: ProxyAsk, table, name: str) -> tuple[float, float]:
    """(value, cost) of a static baseline: the table's column, charged nothing."""
    from nasbench_lab import asks
    from nasbench_lab.tables.integrity import TableError

    try:
        values = table.static(ask.proxy)
    except TableError:
        raise _no_static(table, ask.proxy, name) from None
    return float(values[asks.arch_index(table.space, ask.arch, name)]), 0.0


def _no_static(table, proxy: str, name: str) -> NasbenchError:
    return NasbenchError(f"strategy {name!r} asks for the static baseline {proxy!r}, but table "
                         f"{table.name!r} does not store it; use a table with a {proxy!r} column "
                         f"(`nasbench-lab info TABLE` lists them)")


def _no_proxies(table, proxy: str, name: str) -> NasbenchError:
    return NasbenchError(f"strategy {name!r} asks for the proxy {proxy!r}, but table {table.name!r} has "
                         f"no proxies; use a table built by the live backend whose proxies are computed (nb201-mnist1d, "
                         f"or `nasbench-lab proxies TABLE` on one of your builds), or a static baseline "
                         f"({', '.join(STATIC_BASELINES)}) where the table stores it")


def _unknown_proxy(table, proxy, names, name: str) -> NasbenchError:
    return NasbenchError(f"strategy {name!r} asks for the proxy {proxy!r}; table {table.name!r} has: "
                         f"{', '.join(names)}; or a static baseline: {', '.join(STATIC_BASELINES)}")


def check_table(table, proxies, name: str) -> None:
    """Raise, before any run starts (and before a results folder is written), the one-line
    error that answering a ProxyAsk for one of `proxies` on `table` would raise mid-run."""
    from nasbench_lab.tables.integrity import TableError

    for proxy in proxies:
        if proxy in STATIC_BASELINES:
            try:
                table.static(proxy)
            except TableError:
                raise _no_static(table, proxy, name) from None
            continue
        info = table.proxies_info
        if info is None:
            raise _no_proxies(table, proxy, name)
        if proxy not in info.names:
            raise _unknown_proxy(table, proxy, info.names, name)


def _stored_proxy(ask: ProxyAsk, table, name: str, noise_u) -> tuple[float, float]:
    """(value, CPU seconds) of a zero-cost proxy stored in the table, for one init seed drawn
    per architecture from the run's noise stream."""
    from nasbench_lab import asks

    ps = table.proxies()
    if ps is None:
        raise _no_proxies(table, ask.proxy, name)
    if ask.proxy not in ps.names:
        raise _unknown_proxy(table, ask.proxy, ps.names, name)
    idx = asks.arch_index(table.space, ask.arch, name)
    cols = ps.present[idx].nonzero()[0]
    if cols.size == 0:
        raise NasbenchError(f"table {table.name!r} has no proxies for arch {idx} (a partial proxies run?); "
                            f"finish it with `nasbench-lab proxies {table.path}`")
    c = int(cols[min(int(noise_u.item(idx) * cols.size), cols.size - 1)])
    j = ps.names.index(ask.proxy)
    return float(ps.scores[idx, c, j]), float(ps.seconds[idx, c, j])


def answer(strat, ask: ProxyAsk, view, noise_u, clock: float, max_s, record) -> float | None:
    """Answer one ProxyAsk in the runner: returns the new clock, or None when the time budget
    would be exceeded (nothing is charged then)."""
    name = record.meta.get("strategy", "?")
    if ask.proxy in STATIC_BASELINES:
        value, cost = _static_baseline(ask, view.table, name)
    else:
        value, cost = _stored_proxy(ask, view.table, name, noise_u)
    if max_s is not None and clock + cost > max_s:
        return None
    clock += cost
    meta = record.meta
    meta["proxy_queries"] = meta.get("proxy_queries", 0) + 1
    meta["proxy_seconds"] = meta.get("proxy_seconds", 0.0) + cost
    meta["clock"] = clock  # a resumed run starts from here (the last training's time may be earlier)
    strat.tell(ask, ProxyObservation(ask.arch, ask.proxy, value, cost, clock))
    return clock
