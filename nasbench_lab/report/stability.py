"""Verdict stability under the table's own seed noise: every pairwise verdict of a comparison
recomputed on resampled tables, in which each cell's reported value is the mean of its
training seeds drawn again with replacement (a bootstrap over the table's seeds).

The searches are not rerun: each run keeps its final cell, only the value that cell is
reported with changes. So a verdict that holds in nearly every resampled table rests on
differences between the cells the strategies pick, not on the particular seeds the table
happened to train; one that flips often could come out the other way on a rebuilt table.
The resampled means vary less than those of a table retrained with new seeds would (with k
seeds per cell, (k-1)/k^2 of a seed's variance against 2/k for the difference between two
builds: a third of it for k = 3), a cell with one seed never changes, and the searches are
not rerun: the shares lean towards stability. High shares are an upper bound; low shares are
the informative ones.
"""
from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
from scipy import stats as sst

from nasbench_lab import NasbenchError
from nasbench_lab import stats as st

#: resampled tables per comparison; a share's 95% margin is about +-7 points at 50%, +-4 at 90%
N_RESAMPLES = 200
#: a verdict counts as stable when it holds in at least this share of the resampled tables
STABLE_SHARE = 0.9
#: scipy's tests choose their p-value method per sample at or below these sizes (Wilcoxon:
#: exact, permutation or normal by ties and zeros; Mann-Whitney: exact without ties); above
#: them always the normal approximation, so all resamples can be tested in one call. The check
#: needs more runs than this per strategy (below, one call per resample would take minutes).
VECTOR_MIN_PAIRED = 50
VECTOR_MIN_UNPAIRED = 8


def resampled_means(table, schedule: str, metric: str, archs: np.ndarray, n: int,
                    rng: np.random.Generator) -> np.ndarray:
    """(n, len(archs)): the final `metric` accuracy of each cell as the mean of its present
    seeds drawn with replacement, n times (NaN for a cell without seeds)."""
    sch = table.schedule(schedule)
    ei = sch.epoch_index(None)
    vals = np.asarray(table.array(sch.name, f"{metric}_acc")[archs, :, ei], dtype=np.float64)
    present = np.asarray(table.present(sch.name)[archs], dtype=bool)
    out = np.full((n, len(archs)), np.nan)
    counts = present.sum(axis=1)
    for c in np.unique(counts):
        if c == 0:
            continue
        rows = np.flatnonzero(counts == c)
        cols = np.argsort(~present[rows], axis=1, kind="stable")[:, :c]  # the present seed columns
        v = np.take_along_axis(vals[rows], cols, axis=1)                  # (rows, c)
        draw = rng.integers(0, c, size=(n, rows.size, c))
        out[:, rows] = np.take_along_axis(np.broadcast_to(v, (n,) + v.shape), draw, axis=2).mean(axis=2)
    # a cell whose seed mean is NaN (a diverged seed) has no reported value in the report, so
    # none in any resampled table either: the same runs are compared as in the report
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, vals, 0.0).sum(axis=1) / counts
    out[:, np.isnan(mean)] = np.nan
    return out


def verdict_stability(table, schedule: str, metric: str, picks: dict, pairs: list[dict], *,
                      paired: bool, alpha: float, seed: int, n: int = N_RESAMPLES) -> dict:
    """The share of `n` resampled tables in which each pair's verdict (its winner, or no
    significant difference) is the reported one. `picks`: {strategy: (run indices, final
    cell index per run, -1 for none)}; `pairs`: the report's pairwise results (a, b, winner).
    The verdicts are those of `stats.pairwise_tests` (same tests, Holm over the pairs); the
    paired test runs vectorised over the resamples (`paired_winners`)."""
    archs = np.unique(np.concatenate([a[a >= 0] for _, a in picks.values()]))
    if archs.size == 0 or not pairs:
        return {"resamples": 0, "pairs": {}}
    boot = resampled_means(table, schedule, metric, archs, n, np.random.default_rng([seed, 0x57AB]))
    values = {}
    for s, (runs, a) in picks.items():  # (n, runs) per strategy, runs in index order
        order = np.argsort(runs, kind="stable")
        runs, a = np.asarray(runs)[order], np.asarray(a)[order]
        values[s] = (runs, np.where(a >= 0, boot[:, np.searchsorted(archs, np.maximum(a, archs[0]))], np.nan))
    reported = {frozenset((d["a"], d["b"])): d["winner"] for d in pairs}
    winners = paired_winners(values, alpha) if paired else unpaired_winners(values, alpha)
    return {"resamples": n, "pairs": {k: float(np.mean([w == reported[k] for w in winners[k]]))
                                      for k in reported if k in winners}}


