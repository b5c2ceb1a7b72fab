"""Method-level tests of REINFORCE, local search, BANANAS and the Optuna adapter, driven by
hand-made observations on toy landscapes (no table needed)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import NB201
from nasbench_lab.strategies import SearchContext, get_strategy, parse_params
from nasbench_lab.strategies.base import Observation
from nasbench_lab.strategies.bananas import Bananas
from nasbench_lab.strategies.local_search import LocalSearch
from nasbench_lab.strategies.proxy_asks import ProxyAsk, ProxyObservation
from nasbench_lab.strategies.reinforce import Reinforce
from nasbench_lab.testing import TINY

CTX = SearchContext(space=NB201, fidelities=(12,))


def obs(arch, v, t=0.0):
    return Observation(arch, 12, v, float("nan"), float("nan"), float("nan"), 1.0, t)


def separable(arch) -> float:
    """Best cell: option 3 on every edge; each edge contributes independently."""
    w = np.array([0.0, 1.0, 2.0, 4.0, 0.5])
    return 50.0 + float(w[list(arch.choices)].sum())


def drive(strat, f, n):
    best = -np.inf
    for _ in range(n):
        a = strat.ask()
        if a is None:
            break
        v = f(a.arch)
        best = max(best, v)
        strat.tell(a, obs(a.arch, v))
    return best


# ----------------------------------------------------------------------------- REINFORCE

def test_reinforce_policy_gradient_matches_finite_differences():
    r = Reinforce(CTX, np.random.default_rng(0), init_std=0.5)
    choices = (1, 2, 3, 0, 4, 2)

    def logp():
        p = r.probabilities()
        return float(np.log(p[np.arange(6), choices]).sum())

    # gradient of -log p(a) * advantage is (softmax - onehot) * advantage; check log p part
    analytic = -(r.probabilities() - np.eye(5)[list(choices)])
    num = np.zeros_like(r.logits)
    for i in range(6):
        for j in range(5):
            old = r.logits[i, j]
            r.logits[i, j] = old + 1e-6
            fp = logp()
            r.logits[i, j] = old - 1e-6
            fm = logp()
            r.logits[i, j] = old
            num[i, j] = (fp - fm) / 2e-6
    np.testing.assert_allclose(analytic, num, rtol=1e-5, atol=1e-8)


def test_reinforce_baseline_is_a_bias_corrected_moving_average():
    r = Reinforce(CTX, np.random.default_rng(0))
    a = NB201.sample(np.random.default_rng(1))
    r.tell(type("A", (), {"arch": a})(), obs(a, 80.0))
    assert r.baseline() == pytest.approx(80.0)  # not 8.0: bias-corrected as in NAS-Bench-201
    r.tell(type("A", (), {"arch": a})(), obs(a, 90.0))
    assert r.baseline() == pytest.approx((0.9 * 0.1 * 80 + 0.1 * 90) / (0.9 * 0.1 + 0.1))


def test_reinforce_learns_a_separable_landscape():
    r = Reinforce(CTX, np.random.default_rng(2), learning_rate=0.05)
    drive(r, separable, 400)
    assert np.all(r.probabilities().argmax(1) == 3)


def test_reinforce_nan_reward_and_dedup_reuses_cached_rewards():
    r = Reinforce(CTX, np.random.default_rng(3), dedup=True)
    seen = set()
    for _ in range(100):
        a = r.ask()
        k = NB201.canonical_key(a.arch)
        assert k not in seen
        seen.add(k)
        r.tell(a, obs(a.arch, float("nan") if len(seen) % 7 == 0 else separable(a.arch)))
    assert np.all(np.isfinite(r.logits)) and len(r.rewards) == 100
    assert r._adam["t"] > 100  # cached rewards of resampled known cells drove extra updates


def test_reinforce_rejects_bad_parameters():
    with pytest.raises(NasbenchError, match="learning_rate"):
        Reinforce(CTX, np.random.default_rng(0), learning_rate=0.0)
    assert parse_params(Reinforce, ["learning_rate=0.001", "dedup=true"]) == {"learning_rate": 0.001,
                                                                              "dedup": True}


# ----------------------------------------------------------------------------- local search

@pytest.mark.parametrize("variant", ["first", "best"])
def test_local_search_climbs_to_the_optimum_of_a_separable_landscape(variant):
    ls = LocalSearch(CTX, np.random.default_rng(4), variant=variant)
    best = drive(ls, separable, 250)
    assert best == separable(NB201.make([3] * 6))


def test_local_search_restarts_at_a_local_optimum_and_never_repeats_a_key():
    ls = LocalSearch(CTX, np.random.default_rng(5), init_samples=2)
    keys = []
    # a needle: every cell scores the same, so each climb ends after one sweep of neighbours
    for _ in range(200):
        a = ls.ask()
        keys.append(NB201.canonical_key(a.arch))
        ls.tell(a, obs(a.arch, 50.0))
    assert len(set(keys)) == len(keys)
    assert ls.restarts >= 2


def test_local_search_exhausts_a_tiny_space_and_stops():
    ctx = SearchContext(space=TINY, fidelities=(1,))
    ls = LocalSearch(ctx, np.random.default_rng(6), init_samples=1)
    n = 0
    while (a := ls.ask()) is not None:
        ls.tell(a, Observation(a.arch, 1, float(sum(a.arch.choices)), 0.0, 0.0, 0.0, 1.0, 0.0))
        n += 1
    assert n == len({TINY.canonical_key(a) for a in TINY.all_archs()}) == 6


def test_local_search_rejects_unknown_variant():
    with pytest.raises(NasbenchError, match="variant"):
        LocalSearch(CTX, np.random.default_rng(0), variant="steepest")


# ----------------------------------------------------------------------------- BANANAS

@pytest.mark.parametrize("acquisition", ["its", "ucb"])
def test_bananas_beats_random_on_a_separable_landscape(acquisition):
    b = Bananas(CTX, np.random.default_rng(7), acquisition=acquisition, fit_steps=100)
    best = drive(b, separable, 60)
    rs = max(separable(NB201.sample(np.random.default_rng(8))) for _ in range(60))
    assert best >= rs and b.fits >= 4
    assert best >= separable(NB201.make([3] * 6)) - 2.0


def test_bananas_queue_holds_only_unseen_keys():
    b = Bananas(CTX, np.random.default_rng(9), num_init=5, batch=5, fit_steps=20)
    keys = []
    for _ in range(40):
        a = b.ask()
        keys.append(NB201.canonical_key(a.arch))
        b.tell(a, obs(a.arch, float("nan") if len(keys) % 5 == 0 else separable(a.arch)))
    assert len(set(keys)) == 40
    assert len(b.y) == 32  # NaN observations stay out of the predictor's data


def test_bananas_falls_back_to_onehot_without_a_path_encoding():
    b = Bananas(SearchContext(space=TINY, fidelities=(1,)), np.random.default_rng(0))
    assert b._enc(TINY.make([1, 0, 1])).shape == (6,)


# ----------------------------------------------------------------------------- Optuna adapter

optuna = pytest.importorskip("optuna")


@pytest.mark.parametrize("sampler", ["tpe", "random", "nsga2", "qmc", "bruteforce"])
def test_optuna_samplers_run_and_deduplicate(sampler):
    cls = get_strategy("optuna")
    s = cls(CTX, np.random.default_rng(10), sampler=sampler)
    keys = []
    for i in range(30):
        a = s.ask()
        keys.append(NB201.canonical_key(a.arch))
        s.tell(a, obs(a.arch, float("nan") if i == 3 else separable(a.arch)))
    assert len(set(keys)) == 30
    states = [t.state.name for t in s.study.trials]
    assert "FAIL" in states and states.count("COMPLETE") >= 29


def test_optuna_tpe_improves_on_random():
    cls = get_strategy("optuna")
    best_tpe = np.mean([drive(cls(CTX, np.random.default_rng(s)), separable, 60) for s in range(3)])
    best_rs = np.mean([drive(cls(CTX, np.random.default_rng(s), sampler="random"), separable, 60)
                       for s in range(3)])
    assert best_tpe >= best_rs


def test_optuna_accepts_a_sampler_factory_and_rejects_unknown_names():
    cls = get_strategy("optuna")
    s = cls(CTX, np.random.default_rng(0), sampler=lambda seed: optuna.samplers.RandomSampler(seed=seed))
    assert isinstance(s.study.sampler, optuna.samplers.RandomSampler)
    with pytest.raises(NasbenchError, match="unknown sampler 'cmaes'"):
        cls(CTX, np.random.default_rng(0), sampler="cmaes")


def test_registry_skips_the_optuna_adapter_without_optuna():
    code = ("import sys; sys.modules['optuna'] = None\n"
            "from nasbench_lab.strategies import strategy_names\n"
            "names = strategy_names(); assert 'optuna' not in names and 'rea' in names, names\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# ----------------------------------------------------------------------------- mixed spaces

from nasbench_lab.spaces import Arch, SearchSpace, SpaceError  # noqa: E402
from nasbench_lab.strategies import strategy_names  # noqa: E402


class MixedSpace(SearchSpace):
    """Decisions with 2, 3, 2, 3 options (like NB101's binary edges and 3 ops) and invalid
    cells (decisions 0 and 2 both 0), sampled and mutated into valid cells only."""

    name = "mixed-test"
    n_decisions = 4
    n_options = 3
    option_counts = (2, 3, 2, 3)

    def make(self, choices):
        a = super().make(choices)
        if any(c >= k for c, k in zip(a.choices, self.option_counts)):
            raise SpaceError(f"mixed: choice out of range in {a.choices}")
        return a

    def is_valid(self, arch):
        return not (arch.choices[0] == 0 and arch.choices[2] == 0)

    @property
    def size(self):
        return int(np.prod(self.option_counts))

    def to_index(self, arch):
        i = 0
        for c, k in zip(reversed(arch.choices), reversed(self.option_counts)):
            i = i * k + c
        return i

    def from_index(self, index):
        ch = []
        for k in self.option_counts:
            ch.append(index % k)
            index //= k
        return Arch(self.name, tuple(ch))

    def to_string(self, arch):
        return "".join(map(str, arch.choices))

    def canonical_key(self, arch):
        return self.to_string(arch)

    def sample(self, rng):
        while True:
            a = Arch(self.name, tuple(int(rng.integers(k)) for k in self.option_counts))
            if self.is_valid(a):
                return a

    def mutate(self, arch, rng):
        while True:
            i = int(rng.integers(self.n_decisions))
            new = int(rng.integers(self.option_counts[i] - 1))
            new += new >= arch.choices[i]
            ch = list(arch.choices)
            ch[i] = new
            a = Arch(self.name, tuple(ch))
            if self.is_valid(a):
                return a

    def neighbours(self, arch):
        out = []
        for i, k in enumerate(self.option_counts):
            for o in range(k):
                if o != arch.choices[i]:
                    ch = list(arch.choices)
                    ch[i] = o
                    a = Arch(self.name, tuple(ch))
                    if self.is_valid(a):
                        out.append(a)
        return out


@pytest.mark.parametrize("name", strategy_names())
def test_strategies_respect_per_decision_options_and_invalid_cells(name):
    space = MixedSpace()
    cls = get_strategy(name)
    params = {"num_init": 4, "batch": 3} if name in ("bananas", "gradient_surrogate", "proxy_bananas") else {}
    s = cls(SearchContext(space=space, fidelities=(1,)), np.random.default_rng(0), **params)
    n_valid = sum(space.is_valid(space.from_index(i)) for i in range(space.size))
    keys = []
    for _ in range(2000 if name.startswith("proxy_") else 40):
        a = s.ask()
        if a is None:
            break
        space.make(a.arch.choices)
        assert space.is_valid(a.arch), a.arch
        if isinstance(a, ProxyAsk):  # answered like the runner does: no training, not a key paid for
            s.tell(a, ProxyObservation(a.arch, a.proxy, float(a.arch.choices[0]), 0.0, 0.0))
            continue
        if len(keys) == 40:
            break
        keys.append(a.arch.choices)
        s.tell(a, Observation(a.arch, 1, float(sum(a.arch.choices)), 0.0, 0.0, 0.0, 1.0, 0.0))
    if getattr(cls, "deduplicates", False):
        assert len(keys) == len(set(keys)) == n_valid
