"""Benchmark: how far the live trainer could go with fused compiled kernels or more seeds per
pass (issue 12 point 2), measured side by side in one process, one thread.

1. The eval-mode convolution op (ReLU -> 3-tap convolution -> BatchNorm) at the shapes of the
   three stages of a 1-D network (40 x 8, 20 x 16, 10 x 32 positions x channels, 100 signals a
   chunk): the trainer's numpy layers against a register-tiled C kernel that fuses the op in
   one pass with BatchNorm folded into the weights (`analysis/bench_kernels_rcb3.c`, compiled
   here with gcc; skipped without gcc) and against a straightforward numba kernel (skipped
   without numba). Neither is part of nasbench_lab: they measure what fusing could buy.
2. Seeds per seed-batched pass: CPU seconds per training of `train_seeds` with 3, 6 and 10
   seeds against `train_architecture`, one cell.
3. The bound that follows: a training's train and eval seconds (from the seed-batched pass),
   and the single-seed time divided by (train + eval / kernel speed-up), i.e. the speed-up if
   every eval op ran as fast as the fused kernel and training did not change.

    python analysis/bench_kernels.py                      # hard-mnist1d, 2 epochs
    python analysis/bench_kernels.py --out analysis/bench_kernels.txt   # the recorded run
"""
from __future__ import annotations

import argparse
import ctypes
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench_lab.live.layers import BatchNorm, Conv, ReLU  # noqa: E402
from nasbench_lab.live.protocol import PROTOCOLS  # noqa: E402
from nasbench_lab.live.trainer import cpu_clock, train_architecture, train_seeds  # noqa: E402

SHAPES = ((40, 8), (20, 16), (10, 32))  # (positions, channels) of stages 1-3
KERNEL_C = Path(__file__).with_name("bench_kernels_rcb3.c")
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def best_us(f, n=200, repeats=5) -> float:
    """Fastest of `repeats` timings of `n` calls, microseconds per call."""
    f()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            f()
        best = min(best, (time.perf_counter() - t) / n * 1e6)
    return best


