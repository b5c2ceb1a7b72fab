"""Checks of the "darts-step" exercise (driven by grader.py): the student's DARTS
architecture gradient against central differences and against the package's DARTS-V1, and
the derived cell of a short real search, scored by the built-in table."""
from __future__ import annotations

import contextlib

import numpy as np

from nasbench_lab.exercises.harness import call, open_with_functions
from nasbench_lab.exercises.report import describe

FULL_TABLE = "nb201-mnist1d"

SECTION_GRAD = "Gradient check: arch_gradient"
SECTION_DERIVE = "Derivation: derive_cell"
SECTION_SEARCH = "Search: 2 epochs of DARTS with your step"
SEARCH_EPOCHS = 2


def _tiny_case(seed: int, kind: str):
    from nasbench_lab.live.supernet import Supernet

    rng = np.random.default_rng(seed)
    net = Supernet(C=2, N=1, in_channels=1, n_classes=3, ndim=1, seed=seed, dtype=np.float64)
    x, y = rng.standard_normal((8, 5, 1)), rng.integers(0, 3, 5)
    alpha = {"random": rng.standard_normal((6, 5)), "near zero": 1e-3 * rng.standard_normal((6, 5)),
             "one op dominant": np.where(np.arange(5) == 3, 4.0, 0.0) + 0.3 * rng.standard_normal((6, 5))}[kind]
    return net, alpha, x, y


