"""The terminal version of the report (`compare`, `report`) and the headline numbers of `--json`."""
from __future__ import annotations

from nasbench_lab.report.format import budget_text, fmt
from nasbench_lab.report.manifest import METRICS
from nasbench_lab.report.stability import describe as describe_stability


def text_summary(summary: dict) -> str:
    """Per table: the ranking (by median of the compared metric) with its group letters;
    then the verdict: one sentence per table, the significant pairs, a count of the rest."""
    setup = summary["setup"]
    metric = setup["metric"]
    lines = []
    for t, tab in summary["tables"].items():
        rt = tab["facts"].get("report_table")
        on = f" of table {rt['name']}: the search saw only {t}, every accuracy below is on {rt['name']}" if rt else ""
        lines.append(f"{t}: final incumbent ({tab['facts']['report_schedule']}-epoch schedule{on}), "
                     f"{setup['runs']} runs per strategy, {budget_text(setup)}; ranked by median final "
                     f"{'test' if metric == 'test' else 'validation'} accuracy")
        w = max(8, *(len(s) for s in tab["ranking"]))
        letters = tab.get("letters", {})
        g = max(5, *(len(letters.get(s, "")) for s in tab["ranking"]))
        lines.append(f"  {'#':>2}  {'strategy':<{w}}  {'group':<{g}}  {'runs':>4}  {'median':>6}  "
                     f"{'mean +- std':>14}  {'95% CI of mean':>16}  {'other':>6}  {'regret':>6}")
        other = "valid" if metric == "test" else "test"
        for i, s in enumerate(tab["ranking"], start=1):
            fs = tab["final"][s]
            m = fs[metric]
            lines.append(f"  {i:>2}  {s:<{w}}  {letters.get(s, ''):<{g}}  {fs['runs']:>4}  {fmt(m['median']):>6}  "
                         f"{fmt(m['mean']):>6} +- {fmt(m['std']):<4}  "
                         f"{'[' + fmt(m['ci_low']) + ', ' + fmt(m['ci_high']) + ']':>16}  "
                         f"{fmt(fs[other]['median']):>6}  {fmt(fs['regret']['mean'], 3):>6}")
        lines.append(f"  (median, mean and CI: final {metric} accuracy; other: median {other} accuracy; "
                     "regret: mean, pp; strategies sharing a group letter are not significantly different)")
        lines += _resolution_lines(tab, metric)
        stable = describe_stability(tab.get("stability"), tab["pairwise"])
        if stable:
            lines.append(f"  {stable}")
        for s in tab["ranking"]:
            n_missing = tab["final"][s]["test"]["n_missing"]
            if n_missing:
                lines.append(f"  note: {n_missing} runs of {s} have no final value (no query fitted in "
                             "the budget, or only diverged trainings)")
    heads = summary.get("headlines") or []
    if heads:
        lines.append(f"verdicts: {setup['test_name']}, Holm-adjusted, alpha = {setup['alpha']:g}")
        lines += [f"  {h}" for h in heads]
        for tab in summary["tables"].values():
            sig = [d["plain"] for d in tab["pairwise"] if d["winner"] is not None or d["p"] is None]
            lines += [f"  {v}" for v in sig]
            rest = len(tab["pairwise"]) - len(sig)  # pairs tested and found alike
            if sig and rest:
                lines.append(f"  ({rest} more pair{'s' if rest != 1 else ''} without a significant difference: "
                             "see the report)")
    for t, tab in summary["tables"].items():
        if tab.get("hypervolume"):
            from nasbench_lab.report.hypervolume import text_lines

            lines += text_lines(t, tab["hypervolume"], setup)
    return "\n".join(lines)


def _resolution_lines(tab: dict, metric: str) -> list[str]:
    """What the table can resolve (as the report's setup says) and how many pairs of
    strategies differ by less than one run's seed noise there."""
    from nasbench_lab.tables.resolution import below_noise, describe, seed_noise

    res = tab["facts"].get("resolution")
    if not res:
        return []
    lines = [f"  table resolution: {describe(res)}"]
    medians = {s: tab["final"][s][metric]["median"] for s in tab["ranking"]}
    pairs = [(a, b) for i, a in enumerate(tab["ranking"]) for b in tab["ranking"][i + 1:]]
    close = [(a, b) for a, b in pairs if medians[a] is not None and medians[b] is not None
             and below_noise(medians[a] - medians[b], res, metric)]  # None: a strategy without final values
    if close:
        lines.append(f"  note: {len(close)} of {len(pairs)} pairs of strategies have medians closer than the "
                     f"per-cell seed noise of {metric} accuracy ({seed_noise(res, metric):.2f} points per run): "
                     "retrained, their picks could swap")
    return lines


def headline(summary: dict) -> dict:
    """The headline numbers for `--json`."""
    return {
        "tables": {t: {"final": {s: {m: {k: fs[m][k] for k in ("mean", "std", "median", "ci_low", "ci_high", "n")}
                                     for m in METRICS} | {"runs": fs["runs"]}
                                 for s, fs in tab["final"].items()},
                       "ranking": tab["ranking"], "letters": tab.get("letters", {}),
                       "pairwise": [{k: r.get(k) for k in ("a", "b", "test", "p", "p_holm", "a12", "magnitude",
                                                           "winner", "stability")} for r in tab["pairwise"]],
                       "stability": tab.get("stability")}
                   for t, tab in summary["tables"].items()},
        "across_tables": None if not summary.get("across_tables") else {
            k: summary["across_tables"].get(k) for k in ("avg_ranks", "friedman", "cd", "groups")},
        "headlines": summary.get("headlines", []),
        "verdicts": summary["verdicts"],
        "metric": summary["setup"]["metric"],
        **({"hypervolume": {t: {k: tab["hypervolume"][k] for k in ("objectives", "max_params", "final", "ranking",
                                                                   "table_front_hypervolume")}
                            | {"pairwise": [{k: r[k] for k in ("a", "b", "p", "p_holm", "a12", "winner")}
                                            for r in tab["hypervolume"]["pairwise"]]}
                            for t, tab in summary["tables"].items() if tab.get("hypervolume")}}
           if any(tab.get("hypervolume") for tab in summary["tables"].values()) else {}),
    }
