"""Each zero-cost proxy against hand-computed values and float64 finite differences on a tiny network."""
import numpy as np
import pytest

from gradcheck import numerical_gradient
from nasbench_lab.live.layers import softmax_cross_entropy
from nasbench_lab.live.network import Network
from nasbench_lab.proxies import probes, scores
from nasbench_lab.proxies.hvp import hvp
from nasbench_lab.proxies.scores import Batch
from nasbench_lab.spaces import NB201

ARCH = NB201.from_string("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|"
                         "nor_conv_3x3~2|")


def make_net(arch=ARCH, seed=0):
    return Network(arch, C=2, N=1, in_channels=1, n_classes=3, ndim=1, seed=seed, dtype=np.float64)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(1)
    return Batch(rng.normal(size=(4, 3, 1)), np.array([0, 2, 1]))


def loss(net, b):
    return softmax_cross_entropy(net.forward(b.x, train=True), b.y)[0]


def fd_weight_grads(net, f):
    return [numerical_gradient(f, w) for w in probes.weights(net)]


# --- the formulas, by hand ----------------------------------------------------------------------
def test_naswot_kernel_by_hand():
    codes = np.array([[1, 0, 1], [1, 1, 0]])
    K = scores.naswot_kernel([(codes, 1)])  # agree on 1 of 3 units
    assert np.array_equal(K, [[3, 1], [1, 3]])
    assert scores.naswot_from_kernel(K) == pytest.approx(np.log(8))
    K2 = scores.naswot_kernel([(codes, 2), (np.array([[1], [1]]), 1)])  # [[6,2],[2,6]] + ones
    assert np.array_equal(K2, [[7, 3], [3, 7]]) and scores.naswot_from_kernel(K2) == pytest.approx(np.log(40))
    assert scores.naswot_from_kernel(np.ones((2, 2))) == -np.inf


def test_jacob_cov_by_hand():
    J = np.array([[1.0, 2, 3], [3, 2, 1]])  # correlation -1: eigenvalues 0 and 2
    k = 1e-5
    want = -(np.log(k) + 1 / k + np.log(2 + k) + 1 / (2 + k))
    assert scores.jacob_cov_from_jacobian(J) == pytest.approx(want)
    assert np.isnan(scores.jacob_cov_from_jacobian(np.zeros((2, 3))))


def test_fisher_by_hand():
    g = np.array([[1.0, 2.0], [3.0, 4.0]])  # channel means of squares: 5, 10
    assert scores.fisher_from_terms([g, 2 * g]) == pytest.approx(0.5 * 15 + 0.5 * 60)


# --- the Hessian-vector product --------------------------------------------------------------------
def test_hvp_of_a_quadratic_is_exact():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    A = A + A.T
    x = [rng.normal(size=5)]
    v = [rng.normal(size=5)]
    out = hvp(lambda: [A @ x[0]], x, v)
    np.testing.assert_allclose(out[0], A @ v[0], rtol=1e-7, atol=1e-7)


def test_hvp_on_the_network_matches_second_differences(batch):
    net = make_net()
    ws = probes.weights(net)
    rng = np.random.default_rng(3)
    u = [rng.normal(size=w.shape) for w in ws]
    v = [rng.normal(size=w.shape) for w in ws]
    before = [w.copy() for w in ws]

    def grad():
        return probes.weight_gradient(net, batch.x, batch.y)
    Hv, Hu = hvp(grad, ws, v), hvp(grad, ws, u)
    assert all(np.array_equal(a, b) for a, b in zip(before, ws))  # restored exactly
    dot = lambda a, b: sum(float(np.vdot(x, y)) for x, y in zip(a, b))  # noqa: E731
    assert dot(u, Hv) == pytest.approx(dot(v, Hu), rel=1e-5)  # symmetric
    h = 1e-5  # v.Hv by the second difference of the loss itself (v has norm ~15)
    L = lambda t: (  # noqa: E731
        [np.copyto(w, b + t * d) for w, b, d in zip(ws, before, v)], loss(net, batch))[1]
    second = (L(h) - 2 * L(0) + L(-h)) / h ** 2
    [np.copyto(w, b) for w, b in zip(ws, before)]
    assert dot(v, Hv) == pytest.approx(second, rel=1e-4)


# --- each proxy on the tiny network ------------------------------------------------------------------
def test_snip_and_grad_norm_match_numerical_gradients(batch):
    net = make_net()
    g = fd_weight_grads(net, lambda: loss(net, batch))
    want_snip = sum(np.abs(w * gw).sum() for w, gw in zip(probes.weights(net), g))
    want_norm = sum(np.linalg.norm(gw) for gw in g)
    assert scores.snip(make_net, batch) == pytest.approx(want_snip, rel=1e-6)
    assert scores.grad_norm(make_net, batch) == pytest.approx(want_norm, rel=1e-6)


