"""Numbers for JSON and for people: NaN-free floats, fixed decimals, p-values."""
from __future__ import annotations

import math

import numpy as np


def num(x):
    """A float for JSON: NaN/inf -> None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def jsonable(o):
    """`o` with numpy scalars/arrays turned into plain Python and NaN into None (strict JSON)."""
    if type(o) is float:  # the most common leaf (a report's per-run values), first
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, (np.floating, float)):
        return num(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.ndarray):
        return jsonable(o.tolist())
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def fmt(x, nd=2) -> str:
    """`x` with `nd` decimals, "n/a" for None/NaN."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def fmt_p(p) -> str:
    """A p-value: 3 significant digits, scientific below 0.001."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    if p == 0:
        return "< 1e-300"
    return f"{p:.1e}" if p < 0.001 else f"{p:.3g}"


def p_eq(p) -> str:
    """'= 0.003' or '< 1e-300', to follow a 'p'."""
    t = fmt_p(p)
    return t if t.startswith("<") else f"= {t}"


def pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def budget_text(setup) -> str:
    parts = []
    if setup["budget_seconds"] is not None:
        parts.append(f"{setup['budget_seconds']:g} simulated seconds")
    if setup["budget_queries"] is not None:
        parts.append(f"{setup['budget_queries']} queries")
    return " and ".join(parts)
