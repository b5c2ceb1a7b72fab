"""Hessian-vector products by central finite differences of a gradient function (float64)."""
from __future__ import annotations

from typing import Callable

import numpy as np

#: The step moves the parameters by this fraction of their norm: small enough that almost
#: no ReLU changes sign (then the difference quotient is the Hessian of the piecewise smooth
#: loss, as automatic differentiation gives it), large enough that float64 rounding stays
#: far below the signal.
RELATIVE_STEP = 1e-6


def hvp(grad_fn: Callable[[], list], params: list, v: list, rel_step: float = RELATIVE_STEP) -> list:
    """H v, H the Hessian of the function whose gradient `grad_fn()` returns (a list of
    arrays, one per array of `params`), by (g(p + h v) - g(p - h v)) / 2h. `params` are
    perturbed in place and restored exactly."""
    norm_p = np.sqrt(sum(float(np.vdot(p, p)) for p in params))
    norm_v = np.sqrt(sum(float(np.vdot(d, d)) for d in v))
    if norm_v == 0:
        return [np.zeros_like(p) for p in params]
    h = rel_step * max(norm_p, 1.0) / norm_v
    saved = [p.copy() for p in params]
    try:
        for p, s, d in zip(params, saved, v):
            np.add(s, h * d, out=p)
        gp = [np.array(g, dtype=np.float64) for g in grad_fn()]
        for p, s, d in zip(params, saved, v):
            np.subtract(s, h * d, out=p)
        gm = [np.array(g, dtype=np.float64) for g in grad_fn()]
    finally:
        for p, s in zip(params, saved):
            np.copyto(p, s)
    return [(a - b) / (2 * h) for a, b in zip(gp, gm)]