def paired_winners(values: dict, alpha: float) -> dict:
    """{pair: winner per resample (None: no significant difference)} of Wilcoxon signed-rank
    tests on runs paired by index, as `stats.pairwise_tests(paired=True)`, for every resample
    at once; `values`: {strategy: (run indices, (n, runs) values)}."""
    def samples(na, nb):
        (ra, xa), (rb, xb) = values[na], values[nb]
        _, ia, ib = np.intersect1d(ra, rb, return_indices=True)
        return [xa[:, ia] - xb[:, ib]]

    def test(d):
        r = sst.rankdata(np.abs(d), axis=1)
        sign = np.sign(d)
        zeros = (d == 0).sum(axis=1)
        direction = (sign * r).sum(axis=1) - zeros * sign.sum(axis=1)  # ranks of the non-zero ones
        pv = sst.wilcoxon(d, np.zeros_like(d), axis=1, zero_method="wilcox", alternative="two-sided").pvalue
        pv = np.where(np.isnan(pv), 1.0, pv)  # as stats: NaN p (every difference zero) is 1
        pv[zeros == d.shape[1]] = 1.0
        return pv, direction

    return _winners(values, alpha, samples, test, VECTOR_MIN_PAIRED)


def unpaired_winners(values: dict, alpha: float) -> dict:
    """As `paired_winners` for the Mann-Whitney U test (`stats.pairwise_tests(paired=False)`)."""
    def samples(na, nb):
        return [values[na][1], values[nb][1]]

    def test(a, b):
        m, k = a.shape[1], b.shape[1]
        both = np.concatenate([a, b], axis=1)
        ranks = sst.rankdata(both, axis=1)
        a12 = (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * k)  # as stats.vargha_delaney_a12
        pv = sst.mannwhitneyu(a, b, alternative="two-sided", axis=1).pvalue
        pv = np.where(np.all(both == both[:, :1], axis=1), 1.0, pv)  # every value tied: p = 1
        return pv, a12 - 0.5

    return _winners(values, alpha, samples, test, VECTOR_MIN_UNPAIRED)


def _winners(values: dict, alpha: float, samples, test, vector_min: int) -> dict:
    """For every pair, `test` (p-values and directions) on the pair's `samples` (one or two
    (n, runs) matrices, NaN = no value): one call for all resamples whose NaN runs are the
    same, one call per resample where they differ or a sample is `vector_min` runs or fewer
    (scipy then picks its method per sample); then Holm and the winners."""
    names = list(values)
    n = next(iter(values.values()))[1].shape[0]
    keys, P, D = [], [], []
    for na, nb in itertools.combinations(names, 2):
        mats = samples(na, nb)
        oks = [~np.isnan(x) for x in mats]
        p, direction = np.full(n, np.nan), np.zeros(n)
        same = np.all([np.all(ok == ok[0], axis=1) for ok in oks], axis=0) if mats[0].shape[1] else \
            np.ones(n, dtype=bool)
        rows = [np.flatnonzero(same)] + [np.array([i]) for i in np.flatnonzero(~same)]
        if min(ok.sum(axis=1).min(initial=ok.shape[1]) for ok in oks) <= vector_min:
            rows = [np.array([i]) for i in range(n)]
        for r in rows:
            if r.size == 0:
                continue
            cut = [x[np.ix_(r, np.flatnonzero(ok[r[0]]))] for x, ok in zip(mats, oks)]
            if any(c.shape[1] == 0 for c in cut):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p[r], direction[r] = test(*cut)
        keys.append((na, nb))
        P.append(p)
        D.append(direction)
    return _holm_winners(keys, np.array(P).T, np.array(D).T, alpha)  # (n, pairs) each


