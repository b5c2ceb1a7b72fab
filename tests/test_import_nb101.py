"""NAS-Bench-101 import: TFRecord framing and CRC32C, the protobuf decoder, fixtures written
record by record as nasbench's reader (google-research/nasbench nasbench/api.py) expects
them, a cell with a hash published from the real data, values, missing repeats, damage."""
from __future__ import annotations

import struct
import time

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.spaces.nb101 import NB101, OPS, spec_hash
from nasbench_lab.tables.import_nb101 import (crc32c, decode_fields, decode_model_metrics, encode_fields,
                                              encode_model_metrics, encode_record, import_nb101,
                                              masked_crc, open_nb101_table, read_tfrecords,
                                              write_tfrecords)

C3, C1, MP = OPS
IN, OUT = "input", "output"
# The Inception-like cell of nasbench's README/colab, as the API builds it for a query, and as
# the dataset stores it (module_adjacency/module_operations printed in NASBench.ipynb; the
# file keeps the first isomorph generate_graphs.py met), with the values the colab printed.
INCEPTION_QUERY = ([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                    [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
                   [IN, C1, C3, C3, C3, MP, OUT])
INCEPTION_STORED = ([[0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                     [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
                    [IN, C3, C1, MP, C3, C3, OUT])
INCEPTION_COLAB = {"trainable_parameters": 2694282, "training_time": 1155.85302734375, "train_accuracy": 1.0,
                   "validation_accuracy": 0.9376001358032227, "test_accuracy": 0.9311898946762085}
# A cell of the real data with its hash, from NASLib's tests/test_nb101_search_space.py
# (FIXED_ARCH / HASHSPEC, read there from a NAS-Bench-101 extract): the adjacency rows and ops.
PUBLISHED = ([[0, 1, 1, 0, 1, 1, 0], [0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0],
              [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
             [IN, MP, C3, C1, C1, C3, OUT])
PUBLISHED_HASH = "ff940d27cbe9ed0a639a68a9c3f87283"
CELLS = [
    INCEPTION_STORED,
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [IN, C3, OUT]),
    ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [IN, MP, OUT]),
    ([[0, 1], [0, 0]], [IN, OUT]),
    ([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], [IN, C3, C1, MP, OUT]),
]


def _evals(c, r, budget):
    base = 0.5 + 0.05 * c + 0.01 * r
    return [{"current_epoch": 0.0, "training_time": 0.0, "train_accuracy": 0.1, "validation_accuracy": 0.1,
             "test_accuracy": 0.1},
            {"current_epoch": budget / 2, "training_time": 100.0 * (c + 1) + r, "train_accuracy": base,
             "validation_accuracy": base - 0.02, "test_accuracy": base - 0.03, "checkpoint_path": "/x/ckpt-1"},
            {"current_epoch": float(budget), "training_time": 200.0 * (c + 1) + r, "train_accuracy": base + 0.2,
             "validation_accuracy": base + 0.18, "test_accuracy": base + 0.17,
             "checkpoint_path": "gs://bucket/model.ckpt-12345"}]


def records(budgets=(108,), skip=((1, 108, 2),), bad_hash_cell=None):
    out = []
    for budget in budgets:
        for r in range(3):
            for c, (m, ops) in enumerate(CELLS):
                if (c, budget, r) in skip:
                    continue
                h = spec_hash(m, ops)
                if c == bad_hash_cell:
                    h = "0" * 32
                out.append(encode_record(h, budget, m, ops,
                                         encode_model_metrics(_evals(c, r, budget), 1000 * (c + 1), 1.0)))
    return out


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("nb101")
    write_tfrecords(d / "nasbench_only108.tfrecord", records())
    lines = []
    (p,) = import_nb101(d / "nasbench_only108.tfrecord", d / "nb101.h5", log=lines.append, progress=False)
    assert "14 records, 5 unique cells" in lines[-1] and "1 missing" in lines[-1]
    return p


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value
    assert crc32c(b"") == 0
    assert masked_crc(b"") == 0xA282EAD8


def test_protobuf_wire_format():
    assert decode_fields(b"\x08\x96\x01") == {1: [150]}  # the protobuf docs' example
    buf = encode_fields([(1, "varint", 150), (2, "bytes", "testing"), (3, "double", 2.5), (1, "varint", 1)])
    f = decode_fields(buf)
    assert f[1] == [150, 1] and f[2] == [b"testing"] and struct.unpack("<d", f[3][0])[0] == 2.5
    mm = decode_model_metrics(encode_model_metrics(_evals(2, 1, 108), 4242, 3.5))
    assert mm["trainable_parameters"] == 4242 and mm["total_time"] == 3.5
    assert mm["evaluation_data"][2]["test_accuracy"] == pytest.approx(0.5 + 0.1 + 0.01 + 0.17)
    assert mm["evaluation_data"][1]["checkpoint_path"] == "/x/ckpt-1"


def test_hash_equals_a_published_nasbench_hash():
    assert spec_hash(*PUBLISHED) == PUBLISHED_HASH
    assert spec_hash(*INCEPTION_QUERY) == spec_hash(*INCEPTION_STORED)  # the API's query finds the record


def test_published_cell_imports_with_its_real_hash(tmp_path):
    """Records carrying hashes the importer did not compute: the published one, and the stored
    form of the colab's cell with the colab's values (fractions -> percent)."""
    c = INCEPTION_COLAB
    ev = [{"current_epoch": 0.0, "training_time": 0.0, "train_accuracy": 0.1, "validation_accuracy": 0.1,
           "test_accuracy": 0.1},
          {"current_epoch": 54.0, "training_time": c["training_time"] / 2, "train_accuracy": 0.8,
           "validation_accuracy": 0.8, "test_accuracy": 0.8},
          {"current_epoch": 108.0, "training_time": c["training_time"], "train_accuracy": c["train_accuracy"],
           "validation_accuracy": c["validation_accuracy"], "test_accuracy": c["test_accuracy"]}]
    recs = [encode_record(PUBLISHED_HASH, 108, *PUBLISHED, encode_model_metrics(_evals(0, 0, 108), 1234)),
            encode_record(spec_hash(*INCEPTION_QUERY), 108, *INCEPTION_STORED,
                          encode_model_metrics(ev, c["trainable_parameters"], 2000.0))]
    write_tfrecords(tmp_path / "nasbench_only108.tfrecord", recs)
    (p,) = import_nb101(tmp_path / "nasbench_only108.tfrecord", tmp_path / "o.h5", log=lambda s: None,
                        progress=False)
    with open_nb101_table(p) as t:
        r = t.query(NB101.from_spec(*INCEPTION_QUERY), schedule="108", seed="0")
        assert r.valid_acc == pytest.approx(93.76001358032227, abs=1e-4)
        assert r.test_acc == pytest.approx(93.11898946762085, abs=1e-4)
        assert r.train_acc == pytest.approx(100.0) and r.train_time == pytest.approx(1155.85302734375)
        assert t.static("params")[t.index_of(NB101.from_spec(*INCEPTION_STORED))] == 2694282
        assert t.index_of(NB101.from_spec(*PUBLISHED)) == 1  # numbered by sorted hash: ff94... last


def test_tfrecord_round_trip(tmp_path):
    recs = [b"", b"a", b"x" * 1000]
    write_tfrecords(tmp_path / "f.tfrecord", recs)
    got = list(read_tfrecords(tmp_path / "f.tfrecord"))
    assert [d for _, _, d in got] == recs and [o for _, o, _ in got] == [0, 16, 33]


def test_values_and_index(table_path):
    t0 = time.perf_counter()
    with open_nb101_table(table_path) as t:
        assert time.perf_counter() - t0 < 0.5
        assert t.space.name == "nb101" and t.n_archs == 5 and t.dataset == "cifar10"
        sch = t.schedules["108"]
        assert sch.recorded_epochs == (54, 108) and sch.seeds == ("0", "1", "2")
        for c, (m, ops) in enumerate(CELLS):
            arch = NB101.from_spec(m, ops)
            i = t.index_of(arch)
            assert t.space.from_index(i) == arch
            r = t.query(arch, schedule="108", seed="0")
            assert r.valid_acc == pytest.approx(100 * (0.5 + 0.05 * c + 0.18), abs=1e-4)
            assert r.test_acc == pytest.approx(100 * (0.5 + 0.05 * c + 0.17), abs=1e-4)
            assert r.train_acc == pytest.approx(100 * (0.5 + 0.05 * c + 0.2), abs=1e-4)
            assert r.train_time == pytest.approx(200.0 * (c + 1)) and r.cost == r.train_time
            h = t.query(arch, epoch=54, schedule="108", seed="1")
            assert h.valid_acc == pytest.approx(100 * (0.5 + 0.05 * c + 0.01 - 0.02), abs=1e-4)
            assert h.train_time == pytest.approx(100.0 * (c + 1) + 1)
            assert t.static("params")[i] == 1000 * (c + 1)
        hashes = [x.decode() for x in t._h5["nb101"]["hashes"][()]]
        assert hashes == sorted(spec_hash(m, ops) for m, ops in CELLS)
        assert t.check() == []


def test_missing_repeat_is_recorded(table_path):
    with open_nb101_table(table_path) as t:
        i = t.index_of(NB101.from_spec(*CELLS[1]))
        assert t.present("108")[i].tolist() == [True, True, False]
        assert t.present("108").sum() == 14
        with pytest.raises(Exception, match="seed 2 of architecture"):
            t.query(i, schedule="108", seed="2")


def test_full_file_with_several_budgets(tmp_path):
    write_tfrecords(tmp_path / "nasbench_full.tfrecord", records(budgets=(4, 12, 36, 108), skip=()))
    (p,) = import_nb101(tmp_path, tmp_path / "full.h5", log=lambda s: None, progress=False)
    with open_nb101_table(p) as t:
        assert set(t.schedules) == {"4", "12", "36", "108"}
        assert t.schedules["36"].recorded_epochs == (18, 36)
        assert t.present("4").all()


# --- damage -----------------------------------------------------------------------------------
def _imp(path, tmp_path, **kw):
    return import_nb101(path, tmp_path / "o.h5", log=lambda s: None, progress=False, **kw)


def test_error_truncated(tmp_path):
    f = tmp_path / "a.tfrecord"
    write_tfrecords(f, records())
    f.write_bytes(f.read_bytes()[:-30])
    with pytest.raises(NasbenchError, match="truncated inside record 13"):
        _imp(f, tmp_path)
    assert not (tmp_path / "o.h5").exists()


def test_error_flipped_byte(tmp_path):
    f = tmp_path / "a.tfrecord"
    write_tfrecords(f, records())
    raw = bytearray(f.read_bytes())
    raw[40] ^= 0x01
    f.write_bytes(bytes(raw))
    with pytest.raises(NasbenchError, match="record 0 .byte 0. fails its data checksum"):
        _imp(f, tmp_path)


def test_error_bad_length_crc(tmp_path):
    f = tmp_path / "a.tfrecord"
    f.write_bytes(b"not a tfrecord file at all")
    with pytest.raises(NasbenchError, match="bad length checksum"):
        _imp(f, tmp_path)


def test_error_wrong_hash(tmp_path):
    f = tmp_path / "a.tfrecord"
    write_tfrecords(f, records(bad_hash_cell=2))
    with pytest.raises(NasbenchError, match="the cell hashes to .* the file says 0000"):
        _imp(f, tmp_path)


def test_error_not_json_record(tmp_path):
    f = tmp_path / "a.tfrecord"
    write_tfrecords(f, [b"\n\x1a\n\x18\n\x0bmodule_hash"])  # a tf.train.Example-style record
    with pytest.raises(NasbenchError, match="record 0 .byte 0. is not the JSON list"):
        _imp(f, tmp_path)


def test_error_damaged_metrics(tmp_path):
    f = tmp_path / "a.tfrecord"
    m, ops = CELLS[1]
    rec = encode_record(spec_hash(m, ops), 108, m, ops, b"\x0a\x50\x09")  # message longer than the data
    write_tfrecords(f, [rec])
    with pytest.raises(NasbenchError, match="damaged metrics .truncated length-delimited"):
        _imp(f, tmp_path)


def test_error_invalid_op(tmp_path):
    f = tmp_path / "a.tfrecord"
    rec = encode_record("1" * 32, 108, [[0, 1], [0, 0]], ["input", "conv5x5"],
                        encode_model_metrics(_evals(0, 0, 108), 1))
    write_tfrecords(f, [rec])
    with pytest.raises(NasbenchError, match="record 0 .byte 0.: NB101: first op must be"):
        _imp(f, tmp_path)


def test_error_sources(tmp_path):
    with pytest.raises(NasbenchError, match="not found"):
        _imp(tmp_path / "nope.tfrecord", tmp_path)
    (tmp_path / "d").mkdir()
    with pytest.raises(NasbenchError, match="holds 0 .tfrecord files"):
        _imp(tmp_path / "d", tmp_path)
    write_tfrecords(tmp_path / "e.tfrecord", [])
    with pytest.raises(NasbenchError, match="holds no records"):
        _imp(tmp_path / "e.tfrecord", tmp_path)


def test_reader_speed_is_reasonable(tmp_path):
    """About the size of a real record; the real file has 1.27M of them."""
    m, ops = CELLS[0]
    rec = encode_record(spec_hash(m, ops), 108, m, ops, encode_model_metrics(_evals(0, 0, 108), 1))
    write_tfrecords(tmp_path / "s.tfrecord", [rec] * 2000)
    t0 = time.perf_counter()
    n = sum(1 for _ in read_tfrecords(tmp_path / "s.tfrecord"))
    per = (time.perf_counter() - t0) / n
    assert n == 2000 and per < 5e-4
