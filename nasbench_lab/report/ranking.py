"""The verdict: strategies ranked by median final value, groups that the Holm-corrected
pairwise tests cannot tell apart (compact letter display), one sentence per pair, and the
average ranks across tables (Friedman, Nemenyi).

Every pair is *oriented* before it is shown: A is the significant winner when there is
one, otherwise the strategy with the higher median. A12(A, B) in the table, the heatmap
and the sentence is then the same number, P(A's run > B's run) + ties / 2.
"""
from __future__ import annotations

import math
import string

import numpy as np

from nasbench_lab import stats as st
from nasbench_lab.report.format import fmt as _fmt
from nasbench_lab.report.format import p_eq as _p_eq


def _isnan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def order_by_median(final: dict, strategies, metric: str) -> list[str]:
    """Strategies from the highest median final `metric` to the lowest (ties: higher mean;
    strategies without a value last)."""
    def key(s):
        f = final[s][metric]
        med, mean = f.get("median"), f.get("mean")
        return (-(med if f.get("n") and not _isnan(med) else -math.inf),
                -(mean if f.get("n") and not _isnan(mean) else -math.inf))
    return sorted(strategies, key=key)


def orient(d: dict, first: str) -> dict:
    """The pair record `d` (a `stats.PairwiseResult` dict) with `first` as A: A12 becomes
    1 - A12, Mann-Whitney's U becomes the other side's U, the counts swap."""
    if d["a"] == first:
        return dict(d)
    o = dict(d)
    o["a"], o["b"], o["n_a"], o["n_b"] = d["b"], d["a"], d["n_b"], d["n_a"]
    if not _isnan(d["a12"]):
        o["a12"] = 1.0 - d["a12"]
    if d["test"] == "mann-whitney-u" and not _isnan(d["statistic"]):
        o["statistic"] = d["n_a"] * d["n_b"] - d["statistic"]
    return o


def orient_pairs(pairs: list[dict], order: list[str]) -> list[dict]:
    """Each pair with A = the winner, or the better-ranked one; in ranking order."""
    pos = {s: i for i, s in enumerate(order)}
    out = []
    for d in pairs:
        first = d["winner"] or (d["a"] if pos[d["a"]] < pos[d["b"]] else d["b"])
        out.append(orient(d, first))
    out.sort(key=lambda d: (min(pos[d["a"]], pos[d["b"]]), max(pos[d["a"]], pos[d["b"]])))
    return out


def compact_letters(order: list[str], different: list[tuple[str, str]]) -> dict[str, str]:
    """Compact letter display (Piepho 2004, insert-and-absorb): letters such that two
    strategies share a letter exactly when their pair is *not* significantly different.
    `order` is the ranking (the group of the best gets "a"); `different` the significant pairs."""
    groups: list[frozenset] = [frozenset(order)]
    for x, y in different:
        split = []
        for g in groups:
            if x in g and y in g:
                split += [g - {x}, g - {y}]
            else:
                split.append(g)
        groups = [g for g in set(split) if g and not any(g < h for h in split)]
    pos = {s: i for i, s in enumerate(order)}
    groups.sort(key=lambda g: sorted(pos[s] for s in g))
    letters = (string.ascii_lowercase + string.ascii_uppercase) * 4
    out = {s: "" for s in order}
    for letter, g in zip(letters, groups):
        for s in sorted(g, key=pos.get):
            out[s] += letter
    return out


def _pair(pairs, x, y):
    for d in pairs:
        if {d["a"], d["b"]} == {x, y}:
            return d
    return None


def noise_note(ma: float, mb: float, resolution: dict | None, metric: str) -> str:
    """A sentence when a difference of medians is below the table's per-cell seed noise."""
    from nasbench_lab.tables.resolution import below_noise, seed_noise

    diff = abs(ma - mb)
    if _isnan(diff) or not below_noise(diff, resolution, metric):
        return ""
    noise = seed_noise(resolution, metric)
    word = "test" if metric == "test" else "validation"
    return (f" The medians differ by {diff:.2f} points, less than the per-cell seed noise of {word} accuracy "
            f"on this table ({noise:.2f} points per training run): retrained, the picks of the two "
            "strategies could swap.")


def verdict_line(table: str, r, final: dict, metric: str, alpha: float,
                 resolution: dict | None = None) -> str:
    """One sentence for an oriented pair (`r`: a pair dict or `stats.PairwiseResult`), plus
    `noise_note` when the table's `resolution` says the difference is below its seed noise."""
    d = r if isinstance(r, dict) else r.to_dict()
    word = "test" if metric == "test" else "validation"
    a, b = d["a"], d["b"]
    if _isnan(d["p"]):
        return f"{table}: not enough runs to compare {a} and {b}."
    ma, mb = final[a][metric]["median"], final[b][metric]["median"]
    facts = (f"median final {word} accuracy {_fmt(ma)}% vs {_fmt(mb)}%; A12({a}, {b}) = {st.format_a12(d['a12'])}, "
             f"{d['magnitude']} effect; Holm-adjusted p {_p_eq(d['p_holm'])}")
    note = noise_note(ma, mb, resolution, metric)
    if d["winner"] is None:
        return f"{table}: no significant difference between {a} and {b} ({facts} >= {alpha:g}).{note}"
    return f"{table}: {a} beats {b} ({facts}).{note}"


