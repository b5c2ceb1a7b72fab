"""Gradient ascent on a differentiable surrogate over a continuous relaxation of the cell."""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.strategies import register
from nasbench_lab.strategies._common import ModelGuided, adam_step, is_valid, onehot, option_counts


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


@register
class GradientSurrogate(ModelGuided):
    """Relax, fit, ascend, discretise, repeat.

    Relaxation: an architecture becomes a logit matrix alpha [decisions x options]; the
    relaxed cell is x = softmax(alpha / temperature) per decision, a point in a product of
    simplices whose vertices are the discrete cells (their one-hot encodings).

    Surrogate: an ensemble of `ensemble` small tanh MLPs on the one-hot encoding, fitted by
    full-batch Adam to the validation accuracies observed so far (standardised; warm-started
    between rounds). Why this model: it is differentiable in its input everywhere (tanh, not
    ReLU), costs a few milliseconds to refit in numpy, and the ensemble's spread gives an
    uncertainty, so the ascent can be optimistic (mean + `kappa` x std) and different
    members pull different starts apart. A GP would give calibrated uncertainty but costs
    O(n^3) per refit and needs kernel hyper-parameters; a linear model has a constant
    gradient and would always point to the same vertex.

    Each round (every `batch` queries, after `num_init` uniform samples): refit; start
    `starts` logit matrices, half at the best architectures seen (`init_scale` x one-hot plus
    noise) and half at random; run `ascent_steps` Adam steps of gradient ascent on the
    acquisition with respect to alpha (the gradient chains the networks' input gradient
    through the softmax; see `acquisition_and_grad`, checked numerically in the tests);
    discretise each result by taking the argmax per decision, or, when that cell is known,
    by sampling from the relaxed distribution; queue up to `batch` distinct unseen cells,
    topped up with mutations of the best cell.

    Deduplication is part of the method: a cell whose canonical key was already queried or
    queued is never queued, so no cell is paid for twice; when every canonical key has been
    queried, `ask` returns None.

    Parameters:
      num_init (10), batch (5), ensemble (3), hidden (32), layers (2), fit_steps (150),
      lr (0.01), starts (8), ascent_steps (30), ascent_lr (0.3), temperature (1.0),
      init_scale (3.0), kappa (0.5), discretise_tries (10).
    """

    name = "gradient_surrogate"
    defaults = {"num_init": 10, "batch": 5, "ensemble": 3, "hidden": 32, "layers": 2, "fit_steps": 150,
                "lr": 0.01, "starts": 8, "ascent_steps": 30, "ascent_lr": 0.3, "temperature": 1.0,
                "init_scale": 3.0, "kappa": 0.5, "discretise_tries": 10}
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        p = self.params
        if min(p["num_init"], p["batch"], p["ensemble"], p["hidden"], p["layers"], p["starts"]) < 1:
            raise NasbenchError("gradient_surrogate: sizes and counts must be >= 1")
        if not p["temperature"] > 0:
            raise NasbenchError("gradient_surrogate: temperature must be > 0")
        self.D, self.K = self.space.n_decisions, self.space.n_options
        # decisions with fewer options (mixed spaces such as NB101) keep their extra logits at
        # -1e9: probability 0, gradient 0, never the argmax
        self._mask = np.arange(self.K)[None, :] < option_counts(self.space)[:, None]
        self.rounds = 0

    def _enc(self, arch) -> np.ndarray:
        return onehot(arch.choices, self.K)

    # ----- the differentiable part -----------------------------------------------------------
    def acquisition_and_grad(self, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Acquisition (standardised units) of relaxed cells alpha (S, D, K) and its gradient
        with respect to alpha: mean + kappa x std over the ensemble of f(softmax(alpha / T))."""
        T = self.params["temperature"]
        kappa = self.params["kappa"]
        S = alpha.shape[0]
        x = softmax(alpha / T)                           # (S, D, K)
        f, gx = self.model.input_grad(x.reshape(S, -1))  # (E, S), (E, S, D*K)
        mu = f.mean(0)
        g = gx.mean(0)
        acq = mu
        if kappa:
            sd = f.std(0)
            dev = f - mu
            safe = np.where(sd > 1e-12, sd, 1.0)
            gsd = (dev[..., None] * (gx - g[None])).mean(0) / safe[:, None]
            gsd[sd <= 1e-12] = 0.0
            acq = mu + kappa * sd
            g = g + kappa * gsd
        g = g.reshape(S, self.D, self.K)
        # chain through the softmax of each decision: dA/dz_j = x_j (g_j - sum_k x_k g_k)
        gz = x * (g - (x * g).sum(-1, keepdims=True))
        return acq, gz / T

    # ----- rounds ----------------------------------------------------------------------------
    def _propose(self) -> None:
        p = self.params
        self._fit()
        self.rounds += 1
        S = p["starts"]
        n_top = (S + 1) // 2
        top = [a for _, a in sorted(self.archs, key=lambda t: -t[0])[:n_top]]
        alpha = self.rng.normal(0.0, 1.0, (S, self.D, self.K))
        for i, a in enumerate(top):
            alpha[i] *= 0.1
            alpha[i, np.arange(self.D), a.choices] += p["init_scale"]
        alpha = np.where(self._mask, alpha, -1e9)
        state: dict = {}
        for _ in range(p["ascent_steps"]):
            _, g = self.acquisition_and_grad(alpha)
            adam_step([alpha], [-g], state, p["ascent_lr"])  # ascent = descent on -A
        acq, _ = self.acquisition_and_grad(alpha)
        probs = softmax(alpha / p["temperature"])
        picked, keys = [], set()
        for i in np.argsort(-acq, kind="stable"):
            if len(picked) >= p["batch"]:
                break
            cands = [tuple(int(c) for c in alpha[i].argmax(-1))]
            for _ in range(p["discretise_tries"]):
                cdf = np.cumsum(probs[i], -1)
                u = self.rng.random(self.D) * cdf[:, -1]
                cands.append(tuple(int(c) for c in (u[:, None] >= cdf).sum(-1)))
            for ch in cands:
                a = self.space.make(ch)
                if not is_valid(self.space, a):
                    continue
                k = self.space.canonical_key(a)
                if k not in self.seen and k not in keys:
                    keys.add(k)
                    picked.append(a)
                    break
        best = top[0] if top else None
        tries = 0
        while best is not None and len(picked) < p["batch"] and tries < 20 * p["batch"]:
            tries += 1
            a = self.space.mutate(best, self.rng)
            k = self.space.canonical_key(a)
            if k not in self.seen and k not in keys:
                keys.add(k)
                picked.append(a)
        self.queue = picked[::-1]