def _numerical(net, alpha, x, y, eps=1e-6):
    from nasbench_lab.live.layers import softmax_cross_entropy
    from nasbench_lab.live.supernet import softmax

    a = alpha.copy()
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        fp = softmax_cross_entropy(net.forward(x, softmax(a)), y)[0]
        a[i] = old - eps
        fm = softmax_cross_entropy(net.forward(x, softmax(a)), y)[0]
        a[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def _gradient_hint(got, net, alpha, x, y, want) -> str:
    from nasbench_lab.live.layers import softmax_cross_entropy
    from nasbench_lab.live.supernet import softmax

    if got.shape != alpha.shape:
        return "Return an array of the shape of alpha: 6 edges x 5 ops."

    def dw_at(w):
        _, d, _ = softmax_cross_entropy(net.forward(x, w), y)
        return net.backward(d)

    p = softmax(alpha)
    dw = dw_at(p)
    cols = np.exp(alpha - alpha.max(0)) / np.exp(alpha - alpha.max(0)).sum(0)
    dwc = dw_at(cols)
    if np.allclose(got, dw, atol=1e-8):
        return ("You returned dL/dw, the gradient w.r.t. the op weights; alpha reaches them through "
                "w = softmax(alpha): chain rule, dalpha = p * (dw - sum(p * dw over the edge's ops)).")
    if np.allclose(got, -want, atol=1e-6):
        return "The sign is flipped: return the gradient of the loss, not its negative."
    if np.allclose(got, p * dw, atol=1e-8):
        return ("You kept only the diagonal of the softmax Jacobian: dp_k/dalpha_j = p_k (delta_kj - p_j), "
                "so subtract p * sum(p * dw) per edge too.")
    if np.allclose(got, cols * (dwc - (cols * dwc).sum(0)), atol=1e-6):
        return "The softmax runs over each edge's 5 ops (axis=1, each row), not over the edges."
    return ("Compare with the definition: w = softmax(alpha) per row, L = mean cross-entropy of "
            "net.forward(x, w); dL/dalpha = p * (dw - sum(p * dw, axis=1, keepdims=True)).")


def _check_gradient(report, sb) -> bool:
    ok_all = True
    for seed, kind in ((1, "random"), (2, "near zero"), (3, "one op dominant")):
        name = f"gradient on a tiny float64 supernet, alpha {kind}"
        net, alpha, x, y = _tiny_case(seed, kind)
        # the graded process builds the same network and data from (seed, kind) itself
        ok, got, after = call(report, SECTION_GRAD, name, sb, "arch_gradient", seed, kind, recipe="darts_case",
                              return_args=True)
        if not ok:
            ok_all = False
            continue
        if not (after and isinstance(after[0], np.ndarray) and np.array_equal(alpha, after[0])):
            report.add(SECTION_GRAD, name, "fail", "alpha was changed in place",
                       "Work on a copy (or on softmax(alpha)); the search owns alpha.")
            ok_all = False
            continue
        want = _numerical(net, alpha, x, y)
        try:
            got = np.asarray(got, dtype=np.float64)
            good = got.shape == want.shape and np.allclose(got, want, atol=1e-6, rtol=1e-4)
        except (TypeError, ValueError):
            good = False
        if good:
            report.add(SECTION_GRAD, name, "pass",
                       f"max |yours - central differences| = {np.abs(got - want).max():.1e}")
        else:
            err = (f"max |difference| = {np.abs(got - want).max():.3g}" if got.shape == want.shape
                   else f"shape {got.shape}, expected {want.shape}")
            report.add(SECTION_GRAD, name, "fail", err, _gradient_hint(got, net, alpha, x, y, want))
            ok_all = False
    return ok_all


def _check_derive(report, sb) -> bool:
    from nasbench_lab.strategies.oneshot.base import derive_argmax

    rng = np.random.default_rng(7)
    none_wins = rng.standard_normal((6, 5))
    none_wins[[1, 4], 0] = 9.0
    tie = np.zeros((6, 5))
    tie[:, [2, 3]] = 1.0
    ok_all = True
    for label, a in (("random alpha", rng.standard_normal((6, 5))), ("none wins on two edges", none_wins),
                     ("ties between conv 1x1 and conv 3x3", tie)):
        want = derive_argmax(a)
        ok, got, _ = call(report, SECTION_DERIVE, f"derive_cell, {label}", sb, "derive_cell", a.copy())
        if not ok:
            ok_all = False
            continue
        try:
            got_t = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            got_t = None
        if got_t == want:
            report.add(SECTION_DERIVE, f"derive_cell, {label}", "pass", f"{want}")
        else:
            hint = "The argmax of each row of alpha, as a tuple of 6 ints."
            if got_t == derive_argmax(a, exclude_none=True):
                hint = ("You left `none` out (the original DARTS rule); NAS-Bench-201's genotype() takes the "
                        "argmax over all five ops.")
            report.add(SECTION_DERIVE, f"derive_cell, {label}", "fail", f"returned {got!r}, expected {want}", hint)
            ok_all = False
    return ok_all


def search_with(arch_gradient, derive_cell, epochs: int = SEARCH_EPOCHS, seed: int = 0) -> dict:
    """A DARTS-V1 search on the built-in protocol with `arch_gradient(net, alpha, x, y)` as its
    architecture gradient; the cell `derive_cell` derives, scored by the built-in table."""
    out = search_core(arch_gradient, derive_cell, epochs, seed)
    with contextlib.suppress(Exception):
        out["test_acc"] = _table_score(out["cell"])
    return out


def _table_score(cell: str) -> float:
    from nasbench_lab.spaces import NB201
    from nasbench_lab.tables import open_table

    t = open_table(FULL_TABLE)
    return float(t.lookup("test_acc", [t.index_of(NB201.from_string(cell))])[0])


def search_core(arch_gradient, derive_cell, epochs: int = SEARCH_EPOCHS, seed: int = 0) -> dict:
    """The search of `search_with` without the table: its alpha and derived cell (what the graded
    process sends back)."""
    from nasbench_lab.spaces import NB201, Arch
    from nasbench_lab.strategies.oneshot.darts import DARTS

    class StudentDARTS(DARTS):
        name = "darts-v1-student"

        def arch_gradient(self, w_batch, a_batch):
            return np.asarray(arch_gradient(self.net, self.alpha.copy(), *a_batch), dtype=np.float64)

    m = StudentDARTS(seed=seed, epochs=epochs)
    m.run()
    cell = tuple(int(c) for c in derive_cell(m.alpha.copy()))
    return {"alpha": np.asarray(m.alpha, dtype=np.float64).copy(), "cell": NB201.to_string(Arch("nb201", cell))}


def _check_search(report, sb) -> None:
    from nasbench_lab.strategies.oneshot import run_oneshot
    from nasbench_lab.strategies.oneshot.base import derive_argmax

    name = f"a {SEARCH_EPOCHS}-epoch DARTS-V1 search on the built-in protocol, seed 0"
    try:   # in the graded process; only the final alpha and the cell come back
        got = sb.request("task", task="darts_search", args=[SEARCH_EPOCHS, 0], limit=120.0)
        if not (isinstance(got, dict) and isinstance(got.get("alpha"), np.ndarray)
                and got["alpha"].shape == (6, 5) and isinstance(got.get("cell"), str)):
            raise ValueError(f"the search returned {got!r}")
    except Exception as e:
        report.add(SECTION_SEARCH, name, "fail", f"raised {describe(e)}", "")
        return
    with contextlib.suppress(Exception):
        got["test_acc"] = _table_score(got["cell"])
    ref = run_oneshot("darts-v1", seed=0, epochs=SEARCH_EPOCHS)
    ref_alpha = np.log(np.array(ref.alpha[-1]))  # softmax is shift-invariant per row
    diff = np.abs((got["alpha"] - got["alpha"].mean(1, keepdims=True))
                  - (ref_alpha - ref_alpha.mean(1, keepdims=True))).max()
    score = f", table test accuracy {got['test_acc']:.2f}%" if "test_acc" in got else ""
    from nasbench_lab.spaces import NB201, Arch

    ref_cell = NB201.to_string(Arch("nb201", derive_argmax(ref_alpha)))
    if diff <= 1e-4 and got["cell"] == ref_cell:
        report.add(SECTION_SEARCH, name, "pass", f"derived {got['cell']}{score}")
    else:
        report.add(SECTION_SEARCH, name, "fail",
                   f"alpha differs from the reference search by up to {diff:.3g}; you derived {got['cell']}, "
                   f"the reference {ref_cell}",
                   "Pass the gradient check first; the search uses exactly that gradient.")


def grade_darts(report, folder, ex, tables, runs, clock) -> None:
    sb = open_with_functions(report, folder, ex, clock, ["arch_gradient", "derive_cell"])
    if sb is None:
        return
    with sb:
        grad_ok = _check_gradient(report, sb)
        derive_ok = _check_derive(report, sb)
        if grad_ok and derive_ok:
            _check_search(report, sb)
        else:
            report.add(SECTION_SEARCH, "the search (after the checks above pass)", "skip")
