import os
from pathlib import Path

import pytest

SHARED_NB201 = Path(__file__).resolve().parent.parent.parent / "shared" / "nb201"


@pytest.fixture(scope="session")
def synthetic_table_path(tmp_path_factory):
    from nasbench_lab.tables.synthetic import make_synthetic_table

    return make_synthetic_table(tmp_path_factory.mktemp("tables") / "synthetic.h5", seed=0)


@pytest.fixture(scope="session")
def synthetic_table(synthetic_table_path):
    from nasbench_lab.tables import Table

    return Table(synthetic_table_path)


@pytest.fixture(scope="session")
def nb201_dir():
    if not (SHARED_NB201 / "nb201_12ep.csv").is_file():
        pytest.skip(f"real NAS-Bench-201 data not found at {SHARED_NB201} (only in the developers' "
                    "checkout: ../shared/nb201)")
    return SHARED_NB201


@pytest.fixture(scope="session")
def nb201_table_path():
    """The shipped NAS-Bench-201 cifar10-valid table (converted from ../shared/nb201)."""
    from nasbench_lab.tables import builtin_tables

    return builtin_tables()["nb201-cifar10-valid"]


@pytest.fixture(scope="session")
def nb201_table(nb201_table_path):
    from nasbench_lab.tables import Table

    return Table(nb201_table_path)
