"""One-shot methods: the architecture gradients they use (float64 numerical checks),
reproducibility, derivation and errors. Tiny protocol: a few steps on a few samples."""
import numpy as np
import pytest

from gradcheck import numerical_gradient as numgrad
from nasbench_lab import NasbenchError
from nasbench_lab.live.layers import softmax_cross_entropy
from nasbench_lab.live.protocol import Protocol
from nasbench_lab.live.supernet import Supernet, one_hot, softmax
from nasbench_lab.live.trainer import SGD
from nasbench_lab.spaces import NB201
from nasbench_lab.strategies.oneshot import METHODS, get_method, run_oneshot
from nasbench_lab.strategies.oneshot.base import Adam, derive_argmax

TINY = Protocol(name="tiny-oneshot", n_train=128, n_valid=50, n_test=50, channels=2, epochs=1,
                batch_size=32, lr=0.05, latency_repeats=1)
FAST = dict(epochs=1, batch_size=32)


def _float64(method):
    """Swap a method's supernet for a float64 one (for numerical checks)."""
    net = Supernet(C=2, N=1, in_channels=1, n_classes=10, ndim=1, seed=3, dtype=np.float64)
    method.net = net
    method.P, method.G = net.flatten()
    method.w_opt = SGD(method.P, method.G, 0.9, 5e-4)
    return method


def _batches(m, n=8):
    w = (m.xw[..., :n, :].astype(np.float64), m.yw[:n])
    a = (m.xa[..., :n, :].astype(np.float64), m.ya[:n])
    return w, a


def test_darts_second_order_hypergradient():
    m = _float64(get_method("darts-v2")(TINY, seed=0, **FAST))
    wb, ab = _batches(m)
    m.alpha[...] = np.random.default_rng(1).standard_normal((6, 5))
    m.w_opt.first = False
    m.w_opt.buf[...] = np.random.default_rng(2).standard_normal(m.P.size) * 0.1
    m.params["unroll_r"] = 1e-7  # below the ReLU-kink scale of this tiny net
    xi, wd, mom = m.lr(), m.w_opt.wd, m.w_opt.momentum * m.w_opt.buf
    w0 = m.P.copy()
    got = m.arch_gradient(wb, ab)
    np.testing.assert_array_equal(m.P, w0)  # weights restored

    def unrolled_val_loss():
        m.P[...] = w0
        m.loss_grad(*wb, softmax(m.alpha))
        m.P[...] = w0 - xi * (m.G + wd * w0 + mom)
        loss = softmax_cross_entropy(m.net.forward(ab[0], softmax(m.alpha)), ab[1])[0]
        m.P[...] = w0
        return loss

    ref = numgrad(unrolled_val_loss, m.alpha)
    np.testing.assert_allclose(got, ref, atol=1e-6, rtol=1e-3)
    m.order = 1
    first = m.arch_gradient(wb, ab)
    assert np.abs(got - first).max() > 1e-6  # the second-order term is not negligible here


def test_gdas_straight_through_gradient():
    """With the Gumbel sample fixed, GDAS's alpha gradient is the derivative of the loss at
    weights one_hot + probs(alpha) - probs(alpha_0) (straight-through), one path per edge."""
    m = _float64(get_method("gdas")(TINY, seed=0, **FAST))
    _, ab = _batches(m)
    m.alpha[...] = np.random.default_rng(4).standard_normal((6, 5))
    tau = 0.7
    state = m.rng.bit_generator.state
    hard, idx, probs = m.sample(tau)
    _, dw, _ = m.loss_grad(*ab, hard, idx)
    from nasbench_lab.live.supernet import softmax_backward
    dz = softmax_backward(probs, dw, tau)
    dalpha = dz - softmax(m.alpha) * dz.sum(1, keepdims=True)
    p0 = probs.copy()

    def loss():
        m.rng.bit_generator.state = state
        _, _, p = m.sample(tau)
        return softmax_cross_entropy(m.net.forward(ab[0], hard + p - p0, idx), ab[1])[0]

    np.testing.assert_allclose(dalpha, numgrad(loss, m.alpha), atol=1e-7, rtol=1e-4)
    assert (hard.sum(1) == 1).all() and tuple(hard.argmax(1)) == idx


