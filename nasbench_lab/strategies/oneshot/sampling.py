"""Random-sampling weight sharing: RSPS (Li & Talwalkar, UAI 2019, NAS-Bench-201's
"RSPS") and SETN (Dong & Yang, ICCV 2019).

Both train the supernet weights with one uniformly sampled path per step (an op per edge,
only that op computed) on the weight half, then rank candidates by the supernet's accuracy
on the alpha half (eval mode for the BNs outside the cells) and report the best.

RSPS: no architecture parameters; 100 uniform candidates, each scored on the whole alpha
half (NAS-Bench-201's RANDOM-NAS.py means this, but its `valid_func` draws a new random
path for every batch, so there the score is not the candidate's; here it is).
Defaults: RANDOM.config (250 epochs, batch 64, SGD lr 0.025 cosine to 0.001, Nesterov 0.9,
wd 5e-4), gradient norm clipped to 5, select_num 100.

SETN: additionally trains alpha (the "template") every step on an alpha-half batch through
softmax(alpha) on every edge (all ops, as DARTS first order); at the end takes the
select_num cells of highest probability prod_e softmax(alpha)[e, op_e] and scores each on
one batch of 512 of the alpha half (successive batches, as SETN.py's `get_best_arch`).
Defaults: SETN.config (250 epochs, batch 64, SGD as above, no clipping), Adam(3e-4,
(0.5, 0.999), wd 1e-3), select_num 100, eval batch 512.
"""
from __future__ import annotations

from itertools import product

import numpy as np

from nasbench_lab.live.supernet import N_EDGES, N_OPS, one_hot, softmax, softmax_backward
from nasbench_lab.strategies.oneshot.base import OneShotMethod

_SGD = dict(batch_size=64, lr=0.025, eta_min=0.001, momentum=0.9, weight_decay=5e-4)
ALL_CELLS = np.array(list(product(range(N_OPS), repeat=N_EDGES)), dtype=np.int64)


class _UniformPaths(OneShotMethod):
    def uniform_step(self, w_batch):
        choices = tuple(int(c) for c in self.rng.integers(0, N_OPS, N_EDGES))
        loss, _, c = self.loss_grad(*w_batch, one_hot(choices), choices)
        self.weight_step(self.params["grad_clip"])
        return loss, c


class RSPS(_UniformPaths):
    name = "rsps"
    has_alpha = False
    defaults = dict(epochs=250, grad_clip=5.0, select_num=100, eval_batch_size=64, **_SGD)

    def train_step(self, w_batch, a_batch, epoch):
        return self.uniform_step(w_batch)

    def final(self):
        best, best_acc, accs = None, -1.0, []
        for _ in range(int(self.params["select_num"])):
            c = tuple(int(x) for x in self.rng.integers(0, N_OPS, N_EDGES))
            acc = self.accuracy(c, self.xa, self.ya, int(self.params["eval_batch_size"]))
            accs.append(acc)
            if acc > best_acc:
                best, best_acc = c, acc
        return best, {"supernet_valid_acc": best_acc, "candidates": len(accs),
                      "candidate_acc_mean": float(np.mean(accs))}


class SETN(_UniformPaths):
    name = "setn"
    defaults = dict(epochs=250, grad_clip=0.0, select_num=100, eval_batch_size=512,
                    arch_lr=3e-4, arch_weight_decay=1e-3, exclude_none=False, **_SGD)

    def train_step(self, w_batch, a_batch, epoch):
        loss, c = self.uniform_step(w_batch)
        p = softmax(self.alpha)
        _, dw, _ = self.loss_grad(*a_batch, p)
        self.a_opt.step(softmax_backward(p, dw))
        return loss, c

    def top_k(self, k: int) -> np.ndarray:
        logp = np.log(softmax(self.alpha))
        score = logp[np.arange(N_EDGES), ALL_CELLS].sum(1)
        return ALL_CELLS[np.argsort(-score, kind="stable")[:k]]

    def final(self):
        cands = self.top_k(int(self.params["select_num"]))
        bs = int(self.params["eval_batch_size"])
        order = self.rng.permutation(len(self.ya))
        chunks = [order[i:i + bs] for i in range(0, len(order), bs)]
        best, best_acc = None, -1.0
        for i, c in enumerate(cands):
            idx = chunks[i % len(chunks)]
            c = tuple(int(x) for x in c)
            acc = self.accuracy(c, np.ascontiguousarray(self.xa[..., idx, :]), self.ya[idx], bs)
            if acc > best_acc:
                best, best_acc = c, acc
        return best, {"supernet_valid_acc": best_acc, "candidates": len(cands)}
