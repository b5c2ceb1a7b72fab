"""`nasbench-lab proxies TABLE`: compute a table's zero-cost proxies (resumable), or evaluate them."""
from __future__ import annotations

import json

from nasbench_lab import NasbenchError


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise NasbenchError(f"--seeds must be comma-separated integers, got {text!r}") from None


def cmd_proxies(args) -> int:
    from nasbench_lab.parallel import check_workers
    from nasbench_lab.tables.registry import resolve_table

    path = resolve_table(args.table)
    if args.png:  # checked before the evaluation's minutes of bootstrap, as transfer does
        from nasbench_lab.outpaths import prepare_out_file

        args.png = str(prepare_out_file(args.png, "--png", ".png"))
    if args.evaluate or args.png:
        from nasbench_lab.proxies.evaluate import evaluate_table, format_evaluation

        res = evaluate_table(path, top_fraction=args.top_fraction, topk=args.topk, n_boot=args.bootstrap,
                             seed=args.seed)
        if args.png:
            from nasbench_lab.proxies.figures import plot_evaluation

            plot_evaluation(res, args.png)
        print(json.dumps(res) if args.json else format_evaluation(res))
        if args.png and not args.json:
            print(f"figure: {args.png}")
        return 0
    check_workers(args.workers)
    from nasbench_lab.proxies.compute import compute_proxies

    s = compute_proxies(path, seeds=_seeds(args.seeds), batch_size=args.batch_size, workers=args.workers,
                        max_cells=args.max_cells, replace=args.replace)
    if args.json:
        print(json.dumps(s))
    return 0


def register(sub) -> None:
    from nasbench_lab.proxies.compute import DEFAULT_BATCH_SIZE

    s = sub.add_parser("proxies", help="zero-cost proxies of every distinct cell of a live-built table "
                       "(resumable); --evaluate: their rank correlation with accuracy",
                       description="Compute synflow, snip, grasp, fisher, grad_norm, jacob_cov and naswot at "
                                   "initialisation for every distinct cell of TABLE (a table built by the live "
                                   "backend: its protocol names the data and the network), per init seed, with "
                                   "their CPU seconds, and store them in the table. Each finished cell is "
                                   "journalled in TABLE.proxies.parts/; a run killed at any moment resumes when "
                                   "rerun. --evaluate prints each proxy's (and params' and flops') Spearman and "
                                   "Kendall tau with final validation and test accuracy, overall and in the top "
                                   "fraction, with bootstrap intervals, and the top-k overlap.")
    s.add_argument("table", metavar="TABLE", help="table name or path")
    s.add_argument("--seeds", default="0,1,2", help="comma-separated init seeds (default 0,1,2)")
    s.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                   help=f"training signals per minibatch (default {DEFAULT_BATCH_SIZE})")
    s.add_argument("--workers", type=int, default=1, help="parallel processes (joblib)")
    s.add_argument("--max-cells", type=int, default=None, help="stop after this many new cells (then store)")
    s.add_argument("--replace", action="store_true",
                   help="discard proxies computed with another setting (else refused)")
    s.add_argument("--evaluate", action="store_true", help="evaluate the stored proxies instead of computing")
    s.add_argument("--png", default=None, metavar="FILE.png", help="with --evaluate: plot the correlations")
    s.add_argument("--top-fraction", type=float, default=0.1,
                   help="the top share of cells (by accuracy) for the within-top correlations (default 0.1)")
    s.add_argument("--topk", type=int, default=None,
                   help="k of the top-k overlap (default: the cells in --top-fraction)")
    s.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    s.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    s.add_argument("--json", action="store_true", help="print a JSON summary")
    s.set_defaults(func=cmd_proxies)
