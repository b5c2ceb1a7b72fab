"""Exercise "statistics": does strategy A differ from strategy B?  Read TASK.md.

Fill in decide(), then run:  python grade.py   (python my_analysis.py prints your verdict)
"""
import json
from pathlib import Path


def load_results() -> dict:
    """The stored results (results.json): names of the two strategies, their settings, and
    a[i], b[i]: the final test accuracy (%) of run i of A and of B (run i of both used the
    same seed, so a[i] and b[i] belong together)."""
    return json.loads((Path(__file__).resolve().parent / "results.json").read_text())


def decide(a: list, b: list, alpha: float = 0.05) -> tuple:
    """Return (verdict, p_value).

    verdict: "A" when A is significantly better (higher values) at level alpha, "B" when B
    is, "no difference" otherwise; p_value: the two-sided p-value of the test you chose.
    """
    # TODO: choose the right test for these samples (see TASK.md), compute its p-value
    raise NotImplementedError("decide() is not written yet")


if __name__ == "__main__":
    r = load_results()
    verdict, p = decide(r["a"], r["b"])
    print(f"A = {r['strategy_a']}, B = {r['strategy_b']}: verdict {verdict!r}, p = {p:.4g}")
