"""The on-disk layout of a nasbench_lab table (HDF5). See datasets/README.md.

/                         attrs: format="nasbench_lab-table", schema_version, name, space,
                                 dataset, n_archs, provenance (JSON), software_version,
                                 created, content_hash
/static/<metric>          [n_archs] float64: params, flops, latency_ms (NaN: unknown)
/schedules/<name>/        attrs: epochs (length of the schedule), recorded_epochs (1-based
                                 epochs stored on the epoch axis), seeds (labels, JSON list),
                                 protocol (JSON)
    <metric>              [n_archs, n_seeds, n_recorded] float32, see METRICS
    present               [n_archs, n_seeds] bool: this (arch, seed) was trained; missing
                          seeds are False and their metrics NaN, never filled in
    built_on              optional, built tables: [n_archs, n_seeds] int16 index into the
                          group's attr `machines` (JSON list of CPU/BLAS/numpy descriptions)
                          of the machine that trained the entry; -1 not trained/recorded
    time_scale            optional, tables built on several machines: [n_archs, n_seeds]
                          float32 > 0, the factor `Table.array` applies to the entry's
                          train/valid/test times (tables/calibration.py; the fit in the
                          group's attr `time_calibration`); the times are stored as measured
/proxies/                 optional (schema 2): zero-cost proxies per [arch, init seed], their
                          CPU seconds, and their own hash (tables/proxy_store.py)

Schema 2 only added the optional proxies group: a schema-1 file reads as a schema-2 file
without proxies (`READABLE_SCHEMA_VERSIONS`); writing proxies into it migrates it.
"""
from __future__ import annotations

FORMAT = "nasbench_lab-table"
SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS = (1, 2)
PROXY_GROUP = "proxies"

# per-epoch metrics; accuracies in percent, times in seconds
METRICS = (
    "train_acc", "train_loss", "valid_acc", "valid_loss", "test_acc", "test_loss",
    "train_time",   # cumulative training seconds from the start up to the end of this epoch
    "valid_time",   # seconds of one pass over the validation split at this epoch
    "test_time",    # seconds of one pass over the test split at this epoch
)
REQUIRED_METRICS = ("valid_acc",)
STATIC_METRICS = ("params", "flops", "latency_ms")
# metrics a strategy may see (the runner hands only these to strategies)
SEARCH_METRICS = ("train_acc", "train_loss", "valid_acc", "valid_loss")
NOT_RECORDED = "not recorded"  # entries trained before the build recorded machines
MAX_MACHINE_TEXT = 500  # a machine description (build.machine_description) is about 80 characters


def is_machine_text(text) -> bool:
    """A machine description as a table or a build journal may hold: one printable line of
    1..MAX_MACHINE_TEXT characters (it is printed as one line by info and reproduce_entries)."""
    return isinstance(text, str) and bool(text.strip()) and len(text) <= MAX_MACHINE_TEXT and text.isprintable()
