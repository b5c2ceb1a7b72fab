"""The weight-sharing supernet: numerical gradient checks (float64) of the mixed op, of the
architecture parameters and of the whole supernet, and one-hot equivalence with Network."""
import numpy as np
import pytest

from gradcheck import numerical_gradient as numgrad
from nasbench_lab.live.layers import softmax_cross_entropy
from nasbench_lab.live.network import Init, Network
from nasbench_lab.live.supernet import MixedOp, Supernet, one_hot, softmax, softmax_backward
from nasbench_lab.spaces import NB201

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("active", [None, 0, 1, 2, 3, 4])
def test_mixed_op_gradients(active):
    op = MixedOp(3, 1, Init(2, np.float64), "e")
    x = RNG.standard_normal((7, 4, 3))
    w = RNG.standard_normal(5)
    R = RNG.standard_normal((7, 4, 3))

    def loss():
        return float(np.sum(op.forward(x, w, active) * R))

    loss()
    dx, dw = op.backward(R)
    grads = {k: op.convs[k].conv.grads["w"].copy() for k in (2, 3)}
    np.testing.assert_allclose(dx, numgrad(loss, x), atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(dw, numgrad(loss, w), atol=1e-6, rtol=1e-5)
    for k in (2, 3):
        if active in (None, k):
            np.testing.assert_allclose(grads[k], numgrad(loss, op.convs[k].conv.params["w"]),
                                       atol=1e-6, rtol=1e-5)


def _tiny(ndim=1):
    net = Supernet(C=2, N=1, in_channels=1, n_classes=3, ndim=ndim, seed=1, dtype=np.float64)
    shape = (8, 4, 1) if ndim == 1 else (4, 4, 4, 1)
    return net, RNG.standard_normal(shape), np.array([0, 1, 2, 1])


@pytest.mark.parametrize("ndim", [1, 2])
def test_alpha_gradient_through_softmax(ndim):
    net, x, y = _tiny(ndim)
    alpha = RNG.standard_normal((6, 5))

    def loss():
        return softmax_cross_entropy(net.forward(x, softmax(alpha)), y)[0]

    p = softmax(alpha)
    _, g, _ = softmax_cross_entropy(net.forward(x, p), y)
    dalpha = softmax_backward(p, net.backward(g))
    np.testing.assert_allclose(dalpha, numgrad(loss, alpha), atol=1e-7, rtol=1e-4)


def test_softmax_backward_with_temperature():
    a, dp = RNG.standard_normal((6, 5)), RNG.standard_normal((6, 5))
    g = softmax_backward(softmax(a, 0.7), dp, 0.7)
    np.testing.assert_allclose(g, numgrad(lambda: float(np.sum(softmax(a, 0.7) * dp)), a),
                               atol=1e-8)


@pytest.mark.parametrize("active", [False, True])
def test_whole_supernet_weight_gradients(active):
    net, x, y = _tiny()
    w = softmax(RNG.standard_normal((6, 5)))
    act = RNG.integers(0, 5, 6) if active else None
    if active:
        act[0] = 3  # a convolution on edge 1<-0, so most weights are reached

    def loss():
        return softmax_cross_entropy(net.forward(x, w, act), y)[0]

    _, g, _ = softmax_cross_entropy(net.forward(x, w, act), y)
    dw = net.backward(g)
    params = net.parameters()
    analytic = [gr.copy() for _, gr in params]
    np.testing.assert_allclose(dw, numgrad(loss, w), atol=1e-7, rtol=1e-4)
    rng = np.random.default_rng(5)
    for (p, _), ga in zip(params, analytic):
        # a few entries of every parameter array (all of them would take too long)
        flat, gflat = p.reshape(-1), ga.reshape(-1)
        for i in rng.choice(flat.size, size=min(3, flat.size), replace=False):
            sub = flat[i:i + 1]
            np.testing.assert_allclose(gflat[i], numgrad(loss, sub)[0], atol=1e-7, rtol=1e-4)


CELLS = ["|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|",
         "|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|",
         "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|",
         "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]


@pytest.mark.parametrize("ndim", [1, 2])
def test_one_hot_supernet_is_that_cells_network(ndim):
    shape = (12, 5, 1) if ndim == 1 else (6, 6, 5, 1)
    x = RNG.standard_normal(shape)
    for s in CELLS:
        a = NB201.from_string(s)
        sup = Supernet(C=4, N=2, n_classes=10, ndim=ndim, seed=3, dtype=np.float64)
        net = Network(a, C=4, N=2, ndim=ndim, seed=9, dtype=np.float64)
        sup.load_into(net, a)
        ref = net.forward(x, True)
        np.testing.assert_allclose(sup.forward(x, one_hot(a.choices)), ref, atol=1e-10, err_msg=s)
        # one path per edge (GDAS / SPOS mode) computes the same function
        np.testing.assert_allclose(sup.forward(x, one_hot(a.choices), active=a.choices), ref,
                                   atol=1e-10, err_msg=s)


def test_flatten_keeps_views_and_values():
    net, x, y = _tiny()
    w = softmax(np.zeros((6, 5)))
    before = net.forward(x, w).copy()
    P, G = net.flatten()
    assert P.size == net.n_params()
    np.testing.assert_allclose(net.forward(x, w), before)
    _, g, _ = softmax_cross_entropy(net.forward(x, w), y)
    net.backward(g)
    assert np.abs(G).sum() > 0
    P *= 0.5
    assert not np.allclose(net.forward(x, w), before)
