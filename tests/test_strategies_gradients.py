"""Numerical gradient checks of the numpy MLP ensemble and the gradient-surrogate strategy."""
from __future__ import annotations

import numpy as np

from gradcheck import numerical_gradient
import pytest

from nasbench_lab.spaces import NB201
from nasbench_lab.strategies import SearchContext
from nasbench_lab.strategies._common import adam_step, onehot
from nasbench_lab.strategies._mlp import MLPEnsemble
from nasbench_lab.strategies.gradient_surrogate import GradientSurrogate, softmax


_numeric = numerical_gradient


@pytest.fixture
def net():
    rng = np.random.default_rng(0)
    return MLPEnsemble(7, members=3, hidden=5, layers=2, rng=rng), rng


def test_parameter_gradients_match_finite_differences(net):
    m, rng = net
    for b in m.b:
        b[...] = rng.normal(0, 0.3, b.shape)
    X = rng.normal(size=(9, 7))
    y = rng.normal(size=9)
    _, grads = m.loss_and_grads(X, y, weight_decay=1e-3)
    for p, g in zip(m.params, grads):
        num = _numeric(lambda: m.loss_and_grads(X, y, weight_decay=1e-3)[0], p)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)


def test_parameter_gradients_with_per_member_inputs(net):
    m, rng = net
    X = rng.normal(size=(3, 4, 7))   # (E, n, d): each member its own batch
    y = rng.normal(size=4)
    _, grads = m.loss_and_grads(X, y)
    num = _numeric(lambda: m.loss_and_grads(X, y)[0], m.W[0])
    np.testing.assert_allclose(grads[0], num, rtol=1e-5, atol=1e-7)


def test_input_gradient_matches_finite_differences(net):
    m, rng = net
    X = rng.normal(size=(4, 7))
    _, gx = m.input_grad(X)
    for e in range(3):
        num = _numeric(lambda: m.raw_predict(X)[e].sum(), X)
        np.testing.assert_allclose(gx[e], num, rtol=1e-5, atol=1e-7)


def test_fit_learns_a_smooth_function_and_pickles():
    import pickle

    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 6))
    y = 50 + 5 * np.tanh(X[:, 0]) - 3 * X[:, 1] ** 2
    m = MLPEnsemble(6, members=4, hidden=32, layers=2, rng=rng)
    m.fit(X, y, steps=400, lr=0.01)
    pred = m.predict(X).mean(0)
    assert np.corrcoef(pred, y)[0, 1] > 0.95
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.predict(X), m.predict(X))
    m2.W[0][...] += 1  # views into the restored flat vector
    assert not np.array_equal(m2.predict(X), m.predict(X)) and not np.array_equal(m2.flat, m.flat)


def test_adam_step_matches_the_textbook_formula():
    p = np.array([1.0, -2.0, 3.0])
    state: dict = {}
    ref, m, v = p.copy(), np.zeros(3), np.zeros(3)
    rng = np.random.default_rng(2)
    for t in range(1, 6):
        g = rng.normal(size=3)
        adam_step([p], [g], state, 0.1)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref -= 0.1 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(p, ref, rtol=1e-12)


@pytest.mark.parametrize("kappa,temperature", [(0.0, 1.0), (0.7, 1.0), (0.5, 0.4)])
def test_surrogate_acquisition_gradient_matches_finite_differences(kappa, temperature):
    ctx = SearchContext(space=NB201, fidelities=(12,))
    gs = GradientSurrogate(ctx, np.random.default_rng(3), kappa=kappa, temperature=temperature,
                           hidden=8, ensemble=3)
    rng = np.random.default_rng(4)
    for _ in range(12):
        a = NB201.sample(rng)
        gs.X.append(onehot(a.choices, 5))
        gs.y.append(float(rng.normal(80, 3)))
    gs._fit()
    alpha = rng.normal(size=(3, NB201.n_decisions, NB201.n_options))
    _, g = gs.acquisition_and_grad(alpha)
    num = _numeric(lambda: gs.acquisition_and_grad(alpha)[0].sum(), alpha)
    np.testing.assert_allclose(g, num, rtol=1e-4, atol=1e-7)


def test_gradient_ascent_increases_the_surrogate():
    ctx = SearchContext(space=NB201, fidelities=(12,))
    gs = GradientSurrogate(ctx, np.random.default_rng(5), kappa=0.0)
    rng = np.random.default_rng(6)
    for _ in range(30):
        a = NB201.sample(rng)
        gs.X.append(onehot(a.choices, 5))
        gs.y.append(float(np.sum(np.array(a.choices) == 3)))  # more conv3x3 is better
    gs._fit()
    alpha = rng.normal(size=(4, 6, 5))
    before, _ = gs.acquisition_and_grad(alpha)
    for _ in range(30):
        _, g = gs.acquisition_and_grad(alpha)
        alpha += 0.5 * g
    after, _ = gs.acquisition_and_grad(alpha)
    assert np.all(after > before)
    # discretising the ascended cells favours conv3x3 (option 3)
    assert (softmax(alpha).argmax(-1) == 3).mean() > 0.6
