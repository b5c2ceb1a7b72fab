"""The command line as a new user meets it: every option has help text, the README's command
table and `--help` agree, `nasbench-lab --help` imports nothing heavy, `--param` takes both
forms, human output reads as English, and piping into `head` ends quietly."""
import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nasbench_lab.cli import EXTRA_COMMANDS, _check_text, build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands(parser, prefix=()):
    """{("exercise", "grade"): parser, ...} for every (sub)command."""
    out = {}
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                out[prefix + (name,)] = sp
                out.update(_commands(sp, prefix + (name,)))
    return out


def _options(p) -> set[str]:
    return {o for a in p._actions if not isinstance(a, argparse._HelpAction)
            for o in a.option_strings if o.startswith("--")}


def test_every_option_has_help_text_and_every_command_a_description():
    for path, p in _commands(build_parser()).items():
        assert p.description, f"{' '.join(path)} has no description"
        for a in p._actions:
            if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert a.help, f"{' '.join(path)} {'/'.join(a.option_strings) or a.dest} has no help text"


def _readme_rows() -> dict[str, set[str]]:
    """{command: options named in its row(s) of the README's command table}."""
    rows: dict[str, set[str]] = {}
    for line in README.read_text().splitlines():
        if not line.startswith("| `nasbench-lab "):
            continue
        cell = re.split(r"(?<!\\)\|", line)[1]
        name = cell.split("nasbench-lab ", 1)[1].split()[0].strip("`")
        rows.setdefault(name, set()).update(re.findall(r"--[a-z][a-z0-9-]*", cell))
    return rows


def test_readme_command_table_and_help_agree():
    rows = _readme_rows()
    cmds = _commands(build_parser())
    top = {path[0] for path in cmds}
    assert top == set(rows), f"in --help only: {top - set(rows)}; in the README only: {set(rows) - top}"
    for name in top:
        in_help = set().union(*(_options(p) for path, p in cmds.items() if path[0] == name))
        assert in_help <= rows[name], f"{name}: README's command table lacks {sorted(in_help - rows[name])}"
        assert rows[name] <= in_help, f"{name}: README names {sorted(rows[name] - in_help)}, --help does not"


def test_top_level_help_imports_nothing_heavy_and_stubs_say_what_the_modules_say():
    code = ("import sys\nfrom nasbench_lab.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'scipy', 'matplotlib', 'h5py', 'jinja2', 'joblib', 'tqdm') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    full = build_parser()
    sub = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, (_, text) in EXTRA_COMMANDS.items():
        if name in helps:  # an optional module may be missing
            assert helps[name] == text, name


def test_run_help_lists_the_strategies(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "strategies: " in out and "rea" in out and "random" in out and "--budget-seconds" in out


def test_param_both_forms(capsys, synthetic_table_path, tmp_path):
    base = ["--table", synthetic_table_path, "--runs", "2", "--budget-queries", "6"]
    assert main(["run", *base, "--strategy", "rea", "--param", "rea:population=4", "--out", str(tmp_path / "r"),
                 "--json"]) == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["strategies"]["rea"]["population"] == 4
    capsys.readouterr()
    assert main(["compare", *base, "--strategies", "random,rea", "--param", "population=5",
                 "--out", str(tmp_path / "c"), "--json"]) == 0
    cfg = json.loads((tmp_path / "c" / "config.json").read_text())["strategies"]
    assert cfg["rea"]["population"] == 5 and "population" not in cfg["random"]
    capsys.readouterr()
    code = main(["compare", *base, "--strategies", "random,rea", "--param", "nope=1", "--out", str(tmp_path / "e")])
    err = capsys.readouterr().err
    assert code == 2 and "none of random, rea has a parameter 'nope'" in err and err.count("\n") == 1


def test_info_check_says_partial_not_ok(capsys, synthetic_table_path):
    assert main(["info", synthetic_table_path, "--check"]) == 0
    out = capsys.readouterr().out
    assert "check: sound, complete" in out and "(architecture, seed) entries:" in out and "OK" not in out
    sch = {"trained_entries": 300, "missing_entries": 0}
    assert _check_text({"problems": [], "provenance": {"trainings_done": 320, "trainings_total": 15780},
                        "schedules": {"4": sch}}) == "sound, partial (320 of 15,780 trainings)"
    assert _check_text({"problems": [], "provenance": {}, "schedules": {"4": {**sch, "missing_entries": 100}}}) \
        == "sound, partial (300 of 400 (architecture, seed) entries present)"
    assert _check_text({"problems": ["x is damaged"], "provenance": {}, "schedules": {}}) == "x is damaged"


def test_tables_human_output(capsys):
    assert main(["tables"]) == 0
    out = capsys.readouterr().out
    assert "{" not in out and "'" not in out
    assert "no built-in tables" in out or re.search(r"\d+ epochs? x \d+ seeds?", out)


def test_piping_into_head_ends_quietly(synthetic_table_path, monkeypatch):
    import io

    class ClosedPipe(io.StringIO):  # what stdout is once `head` has exited
        def write(self, _):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["info", synthetic_table_path, "--json"]) == 141  # 128 + SIGPIPE, no traceback
    cmd = f"{sys.executable} -m nasbench_lab.cli info {synthetic_table_path} --json | head -c 1"
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    assert p.stdout == "{" and "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr


def test_progress_without_a_terminal_is_lines_with_eta(capsys, synthetic_table_path, tmp_path):
    assert main(["run", "--table", synthetic_table_path, "--strategy", "random", "--runs", "20",
                 "--budget-queries", "5", "--out", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err.splitlines()  # stderr is not a terminal here
    assert err[-1].startswith("runs: 20/20 done, ") and "ETA" in err[-1]
    assert 2 <= len(err) <= 11  # at every 10% (runs move one at a time), not per run
