"""The guided tour (analysis/tour.py) runs end to end and writes its figures and report."""
import json
import runpy
from pathlib import Path

TOUR = Path(__file__).resolve().parent.parent / "analysis" / "tour.py"


def test_tour_runs(tmp_path, capsys):
    tour = runpy.run_path(str(TOUR))
    out = tour["main"](str(tmp_path / "tour"))
    d = tmp_path / "tour"
    for name in ("tour_1_landscape.png", "tour_2_one_run.png", "tour_3_compare.png"):
        png = (d / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name
    html = (d / "compare" / "report.html").read_text()
    assert "random" in html and "rea" in html and "reinforce" in html
    ver = json.loads((d / "verify.json").read_text())
    assert len(ver["architectures"]) == 2 and len(ver["fresh_seeds"]) == 1
    assert out["run"]["meta"]["strategy"] == "rea" and len(out["run"]["time"]) == 40
    printed = capsys.readouterr().out
    for step in ("space nb201-3ops", "table nb201-3ops-small", "one run of 'rea'", "nasbench-lab compare",
                 "verify |"):
        assert step in printed, step
