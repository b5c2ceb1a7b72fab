"""Convolutions whose input node is always zero: NAS-Bench-201's cell against ours (issue 12.6).

Our canonical cell (`nasbench_lab.spaces.nb201.canonical_program`, compiled by
`nasbench_lab.live.network`) drops every op applied to a constant-zero node. In
NAS-Bench-201's trained networks (`TinyNetwork` -> `InferCell(genotype, C, C, 1)` with the
defaults affine=True, track_running_stats=True) such an edge is still computed: `Zero`
gives x * 0, and ReLU-Conv-BN of an all-zero input is BN(0): in train mode the batch mean
and variance are 0, so the output is BN's learned shift beta; the running mean stays
exactly 0, so eval mode gives beta too. The edge therefore adds a trainable per-channel
constant ('b' below) to its destination node, and that node, zero for us, may feed further
convolutions (conv of a constant is not constant at the zero-padded borders).

Part 1 (keys, no training): the canonical form extended with 'b' instances that propagate
(skip passes them on; an average pool with count_include_pad=False is linear and keeps a
per-channel constant, so ap(s + b) = ap(s) + b; a convolution of a node holding a constant
is an ordinary instance of that sum: relu(s + b) is not relu(s) + b),
canonicalised exactly like `canonical_program` (checked: with 'b' off it reproduces every
one of today's keys). Part 2: a few affected cells x seeds trained twice in PyTorch (CPU,
one thread) with the same weights, batches and optimiser: our pruned network
(analysis/bench_live.py's twin of the numpy network) and the same network whose cells
are NAS-Bench-201's InferCell computed literally (every edge, 'none' as x * 0).

    python analysis/zero_input_convs.py               # both parts (~2-3 CPU minutes)
    python analysis/zero_input_convs.py --keys-only   # part 1 only (seconds)

PyTorch is an optional reference for part 2 only, never a dependency of nasbench_lab.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from itertools import permutations, product
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench_lab.spaces import NB201  # noqa: E402
from nasbench_lab.spaces.nb201 import (CONV1, CONV3, DISCONNECTED, EDGES, N_NODES,  # noqa: E402
                                       NONE, POOL, SKIP, canonical_program)

_SHORT = {CONV1: "c1", CONV3: "c3", POOL: "ap"}


# ----------------------------------------------------------------------- part 1: keys
def raw_program(choices, bias: bool = True):
    """The cell's op-instance DAG; with `bias`, NAS-Bench-201's semantics for convolutions
    of a zero node (a 'b' instance: a trainable constant with no input).

    Returns (instances {id: (op, input ids)}, sorted output ids), live instances only.
    """
    nodes: list[list[str]] = [["x"]]
    inst: dict[str, tuple[str, tuple[str, ...]]] = {}
    for j in range(1, N_NODES):
        atoms: list[str] = []
        for e, (to, src) in enumerate(EDGES):
            op = choices[e]
            if to != j or op == NONE:
                continue
            a = nodes[src]
            if op == SKIP:
                atoms.extend(a)
            elif not a:  # the input is constant zero
                if bias and op != POOL:
                    inst[f"b{e}"] = ("b", ())
                    atoms.append(f"b{e}")
            else:
                if op == POOL and bias:  # avg pool (count_include_pad=False) is linear and
                    consts = [c for c in a if inst.get(c, ("",))[0] == "b"]  # keeps constants:
                    atoms.extend(consts)  # ap(s + b) = ap(s) + b
                    a = [c for c in a if c not in consts]
                    if not a:
                        continue
                inputs = tuple(sorted(a))
                iid = f"ap{inputs}" if op == POOL else f"e{e}"
                inst[iid] = (_SHORT[op], inputs)
                atoms.append(iid)
        nodes.append(atoms)
    out = tuple(sorted(nodes[-1]))
    live, stack = set(), list(out)
    while stack:
        a = stack.pop()
        if a != "x" and a not in live:
            live.add(a)
            stack.extend(inst[a][1])
    return {k: v for k, v in inst.items() if k in live}, out


def canonical_text(inst, out) -> str:
    """Lexicographically smallest serialisation over orderings of structurally identical
    instances (the rule of `canonical_program`), 'zero' for an empty output."""
    if not out:
        return DISCONNECTED
    tree: dict[str, str] = {"x": "x"}

    def t(a: str) -> str:
        if a not in tree:
            op, inputs = inst[a]
            tree[a] = f"{op}({'+'.join(sorted(t(c) for c in inputs))})"
        return tree[a]

    groups: dict[str, list[str]] = {}
    for a in sorted(inst, key=t):
        groups.setdefault(t(a), []).append(a)
    best = None
    for choice in product(*(permutations(g) for g in groups.values())):
        order = [a for g in choice for a in g]
        label = {"x": "x", **{a: f"n{i}" for i, a in enumerate(order)}}
        text = ";".join(f"{label[a]}={inst[a][0]}({'+'.join(sorted(label[c] for c in inst[a][1]))})"
                        for a in order) + ";out=" + "+".join(sorted(label[a] for a in out))
        best = text if best is None or text < best else best
    return best


def depends_on_x(inst, out) -> bool:
    seen, stack = set(), list(out)
    while stack:
        a = stack.pop()
        if a == "x":
            return True
        if a not in seen:
            seen.add(a)
            stack.extend(inst[a][1])
    return False


def zero_input_conv_edges(choices) -> list[int]:
    """Conv edges whose source node is constant zero in our semantics (live or not)."""
    nonzero = [True, False, False, False]
    for j in range(1, N_NODES):
        nonzero[j] = any(nonzero[s] and choices[e] != NONE for e, (t, s) in enumerate(EDGES) if t == j)
    return [e for e, (t, s) in enumerate(EDGES) if choices[e] in (CONV1, CONV3) and not nonzero[s]]


def key_study(say) -> dict:
    cells = [tuple(int(c) for c in ch) for ch in np.ndindex(*(5,) * 6)]
    ours, faithful, rows = {}, {}, []
    mismatch = 0
    for ch in cells:
        inst0, out0 = raw_program(ch, bias=False)
        k0 = canonical_text(inst0, out0)
        mismatch += k0 != canonical_program(ch)[0]
        inst, out = raw_program(ch)
        k1 = canonical_text(inst, out)
        n_b = sum(1 for v in inst.values() if v[0] == "b")
        at_out = any(a.startswith("b") for a in out)
        rows.append(dict(choices=ch, ours=k0, faithful=k1, n_bias=n_b, at_out=at_out, inst=inst,
                         x_dep=depends_on_x(inst, out), any_zero_conv=bool(zero_input_conv_edges(ch))))
        ours[k0] = ours.get(k0, 0) + 1
        faithful[k1] = faithful.get(k1, 0) + 1
    n = len(cells)
    if mismatch:
        raise SystemExit(f"canonicaliser disagrees with canonical_program on {mismatch} cells")
    any_zc = sum(r["any_zero_conv"] for r in rows)
    live_b = [r for r in rows if r["n_bias"]]
    live_b_x = [r for r in live_b if r["x_dep"]]
    splits = defaultdict(set)
    for r in rows:
        splits[r["ours"]].add(r["faithful"])
    n_split = sum(len(v) > 1 for v in splits.values())
    x_keys = {r["faithful"] for r in rows if r["x_dep"]}
    const_keys = {r["faithful"] for r in rows if not r["x_dep"]}
    say("part 1: canonical keys over the 15,625 NB201 cells "
        "(check: with 'b' off, all 15,625 keys equal canonical_program's)")
    say(f"  cells with a conv edge whose input node is always zero (live or dead): {any_zc:,}")
    say(f"  cells where such an edge's constant reaches the output (a live 'b'):   {len(live_b):,}"
        f" ({100 * len(live_b) / n:.1f} %)")
    feeds = sum(any(v[0] != "b" and any(c.startswith("b") for c in v[1]) for v in r["inst"].values())
                for r in live_b_x)
    say(f"    of which the output also depends on the input: {len(live_b_x):,} "
        f"(a constant added at the output: {sum(r['at_out'] for r in live_b_x):,}; "
        f"a constant that feeds a convolution: {feeds:,})")
    say(f"    of which the output is input-independent (today 'zero'): {len(live_b) - len(live_b_x):,}")
    say(f"  distinct keys today (constants dropped): {len(ours):,}")
    say(f"  distinct keys with the constants kept (exact: isomorphism classes of the extended "
        f"op-instance graph): {len(faithful):,}")
    say(f"    input-dependent: {len(x_keys):,}; input-independent: {len(const_keys):,} "
        f"(all predict at chance; counted as one class, as today's 'zero': "
        f"{len(x_keys) + 1:,} keys)")
    x_split = {k: v for k, v in splits.items() if len(v) > 1 and k != DISCONNECTED}
    say(f"  today's keys that split: {len(x_split):,} of the {len(ours) - 1:,} input-dependent "
        f"ones (into {sum(len(v) for v in x_split.values()):,} keys, max "
        f"{max(len(v) for v in x_split.values())}), and 'zero' (into "
        f"{len(splits[DISCONNECTED])}); the other {len(ours) - 1 - len(x_split):,} are unchanged")
    return dict(rows=rows, n_ours=len(ours), n_faithful=len(faithful), n_x=len(x_keys))


# ----------------------------------------------------------------------- part 2: training
def pick_cells(rows, k: int, seed: int = 12):
    """k affected input-dependent cells with distinct keys, half with a constant added at
    the output, half whose constant only feeds a later convolution; drawn with a fixed
    generator."""
    rng = np.random.default_rng(seed)
    picked = []
    for at_out in (True, False):
        pool, seen = [], set()
        for r in rows:
            if r["n_bias"] and r["x_dep"] and r["at_out"] == at_out and r["ours"] != DISCONNECTED \
                    and r["ours"] not in seen:
                seen.add(r["ours"])
                pool.append(r)
        n = k // 2 if at_out else k - k // 2
        picked += [pool[i] for i in sorted(rng.choice(len(pool), n, replace=False))]
    return picked


def faithful_network(arch, protocol, seed):
    """bench_live's torch twin of our network, with every cell replaced by NAS-Bench-201's
    InferCell computed literally; weights shared with the pruned twin edge by edge."""
    import torch
    from torch import nn

    from bench_live import torch_network
    from nasbench_lab.live.network import Cell, Init, ResBlock
    from nasbench_lab.live.trainer import build_network

    npnet = build_network(arch, protocol, seed)
    net = torch_network(arch, protocol, seed)
    ndim = npnet.ndim
    ConvT = nn.Conv1d if ndim == 1 else nn.Conv2d
    BNT = nn.BatchNorm1d if ndim == 1 else nn.BatchNorm2d
    PoolT = nn.AvgPool1d if ndim == 1 else nn.AvgPool2d
    init = Init(seed, np.float32)
    choices = arch.choices
    _, _, _, edge_labels = canonical_program(choices)

    def conv(w):
        taps, cin, cout = w.shape
        k = 3 if taps in (3, 9) else 1
        m = ConvT(cin, cout, k, padding=k // 2, bias=False)
        wt = np.transpose(w, (2, 1, 0)).reshape((cout, cin) + (k,) * ndim)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(wt)))
        return m

    class InferCell(nn.Module):
        def __init__(self, cell: Cell, C: int, pos: int):
            super().__init__()
            w_of = {ins[4]: cell.ops[ins[1]].conv.params["w"] for ins in cell.prog if ins[0] == "rcb"}
            self.layers = nn.ModuleList()
            self.bias_bns = []
            for e in range(len(EDGES)):
                op = choices[e]
                if op in (CONV1, CONV3):
                    k = 1 if op == CONV1 else 3
                    label = edge_labels.get(e)
                    w = w_of[label] if label in w_of else init.conv(f"faithful/{pos}/e{e}", C, C, k, ndim)
                    m = nn.Sequential(nn.ReLU(), conv(w), BNT(C))
                    if e in zero_input_conv_edges(choices):
                        self.bias_bns.append(m[2])
                elif op == POOL:
                    m = PoolT(3, stride=1, padding=1, count_include_pad=False)
                else:
                    m = nn.Identity()
                self.layers.append(m)

        def forward(self, x):
            nodes = [x]
            for j in range(1, N_NODES):
                acc = None
                for e, (to, src) in enumerate(EDGES):
                    if to != j:
                        continue
                    h = nodes[src].mul(0.0) if choices[e] == NONE else self.layers[e](nodes[src])
                    acc = h if acc is None else acc + h
                nodes.append(acc)
            return nodes[-1]

    c = npnet.C
    for i, b in enumerate(npnet.blocks):
        if isinstance(b, ResBlock):
            c = b.short.params["w"].shape[2]
        elif isinstance(b, Cell):
            net.blocks[i] = InferCell(b, c, i)
    return net


def train_torch(net, protocol, seed, data):
    """bench_live.torch_train's protocol (same batches, SGD Nesterov, per-step cosine) for a
    given network; returns final valid and test accuracy (percent)."""
    import torch

    from bench_live import to_torch_layout
    from nasbench_lab.live.trainer import cosine_lr

    opt = torch.optim.SGD(net.parameters(), lr=protocol.lr, momentum=protocol.momentum,
                          nesterov=True, weight_decay=protocol.weight_decay)
    lossf = torch.nn.CrossEntropyLoss()
    xtr = torch.from_numpy(to_torch_layout(data.train.x))
    ytr = torch.from_numpy(data.train.y)
    rng = np.random.default_rng([seed, 0x5EED])  # the numpy trainer's batch order
    bs, spe = protocol.batch_size, len(data.train) // protocol.batch_size
    total, step = protocol.epochs * spe, 0
    for _ in range(protocol.epochs):
        net.train()
        perm = torch.from_numpy(rng.permutation(len(ytr)))
        for b in range(spe):
            idx = perm[b * bs:(b + 1) * bs]
            for g in opt.param_groups:
                g["lr"] = cosine_lr(protocol.lr, step, total)
            opt.zero_grad(set_to_none=True)
            lossf(net(xtr[idx]), ytr[idx]).backward()
            opt.step()
            step += 1
    net.eval()
    accs = []
    with torch.no_grad():
        for s in (data.valid, data.test):
            x, y = torch.from_numpy(to_torch_layout(s.x)), torch.from_numpy(s.y)
            correct = sum(int((net(x[i:i + 100]).argmax(1) == y[i:i + 100]).sum())
                          for i in range(0, len(y), 100))
            accs.append(100.0 * correct / len(y))
    return accs


def training_study(rows, args, say) -> None:
    import torch

    from bench_live import to_torch_layout, torch_network
    from nasbench_lab.live.data import load_data
    from nasbench_lab.live.protocol import BUILTIN_PROTOCOL as P

    torch.set_num_threads(1)
    data = load_data(P)
    if args.arch:
        by_choices = {r["choices"]: r for r in rows}
        cells = [by_choices[NB201.from_string(a).choices] for a in args.arch]
    else:
        cells = pick_cells(rows, args.cells)
    ctrl = next(r for r in rows if r["any_zero_conv"] and not r["n_bias"] and r["x_dep"]
                and NB201.make(r["choices"]).choices[3] != NONE)
    say("")
    say(f"part 2: {len(cells)} {'given' if args.arch else 'affected'} cells x seeds {args.seeds}, protocol {P.name} "
        f"(torch {torch.__version__}, CPU, 1 thread); same weights, batches and optimiser")
    say(f"{'arch':76s} seed  pruned v/t   NB201 v/t   d_test  |beta|")
    xb = torch.from_numpy(to_torch_layout(data.train.x[:, :64]))
    diffs, per_cell, cpu0 = [], defaultdict(list), time.process_time()
    for r in [dict(ctrl, control=True)] + cells:
        arch = NB201.make(r["choices"])
        for seed in (args.seeds[:1] if r.get("control") else args.seeds):
            torch.manual_seed(seed)
            pruned = torch_network(arch, P, seed)
            faith = faithful_network(arch, P, seed)
            with torch.no_grad():  # beta = 0 at init: both compute the same function
                gap = float((pruned.train()(xb) - faith.train()(xb)).abs().max())
            if gap > 1e-4:
                raise SystemExit(f"{NB201.to_string(arch)}: nets differ at init by {gap}")
            pv, pt = train_torch(pruned, P, seed, data)
            fv, ft = train_torch(faith, P, seed, data)
            betas = [float(bn.bias.detach().abs().mean()) for blk in faith.blocks
                     for bn in getattr(blk, "bias_bns", [])]
            if not r.get("control"):
                diffs.append((fv - pv, ft - pt))
                per_cell[r["choices"]].append(pt)
            tag = " (control: no live constant)" if r.get("control") else ""
            say(f"{NB201.to_string(arch):76s} {seed:4d} {pv:5.1f}/{pt:5.1f} {fv:5.1f}/{ft:5.1f} "
                f"{ft - pt:+7.1f}  {np.mean(betas) if betas else 0:.3f}{tag}")
    from scipy import stats

    d = np.array(diffs)
    if len(d) < 2:
        return
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1, axis=0) / np.sqrt(len(d))
    noise = np.sqrt(np.mean([np.var(v, ddof=1) for v in per_cell.values() if len(v) > 1])) \
        if len(args.seeds) > 1 else float("nan")
    say(f"NB201 minus pruned, {len(d)} paired trainings: valid {d[:, 0].mean():+.2f} "
        f"(95 % CI +-{half[0]:.2f}), test {d[:, 1].mean():+.2f} (95 % CI +-{half[1]:.2f}; sd "
        f"{d[:, 1].std(ddof=1):.2f}, max |diff| {np.abs(d[:, 1]).max():.1f}) points; "
        f"Wilcoxon p (test) {stats.wilcoxon(d[:, 1]).pvalue if len(d) > 5 else float('nan'):.2f}")
    say(f"seed noise of the pruned variant on these cells (pooled sd of test acc): {noise:.2f} "
        f"points; CPU {time.process_time() - cpu0:.0f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys-only", action="store_true")
    ap.add_argument("--cells", type=int, default=6)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--arch", action="append", default=[],
                    help="train this NB201 arch string instead of the drawn cells (repeatable)")
    args = ap.parse_args(argv)

    def say(s=""):
        print(s, flush=True)

    res = key_study(say)
    if not args.keys_only:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        training_study(res["rows"], args, say)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
