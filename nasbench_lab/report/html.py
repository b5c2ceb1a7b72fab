"""report.html: the summary and figures through a Jinja2 template (templates/report.html.j2).

This module only prepares values (formatted numbers, small HTML fragments such as the
embedded images); the page's structure and wording live in the template, its style in
templates/report.css. Jinja2 autoescapes everything not marked as `Markup`.
"""
from __future__ import annotations

import html
from pathlib import Path

from nasbench_lab.report.format import budget_text, fmt, fmt_p, p_eq, pct
from nasbench_lab.stats import format_a12
from nasbench_lab.report.manifest import LEVEL, SUMMARY_JSON
from nasbench_lab.report.stability import describe as describe_stability

TEMPLATES = Path(__file__).parent / "templates"


def _env():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def _m(text: str):
    from markupsafe import Markup

    return Markup(text)


def _e(x) -> str:
    return html.escape(str(x))


def _img(b64: str, alt: str):
    return _m(f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">')


def _present_note(share) -> str:
    """A warning when the table lacks some (arch, seed) entries (missing seeds, a partial build)."""
    if share is None or share >= 1:
        return ""
    return (f" among the trained ones <span class='muted'>(only {100 * share:.0f}% of the (architecture, "
            "seed) entries are present: missing seeds are never drawn)</span>")


def _seeds(xs) -> str:
    if isinstance(xs, int):
        return f"{xs} seed{'s' if xs != 1 else ''}"
    return ("seed means (one value per architecture)" if list(xs) == ["mean"]
            else f"{len(xs)} seed{'s' if len(xs) != 1 else ''} ({_e(', '.join(map(str, xs)))})")


def _letters(s: str) -> list[dict]:
    import string

    alphabet = string.ascii_lowercase + string.ascii_uppercase
    return [{"char": c, "index": alphabet.index(c) % 7} for c in s]


def _verdict_tables(summary, metric):
    out = []
    for t, tab in summary["tables"].items():
        rows = []
        for i, s in enumerate(tab["ranking"], start=1):
            f = tab["final"][s][metric]
            rows.append({"rank": i, "strategy": s, "letters": _letters(tab.get("letters", {}).get(s, "")),
                         "median": fmt(f["median"]), "mean": fmt(f["mean"]),
                         "ci": f"{fmt(f['ci_low'])}, {fmt(f['ci_high'])}",
                         "oracle": pct(tab["final"][s]["found_oracle"])})
        out.append({"name": t, "sentence": tab.get("headline", ""), "rows": rows})
    return out


def _setup_rows(setup):
    cmd = setup.get("command")
    strat = "<br>".join(f"{_e(s)} <span class='muted'>{_e(', '.join(f'{k}={v}' for k, v in p.items()) or 'no parameters')}</span>"
                        for s, p in setup["strategies"].items())
    rows = [
        ("command line", f"<code>{_e(cmd)}</code>" if cmd else "<span class='muted'>(not recorded)</span>"),
        ("strategies", strat),
        ("runs per strategy and table", _e(setup["runs"])),
        ("seed", f"{_e(setup['seed'])} <span class='muted'>(run i of every strategy sees the same "
                 "table noise, so runs are paired by index)</span>"),
        ("budget per run", _e(budget_text(setup))),
        ("statistics", f"final-value CI: {_e(setup['bootstrap'])}, {setup['confidence_level']:.0%}; "
                       f"curves: {_e(setup['curve_band'])}; pairwise: {_e(setup['test_name'])}, Holm, "
                       f"alpha = {setup['alpha']:g}"),
        ("software", f"nasbench_lab {_e(setup['software_version'])} (runs made with "
                     f"{_e(setup['results_software_version'])}), Python {_e(setup['python'])}"),
    ]
    return [(k, _m(v)) for k, v in rows]


def _fact_rows(facts):
    from nasbench_lab.tables.resolution import describe as describe_resolution

    rows = [
        ("file", lambda f: f"<code>{_e(f['path'])}</code>"),
        ("dataset, space", lambda f: f"{_e(f['dataset'])}, {_e(f['space'])} ({f['n_archs']} architectures)"),
        ("content hash", lambda f: f"<code>{_e(f['content_hash'])}</code>"),
        ("search schedule", lambda f: f"{f['search_epochs']} epochs (<code>{_e(f['search_schedule'])}</code>), "
                                      f"{_seeds(f['search_seeds'])}; a query draws one seed"
                                      + _present_note(f.get("search_present_share"))),
        ("reported on", lambda f: (f"<strong>table {_e(f['report_table']['name'])}</strong> ({_e(f['report_table']['dataset'])}, "
                                   f"hash <code>{_e(f['report_table']['content_hash'])}</code>): the search saw only "
                                   f"{_e(f['name'])}; every accuracy, regret and oracle in this report is on "
                                   f"{_e(f['report_table']['name'])}") if f.get("report_table") else
                                  f"this table ({_e(f['name'])})"),
        ("report schedule", lambda f: f"{f['report_epochs']} epochs (<code>{_e(f['report_schedule'])}</code>), "
                                      f"{_seeds(f['report_seeds'])}; the incumbent is reported with the seed mean"),
        ("oracle", lambda f: f"best report-schedule validation accuracy {fmt(f['oracle']['valid'])}% "
                             f"(its test accuracy {fmt(f['oracle']['test'])}%; best test accuracy in the table "
                             f"{fmt(f['best_test'])}%)<br><span class='arch'>#{f['oracle']['index']} "
                             f"{_e(f['oracle']['arch'])}</span>"),
        ("resolution", lambda f: _e(describe_resolution(f["resolution"])) if f.get("resolution") else "n/a"),
    ]
    return [(label, [_m(fn(f)) for f in facts]) for label, fn in rows]


def _table_section(t, tab, figs):
    anytime = [_img(figs[k], f"{t}: {alt}") for k, alt in ((f"anytime_regret/{t}", "anytime regret"),
                                                            (f"anytime_test/{t}", "anytime test accuracy"))
               if k in figs]
    final_rows = []
    for s in tab["ranking"]:
        fs = tab["final"][s]
        te, va, rg = fs["test"], fs["valid"], fs["regret"]
        final_rows.append({"strategy": s, "letters": _letters(tab.get("letters", {}).get(s, "")), "runs": fs["runs"],
                           "cells": [
            _m(f"{fmt(te['mean'])} &plusmn; {fmt(te['std'])}"), fmt(te["median"]),
            f"[{fmt(te['ci_low'])}, {fmt(te['ci_high'])}]",
            _m(f"{fmt(va['mean'])} &plusmn; {fmt(va['std'])}"), fmt(va["median"]),
            f"[{fmt(va['ci_low'])}, {fmt(va['ci_high'])}]",
            fmt(rg["mean"], 3), fmt(rg["median"], 3), pct(fs["found_oracle"]),
            fmt(fs["queries_mean"], 1), fmt(fs["sim_seconds_mean"], 0)]})
    missing = ", ".join(f"{s} {tab['final'][s]['test']['n_missing']}" for s in tab["ranking"]
                        if tab["final"][s]["test"]["n_missing"])
    pairs = [{"a": r["a"], "b": r["b"], "n": f"{r['n_a']}/{r['n_b']}", "statistic": fmt(r["statistic"], 1),
              "p": fmt_p(r["p"]), "p_holm": fmt_p(r["p_holm"]), "a12": format_a12(r["a12"]), "magnitude": r["magnitude"],
              "winner": r["winner"], "stability": pct(r.get("stability")),
              "result": (f"{r['a']} better" if r["winner"] else
                         "not enough runs" if r["p"] is None else "not significant")}
             for r in tab["pairwise"]]
    xdesc = ("simulated seconds (log scale), from the earliest first query to the budget"
             if tab["x_axis"] == "time" else "number of queries (log scale)")
    return {"name": t, "xdesc": xdesc, "anytime": anytime, "final_rows": final_rows, "missing": missing,
            "final_img": _img(figs[f"final/{t}"], f"{t}: final accuracy per run") if f"final/{t}" in figs else None,
            "pairs": pairs, "mo": _mo_section(t, tab, figs),
            "stability": describe_stability(tab.get("stability"), tab["pairwise"]),
            "pair_img": (_img(figs[f"pairwise/{t}"], f"{t}: pairwise effect sizes and significance")
                         if f"pairwise/{t}" in figs else None)}


def _mo_section(t, tab, figs):
    from nasbench_lab.report.front_figures import html_section

    return html_section(t, tab, figs)


def _across(summary, figs, tables, strategies):
    across = summary.get("across_tables")
    if not across:
        return None
    rows = [{"strategy": s, "cells": [fmt(across["matrix"][t][s]) for t in tables],
             "rank": fmt((across.get("avg_ranks") or {}).get(s))} for s in strategies]
    fr = across.get("friedman")
    text = None
    if fr:
        idf = (f"Iman-Davenport F = {fmt(fr['iman_davenport_F'])}, p {p_eq(fr['iman_davenport_p'])}"
               if fr["iman_davenport_F"] is not None else
               "Iman-Davenport F is infinite (every table ranks the strategies alike), so the chi-square "
               "p-value is used")
        text = (f"Friedman chi\u00b2 = {fmt(fr['chi2'])}, p {p_eq(fr['p'])}; {idf} ({fr['k']} strategies, "
                f"{fr['n']} tables). Nemenyi CD = {fmt(across['cd'])}.")
    return {"rows": rows, "plain": across["plain"], "friedman": text,
            "cd_img": _img(figs["cd"], "critical difference diagram") if "cd" in figs else None}


def render_html(summary: dict, figs: dict, summary_name: str = SUMMARY_JSON) -> str:
    setup = summary["setup"]
    strategies = list(setup["strategies"])
    tables = list(summary["tables"])
    metric = setup["metric"]
    nav = [("verdict", "Verdict"), ("setup", "Setup")] + [(f"table-{t}", t) for t in tables]
    if summary.get("across_tables"):
        nav.append(("across", "Across tables"))
    nav.append(("definitions", "Definitions"))
    pair_lines = [(d["plain"], d["winner"] is not None) for tab in summary["tables"].values()
                  for d in tab["pairwise"]]
    across = summary.get("across_tables")
    ctx = {
        "css": _m((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        "setup": setup, "strategies": strategies, "tables": tables, "nav": nav,
        "word": "test" if metric == "test" else "validation", "level": f"{LEVEL:.0%}",
        "generated": summary["timing"]["generated"], "budget": budget_text(setup),
        "verdict_tables": _verdict_tables(summary, metric),
        "across_plain": across["plain"] if across else None, "has_cd": "cd" in figs,
        "pair_lines": pair_lines,
        "setup_rows": _setup_rows(setup),
        "fact_rows": _fact_rows([summary["tables"][t]["facts"] for t in tables]),
        "table_sections": [_table_section(t, summary["tables"][t], figs) for t in tables],
        "stat_note": ("Wilcoxon's W, the smaller of the two signed-rank sums" if setup["test"] == "wilcoxon"
                      else "Mann-Whitney's U of A"),
        "across": _across(summary, figs, tables, strategies),
        "summary_name": summary_name,
    }
    return _env().get_template("report.html.j2").render(**ctx)
