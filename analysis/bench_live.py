"""Benchmark: the numpy live trainer against the same network, data and protocol in
PyTorch (CPU, eager), side by side in one process, one thread each; and the single-seed
path (`train_architecture`, one training per call) against the seed-batched path
(`train_seeds`, all seeds of a cell in one vectorised pass), CPU seconds per training.

PyTorch is a benchmark-only reference (`pip install torch`), never a dependency of
nasbench_lab. The torch network is built from the same compiled cell program with the
same initial weights, sees the same batches in the same order, and uses the same
optimiser (torch.optim.SGD, Nesterov, weight decay) and per-step cosine schedule.

    python analysis/bench_live.py                 # builtin protocol, 9 archs, seeds 0 1 2
    python analysis/bench_live.py --candidate --no-quality   # also the candidate protocol
    python analysis/bench_live.py --seeds 0 1 --protocol small-mnist1d

Writes its report to analysis/bench_live.txt as well as stdout.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench_lab.live.data import load_data  # noqa: E402
from nasbench_lab.live.network import Cell, ResBlock, ReLUConvBN  # noqa: E402
from nasbench_lab.live.protocol import PROTOCOLS  # noqa: E402
from nasbench_lab.live.trainer import (build_network, cosine_lr,  # noqa: E402
                                       train_architecture, train_seeds)
from nasbench_lab.spaces import NB201  # noqa: E402

ARCHS = [  # fixed: from cheap to expensive, good to bad
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",  # noqa: E501
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",  # noqa: E501
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",  # noqa: E501
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",  # noqa: E501
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",  # noqa: E501
    "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
    "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
]


# ----------------------------------------------------------------------- torch reference
def torch_network(arch, protocol, seed):
    """The numpy network's exact twin in torch (same program, same initial weights)."""
    import torch
    from torch import nn

    npnet = build_network(NB201.from_string(arch) if isinstance(arch, str) else arch,
                          protocol, seed)
    ndim = npnet.ndim
    ConvT = nn.Conv1d if ndim == 1 else nn.Conv2d
    BNT = nn.BatchNorm1d if ndim == 1 else nn.BatchNorm2d

    def conv(w, stride=1):  # numpy (taps, cin, cout) -> torch (cout, cin, k[, k])
        taps, cin, cout = w.shape
        k = 3 if taps in (3, 9) else 1
        m = ConvT(cin, cout, k, stride=stride, padding=k // 2, bias=False)
        wt = np.transpose(w, (2, 1, 0)).reshape((cout, cin) + (k,) * ndim)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(wt)))
        return m

    def rcb(mod: ReLUConvBN, stride=1):
        return nn.Sequential(conv(mod.conv.params["w"], stride), BNT(mod.conv.cout))

    class TCell(nn.Module):
        def __init__(self, cell: Cell):
            super().__init__()
            self.prog = cell.prog
            self.ops = nn.ModuleDict()
            for ins in cell.prog:
                if ins[0] == "rcb":
                    self.ops[str(ins[1])] = rcb(cell.ops[ins[1]])
                elif ins[0] == "pool":
                    self.ops[str(ins[1])] = (nn.AvgPool1d if ndim == 1 else nn.AvgPool2d)(
                        3, stride=1, padding=1, count_include_pad=False)

        def forward(self, x):
            vals = {0: x}
            for ins in self.prog:
                kind, v = ins[0], ins[1]
                if kind == "relu":
                    vals[v] = torch.relu(vals[ins[2]])
                elif kind in ("rcb", "pool"):
                    vals[v] = self.ops[str(v)](vals[ins[2]])
                elif kind == "sum":
                    acc = None
                    for c, a in ins[2]:
                        t = vals[a] if c == 1 else c * vals[a]
                        acc = t if acc is None else acc + t
                    vals[v] = acc
                else:
                    vals[v] = torch.zeros_like(x)
            return vals[self.prog[-1][1]] if self.prog else x

    class TRes(nn.Module):
        def __init__(self, blk: ResBlock):
            super().__init__()
            self.a = rcb(blk.a, stride=2)
            self.b = rcb(blk.b)
            self.pool = (nn.AvgPool1d if ndim == 1 else nn.AvgPool2d)(2, 2)
            self.short = conv(blk.short.params["w"])

        def forward(self, x):
            h = self.b(torch.relu(self.a(torch.relu(x))))
            return h + self.short(self.pool(x))

    class TNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(conv(npnet.stem.params["w"]), BNT(npnet.C))
            self.blocks = nn.Sequential(*[TCell(b) if isinstance(b, Cell) else TRes(b)
                                          for b in npnet.blocks])
            c = npnet.last_bn.params["gamma"].shape[0]
            self.last = nn.Sequential(BNT(c), nn.ReLU())
            self.fc = nn.Linear(c, npnet.fc.params["w"].shape[1])
            with torch.no_grad():
                self.fc.weight.copy_(torch.from_numpy(npnet.fc.params["w"].T.copy()))
                self.fc.bias.copy_(torch.from_numpy(npnet.fc.params["b"].copy()))

        def forward(self, x):
            h = self.last(self.blocks(self.stem(x)))
            return self.fc(h.mean(dim=tuple(range(2, 2 + ndim))))

    return TNet()


