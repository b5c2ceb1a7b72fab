"""Numerical gradient checks (float64) of every live layer and of a whole tiny network."""
import numpy as np

from gradcheck import numerical_gradient
import pytest

from nasbench_lab.live.layers import (AvgPool2, AvgPool3, BatchNorm, Conv, GlobalAvgPool,
                                      Linear, ReLU, softmax_cross_entropy)
from nasbench_lab.live.network import Network
from nasbench_lab.spaces import NB201

RNG = np.random.default_rng(0)


numgrad = numerical_gradient


def check_layer(layer, x, train=True, atol=1e-6, rtol=1e-5):
    """Loss = sum(forward(x) * R); compare backward against central differences."""
    y = layer.forward(x, train)
    R = RNG.standard_normal(y.shape)

    def loss():
        return float(np.sum(layer.forward(x, train) * R))

    loss()
    dx = layer.backward(R).copy()
    grads = {k: g.copy() for k, g in layer.grads.items()}
    np.testing.assert_allclose(dx, numgrad(loss, x), atol=atol, rtol=rtol)
    for k, p in layer.params.items():
        np.testing.assert_allclose(grads[k], numgrad(loss, p), atol=atol, rtol=rtol,
                                   err_msg=f"param {k}")


def rand(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("k,stride", [(3, 1), (3, 2), (1, 1), (1, 2)])
def test_conv1d_gradients(k, stride):
    conv = Conv(rand(k, 3, 4) * 0.5, ndim=1, stride=stride)
    check_layer(conv, rand(6, 5, 3))


@pytest.mark.parametrize("k,stride", [(3, 1), (3, 2), (1, 1)])
def test_conv2d_gradients(k, stride):
    conv = Conv(rand(k * k, 2, 3) * 0.5, ndim=2, stride=stride)
    check_layer(conv, rand(4, 5, 3, 2))


def test_conv_matches_direct_definition():
    w = rand(3, 2, 3)
    x = rand(7, 4, 2)
    y = Conv(w, ndim=1).forward(x)
    xp = np.pad(x, ((1, 1), (0, 0), (0, 0)))
    ref = sum(np.einsum("lbc,cd->lbd", xp[t:t + 7], w[t]) for t in range(3))
    np.testing.assert_allclose(y, ref, atol=1e-12)
    w2 = rand(9, 2, 3)
    x2 = rand(5, 4, 3, 2)
    y2 = Conv(w2, ndim=2, stride=2).forward(x2)
    xp2 = np.pad(x2, ((1, 1), (1, 1), (0, 0), (0, 0)))
    ref2 = sum(np.einsum("hwbc,cd->hwbd", xp2[i:i + 5, j:j + 4], w2[3 * i + j])
               for i in range(3) for j in range(3))[::2, ::2]
    np.testing.assert_allclose(y2, ref2, atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 5, 3), (3, 4, 5, 2)])
def test_batchnorm_train_gradients(shape):
    bn = BatchNorm(shape[-1], np.float64)
    bn.params["gamma"][...] = rand(shape[-1])
    bn.params["beta"][...] = rand(shape[-1])
    check_layer(bn, rand(*shape) * 2 + 1)


def test_batchnorm_eval_gradients_and_running_stats():
    bn = BatchNorm(3, np.float64)
    x = rand(5, 4, 3) * 2 + 1
    bn.forward(x, True)
    m = x.reshape(-1, 3)
    np.testing.assert_allclose(bn.running_mean, 0.1 * m.mean(0))
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * m.var(0, ddof=1))
    y = bn.forward(x, False)
    ref = (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5)
    np.testing.assert_allclose(y, ref, atol=1e-12)
    # eval mode is affine per channel: its input gradient is scale * dy
    scale = bn.params["gamma"] / np.sqrt(bn.running_var + 1e-5)
    np.testing.assert_allclose(numgrad(lambda: float(np.sum(bn.forward(x, False))), x),
                               np.broadcast_to(scale, x.shape), atol=1e-6)


def test_relu_gradients():
    x = rand(4, 3, 2)
    x[np.abs(x) < 1e-3] = 0.5  # away from the kink
    check_layer(ReLU(), x)


@pytest.mark.parametrize("shape", [(5, 3, 2), (4, 3, 2, 2), (1, 2, 2)])
def test_avgpool3_gradients_and_count_exclude_pad(shape):
    pool = AvgPool3(len(shape) - 2)
    check_layer(pool, rand(*shape))
    ones = np.ones(shape)
    np.testing.assert_allclose(pool.forward(ones), ones)  # padded zeros are not counted


def test_avgpool3_values_1d():
    x = np.arange(4.0).reshape(4, 1, 1)
    y = AvgPool3(1).forward(x).ravel()
    np.testing.assert_allclose(y, [0.5, 1.0, 2.0, 2.5])


@pytest.mark.parametrize("shape", [(6, 3, 2), (4, 6, 2, 3), (5, 2, 2)])
def test_avgpool2_gradients(shape):
    check_layer(AvgPool2(len(shape) - 2), rand(*shape))


def test_global_avg_pool_and_linear_gradients():
    check_layer(GlobalAvgPool(), rand(3, 4, 5, 2))
    check_layer(Linear(rand(4, 3), rand(3)), rand(5, 4))


def test_softmax_cross_entropy_gradient():
    z = rand(6, 4)
    y = RNG.integers(0, 4, 6)
    loss, grad, correct = softmax_cross_entropy(z, y)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), y])))
    np.testing.assert_allclose(grad, numgrad(lambda: softmax_cross_entropy(z, y)[0], z),
                               atol=1e-8)
    assert (correct == (z.argmax(1) == y)).all()


@pytest.mark.parametrize("ndim", [1, 2])
def test_whole_network_gradient(ndim):
    arch = NB201.from_string("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|"
                             "+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|")
    net = Network(arch, C=2, N=1, in_channels=1, n_classes=3, ndim=ndim, seed=1,
                  dtype=np.float64)
    shape = (8, 4, 1) if ndim == 1 else (4, 4, 4, 1)
    x = rand(*shape)
    y = np.array([0, 1, 2, 1])

    def loss():
        return softmax_cross_entropy(net.forward(x, True), y)[0]

    _, g, _ = softmax_cross_entropy(net.forward(x, True), y)
    net.backward(g)
    params = net.parameters()
    analytic = [gr.copy() for _, gr in params]
    for (p, _), ga in zip(params, analytic):
        np.testing.assert_allclose(ga, numgrad(loss, p), atol=1e-6, rtol=1e-4)
