"""The zero-cost proxies, one function each, and their registry (higher score: predicted better).

Definitions follow the zero-cost-proxies paper (Abdelfattah et al., ICLR 2021) and NASWOT
(Mellor et al., ICML 2021), on NB201 networks of the live backend at initialisation, in
float64, train mode (batch statistics), on one minibatch of training signals:

- grad_norm: sum over weight layers (convolutions and the classifier) of ||dL/dw||_2.
- snip: sum over weight layers of |w * dL/dw|.
- grasp: sum over weight layers of -w * (H g), g = dL/dw, H the Hessian of L in the
  weights (a finite-difference Hessian-vector product, `hvp.py`).
- fisher: sum over weight layers and their output channels of 0.5 * mean over samples of
  (sum over positions of activation * dL/d activation)^2 (activation: the layer's output).
- jacob_cov: with J the rows d(sum of outputs)/d(input sample), C = corrcoef(J) and v its
  eigenvalues, -sum(log(v + 1e-5) + 1/(v + 1e-5)).
- synflow: batch norm removed, every parameter replaced by its absolute value, one input
  of ones; R = sum of the outputs; sum over weight layers of |w * dR/dw|.
- naswot: log |K|, K[i, j] = sum over ReLUs of the number of units on which samples i and
  j agree (both active or both inactive); a ReLU shared by k NB201 ops counts k times.

L is the mean cross-entropy over the minibatch. Scores can be -inf (naswot of a network
whose samples share one code) or NaN (jacob_cov of a network that ignores its input).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nasbench_lab.live.layers import softmax_cross_entropy
from nasbench_lab.live.network import Network
from nasbench_lab.proxies import probes
from nasbench_lab.proxies.hvp import hvp

JACOB_K = 1e-5


@dataclass(frozen=True)
class Batch:
    """One minibatch, position-major: x (..., B, C_in) float64, y (B,) int64."""

    x: np.ndarray
    y: np.ndarray


NetFactory = Callable[[], Network]


# --- the formulas (on plain arrays; each checked against hand-computed values) -----------------
def fisher_from_terms(terms: list[np.ndarray]) -> float:
    """0.5 * sum over layers and channels of mean over samples of g_nk^2."""
    return float(sum(0.5 * np.mean(np.square(g), axis=0).sum() for g in terms))


def jacob_cov_from_jacobian(jac: np.ndarray) -> float:
    """-sum(log(v + k) + 1/(v + k)), v the eigenvalues of the samples' Jacobian correlations."""
    j = np.asarray(jac, dtype=np.float64).reshape(jac.shape[0], -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(j)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + JACOB_K) + 1.0 / (v + JACOB_K)))


def naswot_kernel(codes: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """K = sum of multiplicity * (c c^T + (1 - c)(1 - c)^T) over binary codes c (B, units)."""
    K = None
    for c, mult in codes:
        c = np.asarray(c, dtype=np.float64).reshape(c.shape[0], -1)
        k = c @ c.T + (1.0 - c) @ (1.0 - c).T
        K = mult * k if K is None else K + mult * k
    return K


def naswot_from_kernel(K: np.ndarray) -> float:
    return float(np.linalg.slogdet(K)[1])


# --- the proxies --------------------------------------------------------------------------------
def grad_norm(make_net: NetFactory, batch: Batch) -> float:
    net = make_net()
    probes.loss_and_grad(net, batch.x, batch.y)
    return float(sum(np.linalg.norm(g) for g in probes.weight_grads(net)))


def snip(make_net: NetFactory, batch: Batch) -> float:
    net = make_net()
    probes.loss_and_grad(net, batch.x, batch.y)
    return float(sum(np.abs(w * g).sum() for w, g in zip(probes.weights(net), probes.weight_grads(net))))


def grasp(make_net: NetFactory, batch: Batch) -> float:
    net = make_net()
    g = probes.weight_gradient(net, batch.x, batch.y)
    ws = probes.weights(net)
    hg = hvp(lambda: probes.weight_gradient(net, batch.x, batch.y), ws, g)
    return float(sum((-w * h).sum() for w, h in zip(ws, hg)))


def fisher(make_net: NetFactory, batch: Batch) -> float:
    net = make_net()
    rec = probes.ActivationGrads(net)
    probes.loss_and_grad(net, batch.x, batch.y)
    return fisher_from_terms(rec.terms)


def jacob_cov(make_net: NetFactory, batch: Batch) -> float:
    net = make_net()
    dx = probes.input_gradient(net, batch.x, np.ones_like)
    return jacob_cov_from_jacobian(np.moveaxis(dx, -2, 0))  # (B, positions..., C_in)


def synflow(make_net: NetFactory, batch: Batch) -> float:
    net = probes.without_batchnorm(make_net())
    for p, _ in net.parameters():
        np.abs(p, out=p)
    x = np.ones(batch.x.shape[:-2] + (1, batch.x.shape[-1]), dtype=np.float64)
    probes.input_gradient(net, x, np.ones_like)  # backward of sum(outputs); grads land in layers
    return float(sum(np.abs(w * g).sum() for w, g in zip(probes.weights(net), probes.weight_grads(net))))


def naswot(make_net: NetFactory, batch: Batch) -> float:
    net = make_net()
    relus = probes.relus_with_multiplicity(net)
    net.forward(batch.x, train=True)
    codes = [(np.moveaxis(r.mask, -2, 0), k) for r, k in relus]  # (B, positions..., C)
    return naswot_from_kernel(naswot_kernel(codes))


#: Every proxy this module computes, in the order tables store them.
PROXIES: dict[str, Callable[[NetFactory, Batch], float]] = {
    "synflow": synflow, "snip": snip, "grasp": grasp, "fisher": fisher, "grad_norm": grad_norm,
    "jacob_cov": jacob_cov, "naswot": naswot,
}
#: Static metrics of a table evaluated next to the proxies (the baselines to beat).
BASELINES = ("params", "flops")


def loss_check(net: Network, batch: Batch) -> float:
    """Mean cross-entropy of `net` on `batch` (used by the tests' finite differences)."""
    return softmax_cross_entropy(net.forward(batch.x, train=True), batch.y)[0]