def to_torch_layout(x):
    """(L, N, C) -> (N, C, L); (H, W, N, C) -> (N, C, H, W)."""
    return np.ascontiguousarray(np.moveaxis(np.moveaxis(x, -2, 0), -1, 1))


def torch_train(arch, protocol, seed):
    """Same protocol as train_architecture, in torch; returns (curves dict, train seconds)."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    data = load_data(protocol)
    net = torch_network(arch, protocol, seed)
    opt = torch.optim.SGD(net.parameters(), lr=protocol.lr, momentum=protocol.momentum,
                          nesterov=True, weight_decay=protocol.weight_decay)
    lossf = torch.nn.CrossEntropyLoss()
    xtr = torch.from_numpy(to_torch_layout(data.train.x))
    ytr = torch.from_numpy(data.train.y)
    evals = [(torch.from_numpy(to_torch_layout(s.x)), torch.from_numpy(s.y))
             for s in (data.valid, data.test)]
    rng = np.random.default_rng([seed, 0x5EED])  # same batch order as the numpy trainer
    bs, E = protocol.batch_size, protocol.epochs
    spe = len(data.train) // bs
    total, step = E * spe, 0
    curves = {k: [] for k in ("train_loss", "valid_acc", "test_acc", "train_time", "eval_time")}
    for _ in range(E):
        t0 = time.perf_counter()
        net.train()
        perm = torch.from_numpy(rng.permutation(len(ytr)))
        ls = 0.0
        for b in range(spe):
            idx = perm[b * bs:(b + 1) * bs]
            for g in opt.param_groups:
                g["lr"] = cosine_lr(protocol.lr, step, total)
            opt.zero_grad(set_to_none=True)
            loss = lossf(net(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            step += 1
            ls += float(loss.detach())
        t1 = time.perf_counter()
        net.eval()
        with torch.no_grad():
            accs = []
            for x, y in evals:
                correct = 0
                for i in range(0, len(y), protocol.eval_batch_size):
                    out = net(x[i:i + protocol.eval_batch_size])
                    correct += int((out.argmax(1) == y[i:i + protocol.eval_batch_size]).sum())
                accs.append(100.0 * correct / len(y))
        curves["train_loss"].append(ls / spe)
        curves["valid_acc"].append(accs[0])
        curves["test_acc"].append(accs[1])
        curves["train_time"].append(t1 - t0)
        curves["eval_time"].append(time.perf_counter() - t1)
    return curves


# ----------------------------------------------------------------------- quality
ALL_C3 = ARCHS[0]
#: The lead's candidate protocol for the new table (issue 12): noisier MNIST-1D, 8 epochs,
#: 3,000 valid / 3,000 test signals.
CANDIDATE = dict(corr_noise_scale=0.35, iid_noise_scale=0.04, epochs=8, n_valid=3000, n_test=3000)


def quality(args, say) -> None:
    """All-conv3x3 accuracy over seeds; spread of random canonical keys vs seed noise."""
    from scipy.stats import spearmanr
    from threadpoolctl import threadpool_limits

    protocol = PROTOCOLS[args.protocol]
    seeds = args.seeds if len(args.seeds) > 1 else [0, 1, 2]
    load_data(protocol)
    say(f"quality of protocol {protocol.name} (numpy only)")
    cpu = []
    with threadpool_limits(limits=1):
        c3 = []
        for s in range(5):
            c = time.process_time()
            c3.append(train_architecture(ALL_C3, protocol, s).test_acc[-1])
            cpu.append(time.process_time() - c)
        say(f"all-conv3x3 final test acc over seeds 0-4: {np.round(c3, 1).tolist()} "
            f"mean {np.mean(c3):.2f} std {np.std(c3, ddof=1):.2f}")
        keys = {}
        for ch in np.ndindex(*(5,) * 6):
            a = NB201.make(ch)
            keys.setdefault(NB201.canonical_key(a), a)
        names = sorted(keys)
        pick = np.random.default_rng(2024).choice(len(names), args.sample, replace=False)
        acc = np.zeros((args.sample, len(seeds)))
        for i, j in enumerate(pick):
            for k, s in enumerate(seeds):
                c = time.process_time()
                acc[i, k] = train_architecture(keys[names[j]], protocol, s).test_acc[-1]
                cpu.append(time.process_time() - c)
            say(f"  {names[j][:60]:60s} {np.round(acc[i], 1).tolist()}")
    means = acc.mean(1)
    within = np.sqrt(np.mean(acc.var(1, ddof=1)))
    between = means.std(ddof=1)
    icc = between ** 2 / (between ** 2 + within ** 2)
    rho = spearmanr(acc[:, 0], acc[:, 1]).correlation
    say(f"{args.sample} random canonical keys x {len(seeds)} seeds: seed noise (pooled std "
        f"within an arch) {within:.2f} points; spread (std of arch means) {between:.2f} points; "
        f"ratio {between / within:.1f}; ICC {icc:.3f}; Spearman seed {seeds[0]} vs "
        f"{seeds[1]} {rho:.3f}")
    say(f"  arch means: min {means.min():.1f}, median {np.median(means):.1f}, max "
        f"{means.max():.1f}; non-disconnected min "
        f"{means[means > 15].min() if (means > 15).any() else float('nan'):.1f}")
    say(f"CPU seconds per training: mean {np.mean(cpu):.2f}, median {np.median(cpu):.2f}, "
        f"max {np.max(cpu):.2f} over {len(cpu)} trainings")


# ----------------------------------------------------------------------- benchmark
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="builtin-mnist1d", choices=sorted(PROTOCOLS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                    help="seeds per arch: one training each on the single-seed path, one "
                         "pass on the seed-batched path; torch trains the first")
    ap.add_argument("--candidate", action="store_true",
                    help="also run the speed comparison at the candidate protocol of the new "
                         "table (" + ", ".join(f"{k}={v}" for k, v in CANDIDATE.items()) + ")")
    ap.add_argument("--archs", type=int, default=len(ARCHS), help="first K fixed archs")
    ap.add_argument("--repeats", type=int, default=1,
                    help="interleaved repetitions per training; the fastest of each is kept")
    ap.add_argument("--quality-only", action="store_true", help="skip the speed comparison")
    ap.add_argument("--profile", action="store_true",
                    help="also print where the time of a training goes, per layer kind, on "
                         "both paths (two archs)")
    ap.add_argument("--no-quality", action="store_true", help="skip the quality study")
    ap.add_argument("--sample", type=int, default=30, help="quality: random canonical keys")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".txt")))
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="override protocol fields (exploration), e.g. epochs=5 lr=0.1")
    args = ap.parse_args(argv)
    protocol = PROTOCOLS[args.protocol]
    if args.set:
        from nasbench_lab.live.protocol import GENERATION_FIELDS

        types = {k: type(v) for k, v in protocol.to_dict().items()}
        types.update({k: float for k in GENERATION_FIELDS})
        ch = dict(kv.split("=", 1) for kv in args.set)
        protocol = protocol.replace(name=protocol.name + "+" + ",".join(args.set),
                                    **{k: types[k](v) for k, v in ch.items()})
        PROTOCOLS[protocol.name] = protocol
        args.protocol = protocol.name
    lines: list[str] = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    load_data(protocol)  # generate / load the data outside the timings
    say(f"protocol: {protocol.to_dict()}")
    if not args.quality_only:
        speed(args, protocol, say)
        if args.profile:
            say("")
            profile(args, protocol, say)
        if args.candidate:
            cand = protocol.replace(name=protocol.name + "+candidate", **CANDIDATE)
            load_data(cand)
            say("")
            say(f"protocol: {cand.to_dict()}")
            speed(args, cand, say)
            if args.profile:
                say("")
                profile(args, cand, say)
    if not args.no_quality:
        say("")
        quality(args, say)
    Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


def speed(args, protocol, say) -> None:
    """Per arch: CPU seconds per training of the single-seed path (mean over the seeds), of
    the seed-batched path (one pass over all seeds, divided by their number) and of torch
    (first seed), interleaved per arch; the seed-batched results must equal the single-seed
    ones bit for bit (column `same`)."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    torch.set_num_threads(1)
    seeds = list(args.seeds)
    S = len(seeds)
    say(f"bench_live: numpy live trainer (single-seed path, seed-batched path over {S} seeds) "
        f"vs PyTorch {torch.__version__} CPU, 1 thread each")
    say(f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)")
    say("CPU seconds (process time) per training, train epochs + valid/test passes + latency "
        "measurement; single: mean of one call per seed; batched: one train_seeds pass / "
        f"{S}; torch: seed {seeds[0]}. Ratios: single/batched, torch/batched, torch/single.")
    say("")
    say(f"{'arch (canonical key)':44s} {'single':>7s} {'batched':>7s} {'torch':>7s} "
        f"{'s/b':>6s} {'t/b':>6s} {'t/s':>6s} {'same':>5s} {'np_test':>7s} {'t_test':>7s}")
    rows = []
    fields = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")
    with threadpool_limits(limits=1):
        for arch in ARCHS[:args.archs]:
            key = NB201.canonical_key(NB201.from_string(arch))
            best = None
            for _ in range(args.repeats):  # interleaved; keep each side's fastest
                c = time.process_time()
                singles = [train_architecture(arch, protocol, s) for s in seeds]
                t_single = (time.process_time() - c) / S
                c = time.process_time()
                batched = train_seeds(arch, protocol, seeds)
                t_batch = (time.process_time() - c) / S
                c = time.process_time()
                tc = torch_train(arch, protocol, seeds[0])
                t_torch = time.process_time() - c
                cur = [t_single, t_batch, t_torch]
                best = cur if best is None else [min(a, b) for a, b in zip(best, cur)]
            same = all(np.array_equal(getattr(a, f), getattr(b, f))
                       for a, b in zip(singles, batched) for f in fields)
            t_single, t_batch, t_torch = best
            rows.append((t_single, t_batch, t_torch, same, singles[0].test_acc[-1],
                         tc["test_acc"][-1]))
            say(f"{key[:44]:44s} {t_single:7.2f} {t_batch:7.2f} {t_torch:7.2f} "
                f"{t_single / t_batch:6.2f} {t_torch / t_batch:6.2f} {t_torch / t_single:6.2f} "
                f"{str(same):>5s} {singles[0].test_acc[-1]:7.1f} {tc['test_acc'][-1]:7.1f}")
    a = np.array([r[:3] for r in rows])
    sb, tb, ts = a[:, 0] / a[:, 1], a[:, 2] / a[:, 1], a[:, 2] / a[:, 0]
    say("")
    say(f"CPU seconds per training, mean over {len(rows)} archs: single {a[:, 0].mean():.2f}, "
        f"batched {a[:, 1].mean():.2f}, torch {a[:, 2].mean():.2f}")
    say(f"speed-up single/batched: median {np.median(sb):.2f}x (min {sb.min():.2f}x, max "
        f"{sb.max():.2f}x; total time {a[:, 0].sum() / a[:, 1].sum():.2f}x)")
    say(f"speed-up torch/batched: median {np.median(tb):.2f}x (min {tb.min():.2f}x); "
        f"torch/single: median {np.median(ts):.2f}x (min {ts.min():.2f}x)")
    say(f"seed-batched results bit for bit equal to the single-seed ones: "
        f"{sum(r[3] for r in rows)}/{len(rows)} archs x {S} seeds")
    d = np.array([r[4] - r[5] for r in rows])
    say(f"final test accuracy, numpy minus torch (seed {seeds[0]}): mean {d.mean():+.2f}, "
        f"mean |diff| {np.abs(d).mean():.2f}, max |diff| {np.abs(d).max():.2f} points")
    say(f"blas: {[(i.get('internal_api'), i.get('num_threads')) for i in threadpool_info()]}")


