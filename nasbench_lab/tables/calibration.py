"""Time calibration of a built table: times measured on several machines, put on one's scale.

A table built over several sessions is trained on several CPUs, and a CPU twice as slow
records twice the training time, so without calibration the cost of a query (design.md:
training time plus one validation pass) would depend on which machine happened to train the
cell. `fit_time_scale` fits, per machine, log(final training time) against log(FLOPs) over
the trainings of distinct cells that machine made, and gives each entry the factor that maps its
machine's fit onto the reference machine's (the one that trained the most entries):

    scale = exp((a_ref + b_ref * log flops) - (a_m + b_m * log flops))

What the fit does not explain (the cell's own deviation, timing noise) is kept. The factors
are stored in the table (`schedules/<name>/time_scale`, sealed with the other arrays, and the
fit in the attr `time_calibration`); the measured times are stored unchanged and
`Table.array(..., measured=True)` returns them. Entries of a machine with fewer than
`MIN_ENTRIES` usable trainings of distinct cells (finite positive time and FLOPs) keep factor 1
(listed as uncalibrated), and so do those of a machine whose FLOPs range does not overlap the
reference's or whose factors would leave 1/MAX_FACTOR..MAX_FACTOR (an implausible fit, not a
CPU). The reference is a recorded machine: "not recorded" entries are never the reference.

The two fits are compared only where both saw data: log FLOPs are clipped to the overlap of
the two machines' ranges, so neither fit is extrapolated (a machine whose cells all have the
same FLOPs has no slope to extrapolate with: its fit holds at that one value only).
"""
from __future__ import annotations

import numpy as np

from nasbench_lab.tables.integrity import TableError
from nasbench_lab.tables.schema import NOT_RECORDED, is_machine_text

TIME_METRICS = ("train_time", "valid_time", "test_time")
MIN_ENTRIES = 50
MAX_FACTOR = 100.0  # factors outside 1/MAX_FACTOR..MAX_FACTOR are refused (fit, writer and reader)


def fit_time_scale(final_train_time: np.ndarray, present: np.ndarray, codes: np.ndarray,
                   machines: list[str], flops: np.ndarray, rows) -> tuple[np.ndarray, dict] | None:
    """Factors [n_archs, n_seeds] (float32, 1 where not trained) and a JSON-able account of
    the fit, or None when there is nothing to calibrate (one machine, no recorded machine, or
    no usable FLOPs). `rows`: one architecture index per distinct cell (the fit counts each
    trained cell once); `codes` index `machines` (-1: not recorded, fitted as one group)."""
    t = np.asarray(final_train_time, np.float64)
    codes = np.asarray(codes, np.int64)
    flops = np.asarray(flops, np.float64)
    rows = np.asarray(rows, np.int64)
    groups = sorted(set(np.unique(codes[rows][present[rows]]).tolist()))
    recorded = [g for g in groups if g >= 0]
    if len(groups) < 2 or not recorded:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        lf, lt = np.log(flops), np.log(t)
    usable = present & np.isfinite(lt) & (t > 0) & np.isfinite(lf)[:, None]
    member = {g: usable[rows] & (codes[rows] == g) for g in groups}  # [distinct cell, seed] per machine
    counts = {g: int(member[g].sum()) for g in groups}
    ref = max(recorded, key=lambda g: (counts[g], -g))
    fits = {}
    for g in groups:
        if counts[g] < MIN_ENTRIES:
            continue
        r, c = np.nonzero(member[g])
        x, y = lf[rows[r]], lt[rows[r], c]
        if np.ptp(x) == 0:
            fits[g] = (float(y.mean()), 0.0, float(x[0]), float(x[0]))
            continue
        b, a = np.polyfit(x, y, 1)
        fits[g] = (float(a), float(b), float(x.min()), float(x.max()))
    if ref not in fits:
        return None
    a0, b0, lo0, hi0 = fits[ref]
    scale = np.ones(codes.shape, np.float64)
    why = {}  # machines left uncalibrated, and why
    for g, (a, b, lo, hi) in fits.items():
        if g == ref:
            continue
        # both fits hold only within the FLOPs they saw: compare them on the overlap (no
        # extrapolation of either; unknown FLOPs: the middle of the overlap)
        lo_c, hi_c = max(lo, lo0), min(hi, hi0)
        if lo_c > hi_c:
            why[g] = "its FLOPs range does not overlap the reference's"
            continue
        sel = present & (codes == g)
        with np.errstate(over="ignore"):
            x = np.clip(np.where(np.isfinite(lf), lf, (lo_c + hi_c) / 2), lo_c, hi_c)
            f = np.broadcast_to(np.exp((a0 - a) + (b0 - b) * x)[:, None], codes.shape)[sel]
        if not (np.isfinite(f).all() and (f >= 1 / MAX_FACTOR).all() and (f <= MAX_FACTOR).all()):
            why[g] = f"its factors would leave 1/{MAX_FACTOR:g}..{MAX_FACTOR:g} (an implausible fit)"
            continue
        scale[sel] = f
    for g in why:
        del fits[g]
    name = {g: machines[g] if g >= 0 else NOT_RECORDED for g in groups}
    fitted = {}
    for g in groups:
        if g not in fits:
            fitted[name[g]] = {"trainings": counts[g], "uncalibrated": why.get(
                g, f"fewer than {MIN_ENTRIES} trainings with a finite time and FLOPs")}
            continue
        fitted[name[g]] = {"trainings": counts[g], "a": round(fits[g][0], 6), "b": round(fits[g][1], 6),
                           "median_factor": round(float(np.median(scale[rows][member[g]])), 4)}
    account = {
        "reference": name[ref], "machines": fitted,
        "model": "per machine: log(final train_time) = a + b log(flops) over its trainings of distinct "
                 "cells; factor exp(fit_reference - fit_machine) on train_time, valid_time and test_time",
    }
    return scale.astype(np.float32), account


