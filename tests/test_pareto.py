"""Pareto fronts and exact hypervolume (nasbench_lab.pareto) against brute force and Optuna's WFG."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from nasbench_lab.pareto import hypervolume, hypervolume_brute_force, nondominated_mask, pareto_front


def _naive_mask(p):
    return np.array([not any(np.all(p[j] <= p[i]) and np.any(p[j] < p[i]) for j in range(len(p)))
                     for i in range(len(p))], dtype=bool)


def _points(max_d=3, max_n=9):
    # small integer grid coordinates: many ties and duplicates, the hard cases
    return hs.integers(1, max_d).flatmap(lambda d: hs.lists(
        hs.lists(hs.integers(0, 5), min_size=d, max_size=d), min_size=0, max_size=max_n).map(
            lambda rows: np.array(rows, dtype=float).reshape(-1, d)))


@settings(max_examples=150, deadline=None)
@given(_points())
def test_nondominated_mask_matches_the_definition(p):
    assert nondominated_mask(p).tolist() == _naive_mask(p).tolist()


@settings(max_examples=150, deadline=None)
@given(_points(), hs.integers(4, 7))
def test_hypervolume_matches_brute_force(p, r):
    ref = np.full(p.shape[1], float(r))
    assert hypervolume(p, ref) == pytest.approx(hypervolume_brute_force(p, ref), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(hs.integers(2, 3), hs.integers(1, 30), hs.integers(0, 2 ** 31 - 1))
def test_hypervolume_matches_optuna_on_random_sets(d, n, seed):
    wfg = pytest.importorskip("optuna._hypervolume").compute_hypervolume
    p = np.random.default_rng(seed).random((n, d))
    ref = np.full(d, 1.1)
    assert hypervolume(p, ref) == pytest.approx(wfg(p[nondominated_mask(p)], ref), rel=1e-12, abs=1e-12)


def test_hypervolume_known_values_and_edge_cases():
    assert hypervolume([[0.0, 0.0]], [1.0, 1.0]) == 1.0
    assert hypervolume([[0.5, 0.0], [0.0, 0.5]], [1.0, 1.0]) == pytest.approx(0.75)
    assert hypervolume([[0.5, 0.5, 0.5]], [1.0, 1.0, 1.0]) == pytest.approx(0.125)
    assert hypervolume(np.zeros((0, 2)), [1.0, 1.0]) == 0.0
    assert hypervolume([[1.0, 0.0]], [1.0, 1.0]) == 0.0            # on the reference: nothing
    assert hypervolume([[np.inf, 0.0], [np.nan, 0.0]], [1.0, 1.0]) == 0.0
    assert hypervolume([[0.2]], [1.0]) == pytest.approx(0.8)
    # a dominated point adds nothing
    assert hypervolume([[0.2, 0.2], [0.5, 0.5]], [1, 1]) == hypervolume([[0.2, 0.2]], [1, 1])


def test_pareto_front_is_unique_sorted_and_non_dominated():
    p = np.array([[3, 1], [1, 3], [2, 2], [2, 2], [3, 3], [np.inf, 0]], dtype=float)
    assert pareto_front(p).tolist() == [[1, 3], [2, 2], [3, 1]]
    assert nondominated_mask(p).tolist() == [True, True, True, True, False, False]
