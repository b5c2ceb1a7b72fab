"""Your own strategy everywhere: --strategy path/to/file.py:ClassName and package.module:ClassName
in run, compare, verify and the grader, with --workers 2, resumable; one-line errors. The
strategy used is the README's "Writing a strategy" example, extracted from README.md."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nasbench_lab.cli import main

ROOT = Path(__file__).resolve().parent.parent
RUN = ["--table", "nb201-cifar10-valid", "--seed", "0", "--budget-seconds", "12000", "--search-schedule", "12",
       "--report-schedule", "200"]


def readme_strategy() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Writing a strategy", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture()
def user_dir(tmp_path, monkeypatch):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "my_greedy.py").write_text(readme_strategy())
    monkeypatch.chdir(tmp_path)
    return d


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_readme_example_passes_the_conformance_suite(user_dir):
    from nasbench_lab.strategies import get_strategy
    from nasbench_lab.testing import check_strategy

    cls = get_strategy(f"{user_dir / 'my_greedy.py'}:MyGreedy")
    report = check_strategy(cls, raise_on_failure=False)
    assert report.ok, str(report)
    assert {r.status for r in report.results} == {"passed", "skipped"}, str(report)
    assert [r.check for r in report.results if r.status == "skipped"] == ["check_no_duplicate_payment"]


def test_run_from_a_file_with_two_workers_and_resume(user_dir, tmp_path, capsys):
    ref = "mine/my_greedy.py:MyGreedy"  # relative to the working directory
    out = tmp_path / "runs"
    code, stdout, err = cli(capsys, "run", "--strategy", ref, "--param", "explore=0.3", "--runs", 12, "--workers", 2,
                            "--out", out, "--json", *RUN)
    assert code == 0, err
    first = json.loads(stdout)
    assert first["strategy"] == "my-greedy" and first["new_runs"] == 12 and first["runs"] == 12
    # resume from another directory with an absolute path: the finished runs are reused
    code, stdout, err = cli(capsys, "run", "--strategy", f"{user_dir / 'my_greedy.py'}:MyGreedy", "--param",
                            "explore=0.3", "--runs", 16, "--workers", 2, "--out", out, "--json", *RUN)
    again = json.loads(stdout)
    assert code == 0 and again["new_runs"] == 4 and again["runs"] == 16
    # the same runs in one process give the same results (workers only change where they run)
    code, stdout, _ = cli(capsys, "run", "--strategy", ref, "--param", "explore=0.3", "--runs", 16, "--workers", 1,
                          "--out", tmp_path / "serial", "--json", *RUN)
    serial = json.loads(stdout)
    assert serial["valid"] == again["valid"] and serial["test"] == again["test"]
    # verify reads them like any other strategy's (NB201 exports: no protocol to retrain with)
    code, _, err = cli(capsys, "verify", out, "--top", 1, "--seeds", 1)
    assert code == 2 and "was not built by nasbench_lab's trainer" in err


def test_compare_and_verify_with_a_module_reference(user_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(user_dir))
    out = tmp_path / "cmp"
    code, stdout, err = cli(capsys, "compare", "--table", "nb201-3ops-small", "--strategies",
                            "random,my_greedy:MyGreedy", "--param", "my-greedy:explore=0.5", "--runs", 10,
                            "--seed", "0", "--budget-queries", 15, "--workers", 2, "--out", out, "--json")
    assert code == 0, err
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["strategies"]["my-greedy"] == {"explore": 0.5}
    code, stdout, err = cli(capsys, "verify", out, "--top", 1, "--seeds", 1, "--json")
    assert code == 0, err
    assert json.loads(stdout)["tables"]["nb201-3ops-small"]["architectures"][0]["times_chosen"] >= 1


@pytest.mark.parametrize("ref, words", [
    ("nope.py:X", "file .*nope.py not found"),
    ("mine/my_greedy.py:Nope", "has no class 'Nope'; its Strategy classes: MyGreedy"),
    ("mine/my_greedy.py:score", "score is a function but not a subclass of nasbench_lab.strategies.Strategy"),
    ("mine/plain.py:Plain", "Plain is a class but not a subclass"),
    ("mine/broken.py:X", "broken.py line 2: SyntaxError"),
    ("mine/raises.py:X", "loading raises.py raised RuntimeError: boom \\(line 1\\)"),
    ("no_such_module_xyz:X", "no module named 'no_such_module_xyz'"),
    ("rnadom", "unknown strategy 'rnadom'; valid: .*or your own class as path/to/file.py:ClassName"),
])
def test_bad_references_are_one_line_errors(user_dir, tmp_path, capsys, ref, words):
    (user_dir / "plain.py").write_text("class Plain:\n    pass\n")
    (user_dir / "broken.py").write_text("x = 1\ndef f(:\n")
    (user_dir / "raises.py").write_text("raise RuntimeError('boom')\n")
    for cmd in (["run", "--strategy", ref, "--runs", 2, *RUN], ["compare", "--strategies", f"random,{ref}",
                                                                "--runs", 2, *RUN]):
        code, _, err = cli(capsys, *cmd, "--workers", 2, "--out", tmp_path / "o")
        assert code == 2 and len(err.strip().splitlines()) == 1 and re.search(words, err), err
    assert not (tmp_path / "o").exists()  # nothing written: no config.json left behind


def test_a_builtin_name_cannot_be_taken(user_dir, tmp_path, capsys):
    (user_dir / "fake.py").write_text(textwrap.dedent('''
        from nasbench_lab.strategies import register
        from nasbench_lab.strategies.random_search import RandomSearch

        @register
        class Fake(RandomSearch):
            """No parameters."""
            name = "random"
    '''))
    code, _, err = cli(capsys, "run", "--strategy", "mine/fake.py:Fake", "--runs", 2, *RUN, "--out", tmp_path / "o")
    assert code == 2 and "that name belongs to nasbench_lab.strategies.random_search" in err
    (user_dir / "twin.py").write_text(textwrap.dedent('''
        from nasbench_lab.strategies.random_search import RandomSearch

        class Twin(RandomSearch):
            """No parameters."""
    '''))
    code, _, err = cli(capsys, "compare", "--strategies", "random,mine/twin.py:Twin", "--runs", 2, *RUN,
                       "--out", tmp_path / "o")
    assert code == 2 and "two strategies are named 'random'" in err and not (tmp_path / "o").exists()


def test_run_experiment_with_a_class_registered_in_a_script(tmp_path):
    """The Python API case: a script registers its class and runs it with workers=2."""
    script = tmp_path / "search.py"
    script.write_text(readme_strategy() + textwrap.dedent(f'''

        if __name__ == "__main__":
            from nasbench_lab.experiment import StrategySpec, run_experiment
            from nasbench_lab.runner import Budget

            store, res = run_experiment(["nb201-3ops-small"], [StrategySpec("my-greedy")], runs=6, seed=0,
                                        budget=Budget(queries=10), out={str(tmp_path / "out")!r}, workers=2,
                                        progress=False)
            print(res["new_runs"], sorted(res["results"]))
    '''))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "6 [('nb201-3ops-small', 'my-greedy')]"


def test_grade_a_class_from_another_file(tmp_path, capsys):
    folder = tmp_path / "ex"
    assert cli(capsys, "exercise", "start", "random-search", folder)[0] == 0
    good = ROOT / "tests" / "exercise_solutions" / "good_random_search.py"
    code, out, err = cli(capsys, "exercise", "grade", folder, "--strategy", f"{good}:MyRandomSearch",
                         "--table", "nb201-3ops-small", "--runs", 20)
    assert code == 0 and "RESULT: PASSED" in out, out + err
    code, _, err = cli(capsys, "exercise", "grade", folder, "--strategy", f"{good}:Missing")
    assert code == 2 and "has no class 'Missing'" in err


def test_an_installed_package_adds_strategies_by_entry_point(tmp_path, monkeypatch):
    """Entry-point group nasbench_lab.strategies: a distribution on sys.path (as pip installs it)."""
    from nasbench_lab import NasbenchError
    from nasbench_lab import strategies as S

    (tmp_path / "plug_mod.py").write_text(readme_strategy().replace('"my-greedy"', '"plug-greedy"'))
    dist = tmp_path / "plug_pkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plug-pkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[nasbench_lab.strategies]\nplug-greedy = plug_mod:MyGreedy\n"
                                           "broken = plug_missing_mod:Nothing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(S, "_PLUGIN_ERRORS", {})
    monkeypatch.setattr(S, "_REGISTRY", dict(S._REGISTRY))  # the plugin leaves with the test
    S._load_entry_points()
    assert "plug-greedy" in S.strategy_names() and S.get_strategy("plug-greedy").__module__ == "plug_mod"
    with pytest.raises(NasbenchError, match="strategy 'broken' \\(entry point of group nasbench_lab.strategies\\) "
                                            "could not be loaded: ModuleNotFoundError"):
        S.get_strategy("broken")


def test_strategies_command_lists_every_strategy(user_dir, capsys):
    from nasbench_lab.strategies import strategy_names

    code, out, _ = cli(capsys, "strategies", "--json", "mine/my_greedy.py:MyGreedy")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and set(strategy_names()) <= set(rows)
    assert rows["rea"]["params"] == {"population": 10, "sample_size": 3} and rows["rea"]["doc"]
    assert rows["my-greedy"]["params"] == {"explore": 0.2} and rows["my-greedy"]["doc"].startswith("Mutate the best")
    code, out, _ = cli(capsys, "strategies")
    assert code == 0 and "population=10, sample_size=3" in out
    code, _, err = cli(capsys, "strategies", "mine/nope.py:X")
    assert code == 2 and "not found" in err


def test_a_missing_optional_package_is_a_one_line_error():
    code = ("import sys; sys.modules['optuna'] = None\n"
            "from nasbench_lab.cli import main\n"
            "sys.exit(main(['run', '--table', 'nb201-3ops-small', '--strategy', 'optuna', '--runs', '2',"
            " '--budget-queries', '3', '--out', sys.argv[1]]))")
    proc = subprocess.run([sys.executable, "-c", code, "/nonexistent/out"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "nasbench-lab: error: strategy 'optuna' needs the optional package 'optuna', which is not installed: "
        "pip install 'nasbench_lab[optuna]'"], proc.stderr