def test_adam_matches_torch_formula():
    p = np.array([1.0, -2.0])
    opt = Adam(p, lr=0.1, betas=(0.5, 0.999), weight_decay=0.01)
    ref, m, v = np.array([1.0, -2.0]), 0.0, 0.0
    for t, g in enumerate([np.array([0.3, -0.1]), np.array([0.2, 0.4])], start=1):
        opt.step(g)
        g = g + 0.01 * ref
        m = 0.5 * m + 0.5 * g
        v = 0.999 * v + 0.001 * g * g
        ref = ref - 0.1 * (m / (1 - 0.5 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(p, ref)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_methods_are_seeded_and_reproducible(name):
    kw = dict(FAST, select_num=3) if name in ("rsps", "setn") else dict(FAST)
    a = run_oneshot(name, TINY, seed=5, **kw)
    b = run_oneshot(name, TINY, seed=5, **kw)
    c = run_oneshot(name, TINY, seed=6, **kw)
    assert a.arch == b.arch and a.train_loss == b.train_loss and a.alpha == b.alpha
    assert a.train_loss != c.train_loss
    NB201.from_string(a.arch)
    assert a.search_seconds > 0 and a.search_seconds == pytest.approx(a.train_seconds + a.select_seconds)
    assert len(a.seconds) == len(a.train_loss) == 1
    if METHODS[name].has_alpha:
        assert np.array(a.alpha).shape == (2, 6, 5)
        assert a.derived[-1] == a.arch or name == "setn"
    d = a.to_dict()
    assert type(a).from_dict(d) == a


def test_derivation_rules():
    alpha = np.zeros((6, 5))
    alpha[:, 0] = 1.0
    alpha[:, 3] = 0.5
    assert derive_argmax(alpha) == (0,) * 6  # NB201's genotype(): none may win
    assert derive_argmax(alpha, exclude_none=True) == (3,) * 6
    m = get_method("setn")(TINY, seed=0, **FAST)
    m.alpha[...] = np.log(one_hot((1, 2, 3, 4, 0, 1)) + 0.1)
    top = m.top_k(3)
    assert tuple(top[0]) == (1, 2, 3, 4, 0, 1) and len({tuple(t) for t in top}) == 3


def test_errors_are_one_line():
    with pytest.raises(NasbenchError, match="unknown one-shot method"):
        get_method("enas2")
    with pytest.raises(NasbenchError, match="no parameter"):
        get_method("gdas")(TINY, seed=0, temperature=3)
    with pytest.raises(NasbenchError, match="exceeds half"):
        get_method("darts-v1")(TINY, seed=0, batch_size=100)


def test_cli_oneshot_stores_scores_and_resumes(tmp_path, capsys):
    import json

    from nasbench_lab.cli import main
    from nasbench_lab.results import ResultStore
    from nasbench_lab.tables.table import open_table

    out = tmp_path / "os"
    argv = ["oneshot", "gdas,rsps", "--table", "nb201-mnist1d", "--runs", "2", "--seed", "3",
            "--param", "epochs=2", "--param", "rsps:select_num=2", "--out", str(out), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["new_runs"] == 4
    store = ResultStore(out)
    table = open_table("nb201-mnist1d")
    for m in ("gdas", "rsps"):
        recs = store.load("nb201-mnist1d", m)
        assert len(recs) == 2
        for r in recs:
            res = r.meta["oneshot"]
            idx = table.index_of(NB201.from_string(res["arch"]))
            # the cost: the search's CPU seconds on the table's time scale (oneshot/clock.py)
            factor = r.meta["time_factor"]["factor"]
            assert r.meta["search_cpu_seconds"] == res["search_seconds"] and 0.05 < factor < 20
            assert r.final["arch"] == idx and r.final["time"] == pytest.approx(res["search_seconds"] * factor)
            assert r.final["test"] == pytest.approx(float(table.lookup("test_acc", [idx])[0]))
    assert first["methods"]["gdas"]["per_epoch"]["param_free_share"]
    assert len(first["time_factors"]) == 1 and first["time_factors"][0]  # one process, one basis
    assert (out / "oneshot-alpha-gdas.png").is_file() and (out / "oneshot-collapse.png").is_file()
    assert main(argv) == 0  # resumed: nothing new, same numbers
    again = json.loads(capsys.readouterr().out)
    assert again["new_runs"] == 0 and again["methods"]["gdas"]["test_mean"] == first["methods"]["gdas"]["test_mean"]


def test_cli_oneshot_errors(tmp_path, capsys, synthetic_table_path):
    from nasbench_lab.cli import main

    base = ["--runs", "1", "--out", str(tmp_path / "x")]
    for argv, msg in ((["oneshot", "enas9", "--table", "nb201-mnist1d"], "unknown one-shot method"),
                      (["oneshot", "gdas", "--table", str(synthetic_table_path)], "not built by the live backend"),
                      (["oneshot", "gdas", "--table", "nb201-mnist1d", "--baseline", "random"], "needs --budget-seconds"),
                      (["oneshot", "gdas", "--table", "nb201-mnist1d", "--param", "tau=3"], "no parameter")):
        assert main(argv + base) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_oneshot_in_processes_matches_direct_runs(tmp_path, capsys):
    import json

    from nasbench_lab.cli import main
    from nasbench_lab.live.protocol import BUILTIN_PROTOCOL
    from nasbench_lab.results import ResultStore
    from nasbench_lab.strategies.oneshot.cli import search_seed

    out = tmp_path / "par"
    assert main(["oneshot", "gdas", "--table", "nb201-mnist1d", "--runs", "2", "--seed", "1",
                 "--param", "epochs=1", "--workers", "2", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["new_runs"] == 2
    recs = sorted(ResultStore(out).load("nb201-mnist1d", "gdas"), key=lambda r: r.meta["run"])
    for r in recs:
        direct = run_oneshot("gdas", BUILTIN_PROTOCOL, search_seed(1, r.meta["run"]), epochs=1)
        assert r.meta["oneshot"]["arch"] == direct.arch
        assert r.meta["oneshot"]["alpha"] == direct.alpha


def test_cli_oneshot_on_dask_matches_direct_runs(tmp_path, capsys):
    import json

    from nasbench_lab.cli import main
    from nasbench_lab.live.protocol import BUILTIN_PROTOCOL
    from nasbench_lab.results import ResultStore
    from nasbench_lab.strategies.oneshot.cli import search_seed

    distributed = pytest.importorskip("dask.distributed")
    argv = ["oneshot", "gdas", "--table", "nb201-mnist1d", "--runs", "2", "--seed", "1", "--param", "epochs=1"]
    assert main(argv + ["--dask-scheduler", "nohost", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "not an address" in err and len(err.strip().splitlines()) == 1
    out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert main(argv + ["--dask-scheduler", cluster.scheduler_address, "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["new_runs"] == 2
    recs = sorted(ResultStore(out).load("nb201-mnist1d", "gdas"), key=lambda r: r.meta["run"])
    assert [r.meta["run"] for r in recs] == [0, 1]
    for r in recs:
        direct = run_oneshot("gdas", BUILTIN_PROTOCOL, search_seed(1, r.meta["run"]), epochs=1)
        assert r.meta["oneshot"]["arch"] == direct.arch and r.meta["oneshot"]["alpha"] == direct.alpha
