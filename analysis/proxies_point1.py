"""Issue 14 section 1 from a table's stored proxies (nothing is computed again): the markdown
correlation table of datasets/README.md, the per-proxy CPU cost, and the figure.

    python analysis/proxies_point1.py datasets/nb201-mnist1d.h5 --png datasets/figures/proxies-nb201-mnist1d.png
"""
from __future__ import annotations

import argparse

from nasbench_lab.proxies.evaluate import evaluate_table
from nasbench_lab.proxies.figures import plot_evaluation


def _c(c: dict, key: str) -> str:
    v = c.get(key)
    if v is None:
        return "n/a"
    lo, hi = c.get(f"{key}_ci", (v, v))
    return f"{v:.3f} [{lo:.2f}, {hi:.2f}]"


def markdown(res: dict) -> str:
    top = f"{100 * res['top_fraction']:g}%"
    out = [f"| proxy | CPU ms per cell and init seed | Spearman, valid | Kendall, valid | Spearman, valid, top {top} "
           f"| Spearman, test | Kendall, test | Spearman, test, top {top} | top-{res['k']} overlap, test |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name, r in res["proxies"].items():
        sec = res["seconds"].get(name)
        v, t = r["valid_acc"], r["test_acc"]
        out.append(f"| {name} | {'static' if sec is None else f'{1e3 * sec:.1f}'} | {_c(v['all'], 'spearman')} | "
                   f"{_c(v['all'], 'kendall')} | {_c(v['top'], 'spearman')} | {_c(t['all'], 'spearman')} | "
                   f"{_c(t['all'], 'kendall')} | {_c(t['top'], 'spearman')} | {t['topk_overlap']:.3f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--png", default=None)
    ap.add_argument("--bootstrap", type=int, default=1000)
    a = ap.parse_args()
    res = evaluate_table(a.table, n_boot=a.bootstrap)
    print(f"{res['cells']} distinct cells with proxies and final accuracies; init seeds {','.join(res['seeds'])}; "
          f"batch {res['batch_size']}; top {res['top_cells']} cells; {res['bootstrap']} bootstrap resamples\n")
    print(markdown(res))
    if a.png:
        plot_evaluation(res, a.png)
        print(f"\nfigure: {a.png}")


if __name__ == "__main__":
    main()
