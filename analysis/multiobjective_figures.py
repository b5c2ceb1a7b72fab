"""The README's multi-objective figures (hypervolume gap over time, final fronts) from a stored compare.

Usage: python analysis/multiobjective_figures.py DIR OUT_PREFIX
  DIR         the --out of `nasbench-lab compare --objectives valid_acc,COST ...` (nothing is rerun)
  OUT_PREFIX  e.g. datasets/figures/multiobjective-nb201-mnist1d: writes OUT_PREFIX-hv.png and
              OUT_PREFIX-front.png (for the first table of the compare)
"""
from __future__ import annotations

import sys

from nasbench_lab import plots
from nasbench_lab.report.analysis import analyze
from nasbench_lab.report.front_figures import front_figure, hypervolume_figure


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, prefix = argv
    summary, curves = analyze(out_dir)
    tname, tab = next(iter(summary["tables"].items()))
    if not tab.get("hypervolume"):
        print(f"{out_dir} was not made with --objectives: no hypervolume to draw", file=sys.stderr)
        return 2
    c = curves[tname]
    n_runs = min(f["runs"] for f in tab["final"].values())
    plots.save_figure(hypervolume_figure(tname, tab["hypervolume"], c["hv"], c["grid"], c["x"], n_runs),
                      f"{prefix}-hv.png")
    plots.save_figure(front_figure(tname, tab["hypervolume"], c["hv"]["all_points"]), f"{prefix}-front.png")
    print(f"wrote {prefix}-hv.png and {prefix}-front.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