# --- reading: the factors and their account, checked (Table.time_scale, Table.time_calibration)
_FIX = "re-import or rebuild it"


def _number(v) -> bool:
    """A finite JSON number (an int too large for a float, NaN and infinities are not)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and -1e300 < v < 1e300


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _factor(v) -> bool:
    return _number(v) and 1 / MAX_FACTOR <= v <= MAX_FACTOR


def check_pairing(where: str, has_scale: bool, has_account: bool) -> None:
    """Factors come with their account and the reverse."""
    if has_account and not has_scale:
        raise TableError(f"{where} is missing but the schedule's attr time_calibration says the times "
                         f"were calibrated: the factors were removed; {_FIX}")
    if has_scale and not has_account:
        raise TableError(f"{where} has no attr time_calibration (the fit its factors come from) on the "
                         f"schedule; {_FIX}")


def check_layout(where: str, ds, shape: tuple) -> None:
    """The stored factors: a float32 (or float64) dataset of the schedule's [arch, seed] shape."""
    import h5py

    if not isinstance(ds, h5py.Dataset) or ds.shape != shape or ds.dtype.kind != "f" \
            or ds.dtype.itemsize not in (4, 8):
        got = f"{ds.dtype} {ds.shape}" if isinstance(ds, h5py.Dataset) else "a group"
        raise TableError(f"{where} is {got}, expected float32 (or float64) of shape {shape}; {_FIX}")


def check_account(where: str, cal: dict, machines: list[str]) -> None:
    """`cal` is an account of a fit over the machines of built_on."""
    known = set(machines) | {NOT_RECORDED}
    fits = cal.get("machines")
    ok = isinstance(fits, dict) and cal.get("reference") in machines and cal["reference"] in fits
    for m, fit in (fits.items() if ok else ()):
        ok = ok and m in known and isinstance(fit, dict) and _count(fit.get("trainings")) and (
            isinstance(fit.get("uncalibrated"), str) and is_machine_text(fit["uncalibrated"])
            or _factor(fit.get("median_factor")) and _number(fit.get("a")) and _number(fit.get("b")))
    if not ok:
        raise TableError(f"{where} is not an account of a fit (reference: a machine of built_on; machines: "
                         "per machine of built_on, trainings and a, b, median_factor or uncalibrated); "
                         f"{_FIX}")


def check_scale(where: str, scale: np.ndarray, present: np.ndarray, codes: np.ndarray,
                machines: list[str], cal: dict) -> None:
    """Factors within 1/MAX_FACTOR..MAX_FACTOR, and exactly 1 where nothing is scaled (an
    entry not trained, or trained by the reference or an uncalibrated machine)."""
    with np.errstate(invalid="ignore"):
        bad = ~((scale >= (1 - 1e-6) / MAX_FACTOR) & (scale <= MAX_FACTOR * (1 + 1e-6)))
    if bad.any():
        raise TableError(f"{where} holds {int(bad.sum())} factors that are not finite and within "
                         f"1/{MAX_FACTOR:g}..{MAX_FACTOR:g} (e.g. {float(scale[bad][0]):g}); {_FIX}")
    unscaled = ~present
    for m, fit in cal["machines"].items():
        if m == cal["reference"] or "uncalibrated" in fit:
            unscaled |= codes == (machines.index(m) if m in machines else -1)
    if (scale[unscaled] != 1).any():
        raise TableError(f"{where} holds factors other than 1 for {int((scale[unscaled] != 1).sum())} "
                         "entries that are not scaled (not trained, or trained by the reference or "
                         f"an uncalibrated machine); {_FIX}")