def test_grasp_matches_a_full_numerical_hessian(batch):
    net = make_net()
    ws = probes.weights(net)
    sizes = [w.size for w in ws]
    flat = lambda gs: np.concatenate([g.ravel() for g in gs])  # noqa: E731
    g0 = flat(probes.weight_gradient(net, batch.x, batch.y))
    n = g0.size
    H = np.zeros((n, n))
    eps = 1e-6
    offs = np.cumsum([0] + sizes)
    for i in range(n):  # column i: central difference of the analytic gradient
        li = np.searchsorted(offs, i, side="right") - 1
        w = ws[li].reshape(-1)
        old = w[i - offs[li]]
        w[i - offs[li]] = old + eps
        gp = flat(probes.weight_gradient(net, batch.x, batch.y))
        w[i - offs[li]] = old - eps
        gm = flat(probes.weight_gradient(net, batch.x, batch.y))
        w[i - offs[li]] = old
        H[:, i] = (gp - gm) / (2 * eps)
    H = (H + H.T) / 2
    want = -float(flat(ws) @ (H @ g0))
    assert scores.grasp(make_net, batch) == pytest.approx(want, rel=1e-4)


def test_fisher_matches_channel_scaling_derivatives(batch):
    """g_nk = d L / d t when sample n, channel k of a weight layer's output is scaled by (1 + t)."""
    net = make_net()
    terms = []
    for layer in probes.weight_layers(net):
        fwd = layer.forward
        probe = {"n": None, "k": None, "t": 0.0}

        def scaled(x, train=True, fwd=fwd, probe=probe):
            y = fwd(x, train).copy()
            if probe["n"] is not None:
                y[..., probe["n"], probe["k"]] *= 1 + probe["t"]
            return y
        layer.forward = scaled
        B = batch.x.shape[-2]
        C = layer.params["w"].shape[-1]
        g = np.zeros((B, C))
        for n in range(B):
            for k in range(C):
                probe.update(n=n, k=k)
                t = np.zeros(1)

                def f():
                    probe["t"] = float(t[0])
                    return loss(net, batch)
                g[n, k] = numerical_gradient(f, t)[0]
        probe["n"] = None
        layer.forward = fwd
        terms.append(g)
    assert scores.fisher(make_net, batch) == pytest.approx(scores.fisher_from_terms(terms), rel=1e-5)


def test_jacob_cov_matches_a_numerical_jacobian(batch):
    net = make_net()
    x = batch.x.copy()
    J = numerical_gradient(lambda: float(net.forward(x, train=True).sum()), x)  # (L, B, 1)
    want = scores.jacob_cov_from_jacobian(np.moveaxis(J, -2, 0))
    assert scores.jacob_cov(make_net, batch) == pytest.approx(want, rel=1e-6)


def test_synflow_matches_numerical_gradients_without_batchnorm(batch):
    net = probes.without_batchnorm(make_net())
    for p, _ in net.parameters():
        np.abs(p, out=p)
    ones = np.ones((4, 1, 1))
    g = fd_weight_grads(net, lambda: float(net.forward(ones, train=True).sum()))
    want = sum(np.abs(w * gw).sum() for w, gw in zip(probes.weights(net), g))
    assert scores.synflow(make_net, batch) == pytest.approx(want, rel=1e-6)
    # BN really is gone: the output scales with the input (positive weights, ReLUs pass everything)
    assert float(net.forward(2 * ones).sum()) > 1.5 * float(net.forward(ones).sum())


def test_naswot_matches_hamming_distances_with_nb201_relu_count(batch):
    arch = NB201.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|"
                             "nor_conv_3x3~1|nor_conv_3x3~2|")
    net = make_net(arch)
    relus = probes.relus_with_multiplicity(net)
    cell = net.blocks[0]
    n_convs = sum(1 for ins in cell.prog if ins[0] == "rcb")
    assert n_convs == 6 and sum(k for r, k in relus if r in cell.ops.values()) == 6  # one NB201 ReLU per op
    assert max(k for _, k in relus) == 3  # node 0 feeds three convolutions
    pre = {}
    for r, _ in relus:  # record each ReLU's input independently of its mask
        f = r.forward
        r.forward = lambda x, train=True, f=f, r=r: (pre.__setitem__(id(r), x.copy()), f(x, train))[1]
    net.forward(batch.x, train=True)
    B = batch.x.shape[-2]
    K = np.zeros((B, B))
    for r, mult in relus:
        c = np.moveaxis(pre[id(r)] > 0, -2, 0).reshape(B, -1)
        for i in range(B):
            for j in range(B):
                K[i, j] += mult * (c.shape[1] - np.count_nonzero(c[i] != c[j]))
    assert scores.naswot(lambda: make_net(arch), batch) == pytest.approx(np.linalg.slogdet(K)[1], rel=1e-12)


def test_proxies_are_deterministic_and_seed_dependent(batch):
    for name, fn in scores.PROXIES.items():
        a, b = fn(make_net, batch), fn(make_net, batch)
        assert a == b or (np.isnan(a) and np.isnan(b)), name
    assert scores.snip(make_net, batch) != scores.snip(lambda: make_net(seed=1), batch)
