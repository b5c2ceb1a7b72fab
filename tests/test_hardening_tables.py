"""Issue 17, tables: the schema is checked once at open and the values on first read, so a
damaged or unusual table is one line of error (exit 2), never a traceback further down; a
table changed after it was sealed is refused on first read, and older tables still open."""
import shutil

import h5py
import numpy as np
import pytest

from nasbench_lab.cli import main
from nasbench_lab.tables import Table
from nasbench_lab.tables.integrity import seal
from nasbench_lab.tables.table import TableError
from nasbench_lab.tables.writer import content_hash

RUN = ["run", "--strategy", "random", "--runs", "2", "--budget-seconds", "300"]


@pytest.fixture
def copy(synthetic_table_path, tmp_path):
    def make(name="t.h5"):
        p = tmp_path / name
        shutil.copy(synthetic_table_path, p)
        return p
    return make


def _damage(path, fn, reseal=True):
    """Change a table in place; reseal=True models a writer that wrote the damage (checksums agree)."""
    with h5py.File(path, "a") as f:
        fn(f)
        if reseal:
            seal(f)
    return path


def _cli(capsys, argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    if code == 2:
        assert out.err.startswith("nasbench-lab: error: ") and out.err.count("\n") == 1, out.err
    return code, out.err


def _replace(f, name, data):
    del f[name]
    f[name] = data


HEADER_DAMAGE = {
    "schema_version not an int": (lambda f: f.attrs.__setitem__("schema_version", "abc"), "schema_version must be an integer"),
    "schema_version a float": (lambda f: f.attrs.__setitem__("schema_version", 1.5), "schema_version must be an integer"),
    "schema_version a bool": (lambda f: f.attrs.__setitem__("schema_version", True), "schema_version must be an integer"),
    "n_archs disagrees with the space": (lambda f: f.attrs.__setitem__("n_archs", 100), "n_archs is 100 but space nb201"),
    "n_archs a string": (lambda f: f.attrs.__setitem__("n_archs", "many"), "n_archs must be an integer"),
    "provenance a list": (lambda f: f.attrs.__setitem__("provenance", "[1, 2]"), "provenance must be a JSON dict"),
    "provenance not JSON": (lambda f: f.attrs.__setitem__("provenance", "{oops"), "provenance is not valid JSON"),
    "provenance a number": (lambda f: f.attrs.__setitem__("provenance", 7), "provenance must be a JSON string"),
    "seeds not a list": (lambda f: f["schedules/12"].attrs.__setitem__("seeds", "7"), "seeds must be a JSON list"),
    "seeds repeated": (lambda f: f["schedules/12"].attrs.__setitem__("seeds", '["0", "0", "1"]'), "bad seed labels"),
    "recorded_epochs decreasing": (lambda f: f["schedules/12"].attrs.__setitem__("recorded_epochs", np.arange(12, 0, -1)),
                                   "bad recorded_epochs"),
    "epochs a float": (lambda f: f["schedules/12"].attrs.__setitem__("epochs", 12.5), "epochs must be an integer"),
    "valid_acc 2-d": (lambda f: _replace(f, "schedules/12/valid_acc", np.zeros((15625, 3), "f4")), r"12/valid_acc is float32 \(15625, 3\)"),
    "valid_acc strings": (lambda f: _replace(f, "schedules/12/valid_acc", np.zeros((15625, 3, 12), "S3")), "expected floats"),
    "test_acc ints of a wrong shape": (lambda f: _replace(f, "schedules/12/test_acc", np.zeros((10, 3, 12), "i4")), "12/test_acc"),
    "present missing": (lambda f: f["schedules/12"].__delitem__("present"), "has no 'present' array"),
    "present of a wrong shape": (lambda f: _replace(f, "schedules/12/present", np.ones(5, bool)), r"present is bool \(5,\)"),
    "present not bool": (lambda f: _replace(f, "schedules/12/present", np.ones((15625, 3), "f4")), "present is float32"),
    "no accuracy at all": (lambda f: (f["schedules/12"].__delitem__("valid_acc"), f["schedules/12"].__delitem__("test_acc")),
                           "has no accuracy"),
    "static of a wrong shape": (lambda f: _replace(f, "static/params", np.zeros(3)), "static/params"),
    "no schedules": (lambda f: [f["schedules"].__delitem__(k) for k in list(f["schedules"])], "no schedules"),
    "space unknown": (lambda f: f.attrs.__setitem__("space", "nb999"), "damaged table header"),
    "provenance not text": (lambda f: f.attrs.__setitem__("provenance", b'{"a": "\xff\xfe"}'), "not valid text"),
    "name not text": (lambda f: f.attrs.__setitem__("name", b"\xff\xfe"), "not valid text"),
}


@pytest.mark.parametrize("case", sorted(HEADER_DAMAGE))
def test_damaged_header_is_one_line_at_open(capsys, copy, case):
    fn, match = HEADER_DAMAGE[case]
    p = _damage(copy(), fn)
    with pytest.raises(TableError, match=match) as e:
        Table(p)
    assert "\n" not in str(e.value)
    assert _cli(capsys, ["info", p])[0] == 2
    assert _cli(capsys, [*RUN, "--table", p, "--out", p.with_suffix(".out")])[0] == 2


VALUE_DAMAGE = {
    "infinite valid_acc": (lambda f: f["schedules/12/valid_acc"].__setitem__((slice(None), 0, 3), np.inf), "infinite"),
    "negative train_time": (lambda f: f["schedules/12/train_time"].__setitem__((5, 0, 2), -1.0), "negative or infinite times"),
    "all negative costs": (lambda f: f["schedules/12/train_time"].__setitem__(Ellipsis, -1.0), "negative or infinite times"),
    "infinite valid_time": (lambda f: f["schedules/12/valid_time"].__setitem__((5, 0, 2), np.inf), "negative or infinite times"),
    "negative loss": (lambda f: f["schedules/12/valid_loss"].__setitem__((5, 0, 2), -3.0), "negative losses"),
    "negative accuracy": (lambda f: f["schedules/12/train_acc"].__setitem__((5, 0, 2), -3.0), "negative accuracies"),
}


@pytest.mark.parametrize("case", sorted(VALUE_DAMAGE))
def test_bad_values_are_refused_on_first_read(capsys, copy, case):
    fn, match = VALUE_DAMAGE[case]
    p = _damage(copy(), fn)
    t = Table(p)  # opening reads no array
    with pytest.raises(TableError, match=match):
        t.query(5, seed=0)
    code, err = _cli(capsys, [*RUN, "--table", p, "--out", p.with_suffix(".out")])
    assert code == 2 and match.split()[0] in err
    assert any(match in x for x in Table(p).check())


def test_all_nan_validation_accuracy_is_one_line(capsys, copy):
    p = _damage(copy(), lambda f: f["schedules/12/valid_acc"].__setitem__(Ellipsis, np.nan))
    code, err = _cli(capsys, [*RUN, "--table", p, "--out", p.with_suffix(".out")])
    assert code == 2 and "no finite validation accuracy" in err


def test_a_table_without_test_acc_runs_and_compare_says_why_not(capsys, copy, tmp_path):
    p = _damage(copy(), lambda f: f["schedules/12"].__delitem__("test_acc"))
    assert Table(p).check() == []
    code, err = _cli(capsys, [*RUN, "--table", p, "--out", tmp_path / "r"])
    assert code == 0, err
    code, err = _cli(capsys, ["compare", "--table", p, "--strategies", "random,rea", "--runs", "2",
                              "--budget-queries", "5", "--out", tmp_path / "c"])
    assert code == 2 and "no test accuracy" in err and not (tmp_path / "c").exists()


def test_changed_after_sealing_is_refused_on_first_read(capsys, copy):
    p = _damage(copy(), lambda f: f["schedules/12/valid_acc"].__setitem__((slice(None), 0, -1), 99.0), reseal=False)
    t = Table(p)
    with pytest.raises(TableError, match="changed after it was sealed"):
        t.lookup("valid_acc", [0, 1])
    code, err = _cli(capsys, [*RUN, "--table", p, "--out", p.with_suffix(".out")])
    assert code == 2 and "changed after it was sealed" in err
    assert not p.with_suffix(".out").exists() or not any(p.with_suffix(".out").rglob("*.sqlite"))
    # a checksum or the root hash edited to match is refused at open
    q = _damage(copy("q.h5"), lambda f: f["schedules/12/valid_acc"].attrs.__setitem__("sha256", "0" * 64), reseal=False)
    with pytest.raises(TableError, match="does not match the arrays' checksums"):
        Table(q)
    r = _damage(copy("r.h5"), lambda f: f.attrs.__setitem__("content_hash", "0" * 64), reseal=False)
    with pytest.raises(TableError, match="does not match the arrays' checksums"):
        Table(r)
    s = _damage(copy("s.h5"), lambda f: f.attrs.__delitem__("content_hash"), reseal=False)
    with pytest.raises(TableError, match="no content hash"):
        Table(s)


def _to_old_scheme(f):
    """What tables sealed before per-array checksums look like: one whole-file hash."""
    del f.attrs["hash_scheme"]
    for name in ("schedules/12/" + m for m in f["schedules/12"]):
        del f[name].attrs["sha256"]
    for m in f["static"]:
        del f["static"][m].attrs["sha256"]
    f.attrs["content_hash"] = content_hash(f)


def test_older_tables_open_and_are_verified_in_full_on_first_read(copy):
    p = _damage(copy(), _to_old_scheme, reseal=False)
    t = Table(p)
    assert "hash_scheme" not in t._h5.attrs and t.check() == []
    assert t.query(3, seed=0).valid_acc == t.array("12", "valid_acc")[3, 0, -1]
    q = _damage(copy("q.h5"), _to_old_scheme, reseal=False)
    _damage(q, lambda f: f["schedules/12/test_loss"].__setitem__((1, 1, 1), 0.0), reseal=False)
    t = Table(q)
    with pytest.raises(TableError, match="changed after it was sealed"):
        t.query(3, seed=0)  # reading valid_acc verifies the whole file, test_loss included


def test_bit_flip_in_array_data_is_a_one_line_error(capsys, copy):
    p = copy()
    with h5py.File(p, "r") as f:
        ds = f["schedules/12/valid_acc"]
        assert ds.fletcher32
        info = ds.id.get_chunk_info(0)
    data = bytearray(p.read_bytes())
    data[info.byte_offset + info.size // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(TableError, match="cannot read schedules/12/valid_acc|changed after it was sealed"):
        Table(p).lookup("valid_acc", [0])
    assert _cli(capsys, [*RUN, "--table", p, "--out", p.with_suffix(".out")])[0] == 2


def test_flipped_bytes_anywhere_in_the_header_never_give_a_traceback(capsys, synthetic_table_path, tmp_path):
    data = open(synthetic_table_path, "rb").read()
    offsets = list(range(0, 4096, 61)) + list(range(4096, min(len(data), 40000), 997))
    codes = []
    for off in offsets:
        d = bytearray(data)
        d[off:off + 4] = bytes(255 - b for b in d[off:off + 4])
        p = tmp_path / f"flip{off}.h5"
        p.write_bytes(bytes(d))
        code, _ = _cli(capsys, ["info", p, "--check"])  # a traceback would raise here
        codes.append(code)
        p.unlink()
    assert set(codes) <= {0, 1, 2} and 2 in codes


@pytest.mark.parametrize("argv", [["info", "{d}"], ["run", "--table", "{d}", "--strategy", "random", "--runs", "1",
                                                    "--budget-queries", "2", "--out", "{o}"],
                                  ["transfer", "nb201-3ops-small", "{d}"], ["proxies", "{d}"]])
def test_a_directory_given_as_table_is_one_line(capsys, tmp_path, argv):
    d = tmp_path / "folder.h5"
    d.mkdir()
    code = main([a.format(d=d, o=tmp_path / "out") for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and "is a directory, not a table file" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("png", ["{t}", "{t}/x.jpg", "{t}/sub.png"])
def test_proxies_png_is_checked_before_evaluating(capsys, tmp_path, png):
    p = png.format(t=tmp_path)
    if p.endswith("sub.png"):
        (tmp_path / "sub.png").mkdir()
    code = main(["proxies", "nb201-3ops-small", "--evaluate", "--png", p])
    err = capsys.readouterr().err
    assert code == 2 and "--png" in err and err.count("\n") == 1, err
    assert not (tmp_path / f"{tmp_path.name}.png").exists()