def _holm_winners(keys, P, D, alpha) -> dict:
    """Per resample (rows of P, D: p-values and directions of the pairs `keys`), Holm over the
    pairs and the winner of each as `stats.pairwise_tests` names it (higher is better)."""
    out = {frozenset(k): [] for k in keys}
    for i in range(P.shape[0]):
        ph = st.holm(P[i])
        for j, (na, nb) in enumerate(keys):
            win = None
            if not np.isnan(ph[j]) and ph[j] < alpha and D[i, j] != 0:
                win = na if D[i, j] > 0 else nb
            out[frozenset((na, nb))].append(win)
    return out


def for_table(config: dict, tname: str, facts: dict, cols: dict, pairs: list[dict], *, metric: str,
              paired: bool, alpha: float, seed: int) -> dict:
    """Stability of one table's verdicts, or {"skipped": why} when the table the runs were
    reported on cannot be opened as it was (moved, changed) or has one seed per cell."""
    from nasbench_lab.tables.table import Table

    entry = config.get("report_table") or (config.get("tables") or {}).get(tname) or {}
    path, want = entry.get("path"), entry.get("content_hash")
    if not path or not Path(path).is_file():
        where = "" if not path or Path(path).is_absolute() else \
            " (a relative path: run the report from the folder the compare ran in)"
        return {"skipped": f"the table file {path} is not there any more{where}"}
    try:
        with Table(path) as t:
            if want and t.content_hash != want:
                return {"skipped": f"{path} has changed since the runs were made"}
            sch = t.schedule(facts["report_schedule"])
            if len(sch.seeds) < 2:
                return {"skipped": "the table has one training seed per cell"}
            picks = {s: (np.asarray(c.run, dtype=np.int64), c.final()["arch"]) for s, c in cols.items()}
            need = VECTOR_MIN_PAIRED if paired else VECTOR_MIN_UNPAIRED
            # the report's own test sizes: runs with a value, after pairing (a NaN seed mean drops a run)
            fewest = min(min(int(d.get("n_a") or 0), int(d.get("n_b") or 0)) for d in pairs)
            if fewest <= need:
                return {"skipped": f"it needs more than {need} runs with a final value per strategy "
                                   f"{'pair ' if paired else ''}(the fewest here: {fewest})"}
            res = verdict_stability(t, sch.name, metric, picks, pairs, paired=paired, alpha=alpha, seed=seed)
    except (NasbenchError, OSError) as e:  # a damaged table file: the report renders, without this check
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return {"skipped": msg if str(path) in msg else f"cannot read {path}: {msg}"}
    for d in pairs:
        d["stability"] = res["pairs"].get(frozenset((d["a"], d["b"])))
    shares = [d["stability"] for d in pairs if d.get("stability") is not None]
    return {"resamples": res["resamples"], "threshold": STABLE_SHARE,
            "stable": int(sum(s >= STABLE_SHARE for s in shares)), "pairs_tested": len(shares)}


def describe(stability: dict | None, pairs: list[dict], worst: int = 3) -> str | None:
    """One sentence for the terminal and the report, or None when there is nothing to say."""
    if not stability:
        return None
    if "skipped" in stability:
        return f"verdict stability not computed: {stability['skipped']}"
    if not stability.get("pairs_tested"):
        return None
    shaky = sorted((d for d in pairs if d.get("stability") is not None and d["stability"] < stability["threshold"]),
                   key=lambda d: d["stability"])
    text = (f"verdict stability: {stability['stable']} of {stability['pairs_tested']} verdicts hold in at least "
            f"{stability['threshold']:.0%} of {stability['resamples']} tables resampled from the table's own seeds "
            "(the runs' final cells reported with their seeds drawn again)")
    if shaky:
        text += "; least stable: " + "; ".join(
            f"{d['a']} {'beats' if d['winner'] else 'no different from'} {d['b']}: holds in {d['stability']:.0%}"
            for d in shaky[:worst])
    return text
