"""The comparison report: statistics recomputed from stored runs, figures, HTML and JSON.

`build_report(DIR)` reads every stored run of DIR (a `nasbench-lab compare` or `run`
output), computes everything with `nasbench_lab.stats`, draws the figures with
`nasbench_lab.plots` and writes

DIR/summary.json   every number shown in the report (machine-readable, strict JSON: NaN -> null)
DIR/report.html    one self-contained page (CSS inline, figures as base64 PNG): opens from disk

(`html_path` writes the page elsewhere, with its numbers beside it as the same name + .json.)
Nothing here runs a search: the report is a pure function of the stored runs plus a few
facts about each table (its content hash, schedules and oracle), which `compare` writes to
DIR/compare.json when it starts; without that file (a `run` directory) the tables are
opened from the paths in DIR/config.json and checked against the stored content hash.

The rooms, by concept:
  manifest.py   table facts and DIR/compare.json         analysis.py  every statistic
  ranking.py    ranking, group letters, verdict wording  figures.py   the PNG figures
  html.py       values for templates/report.html.j2      text.py      terminal and --json output

Definitions used throughout (also printed in the report):
- final value of a run: the incumbent (best observed validation accuracy on the search
  schedule) when the budget ran out, reported with its report-schedule seed-mean validation
  and test accuracy;
- oracle: the architecture with the best seed-mean validation accuracy of the report
  schedule, i.e. what a search that knew the whole table would report;
- regret: oracle validation accuracy minus the incumbent's (report schedule), in percentage
  points; 0 means the search found the oracle.
"""
from __future__ import annotations

import os
from pathlib import Path

from nasbench_lab.report.analysis import analyze, final_samples
from nasbench_lab.report.figures import make_figures
from nasbench_lab.report.html import render_html
from nasbench_lab.report.manifest import (COMPARE_JSON, LEVEL, METRIC_LABEL, METRICS, REPORT_HTML, SCHEMA,
                                          SUMMARY_JSON, TESTS, load_manifest, table_facts, write_manifest)
from nasbench_lab.report.ranking import (across_tables, compact_letters, order_by_median, orient,
                                         table_ranking, verdict_line)
from nasbench_lab.report.text import headline, text_summary
from nasbench_lab.results import _atomic_write_json

__all__ = ["build_report", "report_paths", "analyze", "make_figures", "render_html", "text_summary",
           "headline", "table_facts", "write_manifest", "load_manifest", "verdict_line", "compact_letters",
           "order_by_median", "orient", "table_ranking", "across_tables", "final_samples",
           "COMPARE_JSON", "SUMMARY_JSON", "REPORT_HTML", "SCHEMA", "METRICS", "METRIC_LABEL", "TESTS", "LEVEL"]


def report_paths(out_dir, html_path=None) -> tuple[Path, Path]:
    """(page, numbers): DIR/report.html and DIR/summary.json, or FILE and FILE's stem + .json."""
    if html_path is None:
        return Path(out_dir) / REPORT_HTML, Path(out_dir) / SUMMARY_JSON
    page = Path(html_path)
    return page, page.with_suffix(".json") if page.suffix != ".json" else page.with_suffix(".summary.json")


def build_report(out_dir, *, metric=None, test=None, alpha=None, runs=None, html_path=None) -> dict:
    """Recompute and write the report's page and numbers (see `report_paths`); returns the summary."""
    summary, curves = analyze(out_dir, metric=metric, test=test, alpha=alpha, runs=runs)
    figs = make_figures(summary, curves)  # looked up here, so tests can replace it
    page_path, json_path = report_paths(out_dir, html_path)
    page_path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_json(json_path, summary)
    page = render_html(summary, figs, summary_name=json_path.name)
    tmp = page_path.with_name(f".{page_path.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, page_path)
    return summary