BLAS_KEY = "np.matmul (BLAS)"  # profile: time inside np.matmul, nested in the layers' times


def profile(args, protocol, say) -> None:
    """Where the CPU time of one training goes, per layer kind (forward and backward,
    train and eval passes together), on the single-seed and on the seed-batched path."""
    from collections import Counter

    from threadpoolctl import threadpool_limits

    from nasbench_lab.live import layers as ly
    from nasbench_lab.live import seedbatch as sb

    classes = [ly.Conv, ly.BatchNorm, ly.ReLU, ly.AvgPool3, ly.AvgPool2, ly.GlobalAvgPool,
               ly.Linear, sb.SeedConv, sb.SeedBatchNorm, sb.SeedAvgPool3, sb.SeedAvgPool2,
               sb.SeedGlobalAvgPool, sb.SeedLinear]
    spent: Counter = Counter()
    saved = []

    def wrap(cls, name):
        f = cls.__dict__[name]
        kind = cls.__name__.removeprefix("Seed") + (".fwd" if name == "forward" else ".bwd")

        def timed(self, *a, **k):
            c = time.process_time()
            try:
                return f(self, *a, **k)
            finally:
                spent[kind] += time.process_time() - c
        saved.append((cls, name, f))
        setattr(cls, name, timed)

    for cls in classes:
        for name in ("forward", "backward"):
            if name in cls.__dict__:
                wrap(cls, name)
    # BLAS share: every np.matmul call of the layers (the convolutions, the classifier and
    # the seed-batched BatchNorm statistics; `@` products are not counted). What is left
    # is numpy's elementwise passes and Python: the part only fusion could remove.
    matmul = np.matmul

    def timed_matmul(*a, **k):
        c = time.process_time()
        try:
            return matmul(*a, **k)
        finally:
            spent[BLAS_KEY] += time.process_time() - c
    np.matmul = timed_matmul
    seeds = list(args.seeds)
    S = len(seeds)
    try:
        with threadpool_limits(limits=1):
            for arch in ARCHS[:2]:
                say(f"profile {NB201.canonical_key(NB201.from_string(arch))[:60]} "
                    f"({protocol.name}), CPU seconds per training")
                cols = {}
                for path in ("single", "batched"):
                    spent.clear()
                    c = time.process_time()
                    rs = ([train_architecture(arch, protocol, s) for s in seeds]
                          if path == "single" else train_seeds(arch, protocol, seeds))
                    total = (time.process_time() - c) / S
                    ev = np.mean([r.valid_time.sum() + r.test_time.sum() for r in rs])
                    cols[path] = (total, ev, {k: v / S for k, v in spent.items()})
                kinds = sorted((set(cols["single"][2]) | set(cols["batched"][2])) - {BLAS_KEY},
                               key=lambda k: -cols["single"][2].get(k, 0))
                say(f"  {'':18s} {'single':>7s} {'batched':>7s}")
                say(f"  {'total':18s} {cols['single'][0]:7.3f} {cols['batched'][0]:7.3f}")
                say(f"  {'eval passes (wall)':18s} {cols['single'][1]:7.3f} {cols['batched'][1]:7.3f}")
                for k in kinds:
                    say(f"  {k:18s} {cols['single'][2].get(k, 0):7.3f} "
                        f"{cols['batched'][2].get(k, 0):7.3f}")
                rest = [cols[p][0] - sum(v for k, v in cols[p][2].items() if k != BLAS_KEY)
                        for p in ("single", "batched")]
                say(f"  {'outside layers':18s} {rest[0]:7.3f} {rest[1]:7.3f}")
                mm = [cols[p][2].get(BLAS_KEY, 0.0) for p in ("single", "batched")]
                say(f"  {'of all: np.matmul':18s} {mm[0]:7.3f} {mm[1]:7.3f}  (share "
                    f"{mm[0] / cols['single'][0]:.0%} / {mm[1] / cols['batched'][0]:.0%}: "
                    "BLAS; the rest is elementwise numpy and Python)")
    finally:
        np.matmul = matmul
        for cls, name, f in saved:
            setattr(cls, name, f)


if __name__ == "__main__":
    raise SystemExit(main())
