"""Wrong: an unpaired test on paired runs."""
import json
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu


def load_results():
    return json.loads((Path(__file__).resolve().parent / "results.json").read_text())


def decide(a, b, alpha=0.05):
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a - b
    if np.all(d == 0):
        return "no difference", 1.0
    p = float(mannwhitneyu(a, b).pvalue)
    if p >= alpha:
        return "no difference", p
    return ("A" if np.median(d[d != 0]) > 0 else "B"), p