def table_ranking(table: str, order: list[str], pairs: list[dict], final: dict, metric: str,
                  alpha: float) -> dict:
    """Letters, groups and the one-sentence summary of one table."""
    different = [(d["a"], d["b"]) for d in pairs if d["winner"] is not None]
    letters = compact_letters(order, different) if order else {}
    word = "test" if metric == "test" else "validation"
    if not order:
        return {"order": [], "letters": {}, "sentence": f"{table}: no runs."}
    best = order[0]
    med = final[best][metric]["median"]
    head = f"{table}: highest median final {word} accuracy: {best} ({_fmt(med)}%)"
    if len(order) == 1:
        return {"order": order, "letters": letters, "sentence": head + "; only one strategy, nothing to compare."}
    if not different:
        sentence = (f"{head}; no two strategies differ significantly (Holm-adjusted, alpha = {alpha:g}), "
                    "so the order of the medians may be chance.")
    else:
        same = [s for s in order[1:] if set(letters[s]) & set(letters[best])]
        worse = [s for s in order[1:] if (_pair(pairs, best, s) or {}).get("winner") == best]
        better = [s for s in order[1:] if (_pair(pairs, best, s) or {}).get("winner") == s]
        parts = [head]
        if same:
            parts.append(f"not significantly different from it: {', '.join(same)}")
        if worse:
            parts.append(f"significantly worse: {', '.join(worse)}")
        if better:
            parts.append(f"significantly better than it despite a lower median: {', '.join(better)}")
        others = [d for d in pairs if d["winner"] is not None and best not in (d["a"], d["b"])]
        if others:
            parts.append(f"{len(others)} more significant pair{'s' if len(others) != 1 else ''} among the others")
        sentence = "; ".join(parts) + "."
    return {"order": order, "letters": letters, "sentence": sentence}


def across_tables(per_table: dict, tables, strategies, metric: str, alpha: float) -> dict:
    """Average ranks (by median final metric per table, as the verdict ranks each table),
    Friedman and Nemenyi CD."""
    mat = np.array([[per_table[t]["final"][s][metric]["median"] for s in strategies] for t in tables],
                   dtype=float)
    k, n = len(strategies), len(tables)
    out = {"metric": metric, "matrix": {t: {s: mat[i, j] for j, s in enumerate(strategies)}
                                        for i, t in enumerate(tables)}}
    if np.isnan(mat).any():
        out.update(avg_ranks=None, friedman=None, cd=None, groups=[],
                   plain=f"Across {n} tables: not every strategy has runs on every table; no ranking.")
        return out
    ranks = st.average_ranks(mat, higher_is_better=True)
    out["avg_ranks"] = {s: float(r) for s, r in zip(strategies, ranks)}
    cd = st.nemenyi_cd(k, n, alpha)
    out["cd"] = cd
    out["groups"] = [list(g) for g in st.cd_groups(out["avg_ranks"], cd)]
    order = sorted(strategies, key=lambda s: out["avg_ranks"][s])
    apart = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]
             if out["avg_ranks"][b] - out["avg_ranks"][a] >= cd]
    out["significant_pairs"] = [list(p) for p in apart]
    nem = ("; ".join(f"{a} ranks significantly better than {b}" for a, b in apart) if apart
           else "no pair's average ranks differ by that much")
    rank_txt = ", ".join(f"{s} {out['avg_ranks'][s]:.2f}" for s in order)
    if k >= 3:
        f = st.friedman(mat, higher_is_better=True)
        out["friedman"] = {"chi2": f.statistic, "p": f.pvalue, "iman_davenport_F": f.iman_davenport,
                           "iman_davenport_p": f.iman_davenport_pvalue, "k": f.k, "n": f.n}
        # Iman-Davenport's F is infinite when every table ranks the strategies identically; its
        # p = 0 then overstates the evidence of a few tables, so fall back to the chi-square p.
        if math.isfinite(f.iman_davenport):
            p_used, which, why = f.iman_davenport_pvalue, "Iman-Davenport", ""
        else:
            p_used, which, why = f.pvalue, "chi-square", "; every table ranks them alike"
        out["friedman"]["p_used"] = p_used
        sig = p_used < alpha
        tail = (f"the Friedman test finds the ranks differ ({which} p {_p_eq(p_used)}{why}); "
                f"Nemenyi critical difference CD = {cd:.2f}: {nem}"
                if sig else
                f"the Friedman test finds no significant difference among the ranks "
                f"({which} p {_p_eq(p_used)} >= {alpha:g}{why})")
    else:
        out["friedman"] = None
        tail = (f"with only {k} strategies the Friedman test does not apply; Nemenyi critical difference "
                f"CD = {cd:.2f}: {nem}")
    out["plain"] = f"Across {n} tables (average rank by median final {metric} accuracy, 1 = best): {rank_txt}; {tail}."
    return out