def compile_kernel(workdir: str):
    gcc = shutil.which("gcc")
    if gcc is None:
        return None, "gcc not found"
    so = os.path.join(workdir, "rcb3.so")
    cmd = [gcc, "-O3", "-march=native", "-ffp-contract=off", "-shared", "-fPIC", "-o", so, str(KERNEL_C)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        return None, f"gcc failed: {r.stderr.strip().splitlines()[-1:]}"
    return ctypes.CDLL(so), " ".join(cmd[1:5])


def numba_kernel():
    try:
        from numba import njit
    except ImportError:
        return None

    @njit(fastmath=True, boundscheck=False)
    def rcb3(x, w, bias, y):
        L, B, CI = x.shape
        CO = y.shape[2]
        for l in range(L):
            for b in range(B):
                for co in range(CO):
                    y[l, b, co] = bias[co]
                for t in range(3):
                    j = l + t - 1
                    if j < 0 or j >= L:
                        continue
                    for ci in range(CI):
                        v = max(x[j, b, ci], np.float32(0.0))
                        for co in range(CO):
                            y[l, b, co] += v * w[t, ci, co]
    return rcb3


def kernel_table(say, batch: int) -> float:
    """Part 1; returns the numpy / C ratio of the summed times over the three stages."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        lib, how = compile_kernel(d)
        nb = numba_kernel()
        say(f"1. eval op ReLU -> conv3 -> BN on (positions, {batch}, channels) float32, microseconds "
            f"per call (fastest of 5 x 200); C: {how}; numba: {'yes' if nb else 'not installed'}")
        say(f"   {'shape':>9} {'numpy':>8} {'C fused':>8} {'np/C':>6} {'numba':>8} {'np/numba':>8}  max rel diff C")
        tot_np = tot_c = 0.0
        P = ctypes.POINTER(ctypes.c_float)
        for L, C in SHAPES:
            x = rng.standard_normal((L, batch, C)).astype(np.float32)
            W = (rng.standard_normal((3, C, C)) / np.sqrt(3 * C)).astype(np.float32)
            relu, conv, bn = ReLU(), Conv(W.copy(), 1), BatchNorm(C)
            bn.running[0] = rng.standard_normal(C) * 0.1
            bn.running[1] = rng.uniform(0.5, 2.0, C)
            bn.params["gamma"][:] = rng.uniform(0.5, 1.5, C)
            bn.params["beta"][:] = rng.standard_normal(C) * 0.1

            def ref():
                return bn.forward(conv.forward(relu.forward(x, False), False), False)

            scale = bn.params["gamma"] / np.sqrt(bn.running[1] + bn.eps)
            wf = np.ascontiguousarray(W * scale, dtype=np.float32)
            bias = (bn.params["beta"] - bn.running[0] * scale).astype(np.float32)
            t_np = best_us(ref)
            r = ref().copy()
            row = f"   {L:>4} x {C:<2} {t_np:8.1f}"
            if lib is not None:
                y = np.empty_like(x)
                f = getattr(lib, f"rcb3_{C}")
                args = [a.ctypes.data_as(P) for a in (x, wf, bias, y)] + [L, batch]
                t_c = best_us(lambda: f(*args))
                rel = float(np.abs(y - r).max() / np.abs(r).max())
                tot_np, tot_c = tot_np + t_np, tot_c + t_c
                row += f" {t_c:8.1f} {t_np / t_c:5.2f}x"
            else:
                rel = float("nan")
                row += f" {'-':>8} {'-':>6}"
            if nb is not None:
                y2 = np.empty_like(x)
                t_nb = best_us(lambda: nb(x, wf, bias, y2), n=50)
                row += f" {t_nb:8.1f} {t_np / t_nb:7.2f}x"
            else:
                row += f" {'-':>8} {'-':>8}"
            say(row + f"  {rel:.1e}")
        ratio = tot_np / tot_c if tot_c else float("nan")
        say(f"   all three stages: numpy / C fused = {ratio:.2f}x")
    return ratio


def seeds_table(say, protocol, repeats: int) -> tuple[float, float, float]:
    """Part 2; returns (single-seed s, batched train s, batched eval s) per training (S = 3)."""
    say(f"2. seeds per pass, {CELL}, {protocol.epochs} epochs, CPU s per training "
        f"(fastest of {repeats})")
    train_architecture(CELL, protocol.replace(epochs=1), 0)  # data and code warm
    single = float("inf")
    for _ in range(repeats):
        t = cpu_clock()
        train_architecture(CELL, protocol, 0)
        single = min(single, cpu_clock() - t)
    row = [f"single {single:.2f}"]
    split = None
    for S in (3, 6, 10):
        best = float("inf")
        for _ in range(repeats):
            t = cpu_clock()
            res = train_seeds(CELL, protocol, seeds=list(range(S)))
            dt = (cpu_clock() - t) / S
            if dt < best:
                best = dt
                if S == 3:
                    split = (float(res[0].train_time.sum()),
                             float(res[0].valid_time.sum() + res[0].test_time.sum()))
        row.append(f"S={S} {best:.2f} ({single / best:.2f}x)")
    say("   " + " | ".join(row))
    return single, split[0], split[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="hard-mnist1d", choices=sorted(PROTOCOLS))
    ap.add_argument("--epochs", type=int, default=2, help="epochs of the trainings in part 2 (the "
                    "train / eval split per epoch does not depend on it)")
    ap.add_argument("--repeats", type=int, default=2, help="repetitions of each training in part 2")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args(argv)
    if args.epochs < 1 or args.repeats < 1:
        ap.error("--epochs and --repeats must be positive integers")
    if args.out and (Path(args.out).is_dir() or not Path(args.out).resolve().parent.is_dir()):
        ap.error(f"--out {args.out} must be a file in an existing folder")
    protocol = PROTOCOLS[args.protocol].replace(epochs=args.epochs)
    lines: list[str] = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    say(f"bench_kernels: python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.processor() or platform.machine()}, 1 thread; protocol {args.protocol}")
    k = kernel_table(say, protocol.eval_batch_size)
    single, train_s, eval_s = seeds_table(say, protocol, args.repeats)
    share = eval_s / (train_s + eval_s)
    say(f"3. seed-batched training (S = 3): train {train_s:.2f} s + eval {eval_s:.2f} s per training "
        f"(eval share {share:.0%}); single-seed {single:.2f} s")
    say(f"   if every eval op ran {k:.2f}x faster (the fused kernel's ratio): "
        f"{single / (train_s + eval_s / k):.2f}x over single-seed; with eval free: "
        f"{single / train_s:.2f}x; the target is 2x")
    need = single / 2 - train_s
    say("   2x needs eval " + (f"{eval_s / need:.1f}x faster with training unchanged" if need > 0
                               else "free and training faster too"))
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
