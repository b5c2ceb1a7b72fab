"""`nasbench-lab train ARCH_STRING`: train one NB201 cell for real and print its curve.

Wire into the main CLI with `add_train_parser(subparsers)`; the parser's `func` default is
`run_train`. Errors raise `nasbench_lab.NasbenchError` with a one-line message.
"""
from __future__ import annotations

import argparse
import json
import sys

from nasbench_lab import NasbenchError
from nasbench_lab.live.protocol import BUILTIN_PROTOCOL, DIGITS_PROTOCOL, PROTOCOLS

_DEFAULT_FOR = {"mnist1d": BUILTIN_PROTOCOL, "digits": DIGITS_PROTOCOL}


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train one NB201 architecture with the numpy backend",
        description="Train one NB201 cell for real (numpy backend) and print the per-epoch "
                    "curve: train/valid/test loss and accuracy and wall times.")
    p.add_argument("arch", metavar="ARCH_STRING",
                   help="NB201 string, e.g. '|nor_conv_3x3~0|+|none~0|skip_connect~1|"
                        "+|none~0|none~1|nor_conv_3x3~2|'")
    p.add_argument("--dataset", choices=sorted(_DEFAULT_FOR), default="mnist1d",
                   help="data to train on (default mnist1d)")
    p.add_argument("--protocol", choices=sorted(PROTOCOLS), default=None,
                   help="named protocol (default: the dataset's; builtin-mnist1d for mnist1d)")
    p.add_argument("--epochs", type=int, default=None, help="override the protocol's epochs")
    p.add_argument("--seed", type=int, default=0, help="training seed (weights, batch order)")
    p.add_argument("--channels", type=int, default=None, help="override C")
    p.add_argument("--cells", type=int, default=None, help="override N (cells per stage)")
    p.add_argument("--batch-size", type=int, default=None, help="override the protocol's batch size")
    p.add_argument("--lr", type=float, default=None, help="override the protocol's peak learning rate")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=run_train)
    return p


def _protocol(args):
    if args.protocol is not None:
        prot = PROTOCOLS[args.protocol]
        if prot.dataset != args.dataset and args.dataset != "mnist1d":
            raise NasbenchError(f"protocol {args.protocol!r} is for {prot.dataset}, "
                                f"not {args.dataset}")
    else:
        prot = _DEFAULT_FOR[args.dataset]
    changes = {k: v for k, v in (("epochs", args.epochs), ("channels", args.channels),
                                 ("cells_per_stage", args.cells),
                                 ("batch_size", args.batch_size), ("lr", args.lr))
               if v is not None}
    for k, v in changes.items():
        if k != "lr" and v <= 0:
            raise NasbenchError(f"--{k.replace('_per_stage', '').replace('_', '-')} must be "
                                f"positive, got {v}")
        if k == "lr" and not v > 0:
            raise NasbenchError(f"--lr must be positive, got {v}")
    return prot.replace(name=prot.name if not changes else prot.name + "+custom", **changes) \
        if changes else prot


def run_train(args) -> int:
    from nasbench_lab.live.trainer import train_architecture
    from nasbench_lab.spaces import NB201

    arch = NB201.from_string(args.arch)  # SpaceError (a NasbenchError) on a bad string
    if not 0 <= args.seed < 2**32:
        raise NasbenchError(f"--seed must be an integer in 0..{2**32 - 1}, got {args.seed}")
    prot = _protocol(args)
    out = sys.stdout
    cols = ("epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss",
            "test_acc", "train_s", "eval_s")
    bar = None
    if not args.json and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=prot.epochs, desc="training", unit="epoch", leave=False,
                   file=sys.stderr)
    if not args.json:
        print(f"arch {NB201.to_string(arch)}  key {NB201.canonical_key(arch)}", file=out)
        print(f"protocol {prot.name}: {prot.dataset}, C={prot.channels}, "
              f"N={prot.cells_per_stage}, {prot.epochs} epochs, batch {prot.batch_size}, "
              f"lr {prot.lr}, seed {args.seed}", file=out)
        print("  ".join(f"{c:>10s}" for c in cols), file=out, flush=True)

    def progress(e, row):
        if bar is not None:
            bar.update(1)
        if not args.json:
            vals = [e + 1, row["train_loss"], row["train_acc"], row["valid_loss"],
                    row["valid_acc"], row["test_loss"], row["test_acc"], row["train_time"],
                    row["valid_time"] + row["test_time"]]
            line = f"{vals[0]:>10d}  " + "  ".join(f"{v:>10.4f}" for v in vals[1:])
            if bar is not None:
                bar.write(line, file=out)
            else:
                print(line, file=out, flush=True)

    try:
        res = train_architecture(arch, prot, args.seed, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        json.dump(res.to_dict(), out)
        out.write("\n")
    else:
        print(f"params {res.params}  flops(MAC) {res.flops}  latency {res.latency_ms:.3f} ms  "
              f"final test acc {res.test_acc[-1]:.2f}%", file=out)
    return 0


def main(argv=None) -> int:
    """Standalone entry point: `python -m nasbench_lab.live.cli train ...`."""
    ap = argparse.ArgumentParser(prog="nasbench-lab")
    sub = ap.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except NasbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())


#: The main CLI (`nasbench_lab.cli`) registers subcommands through `register(subparsers)`.
register = add_train_parser
