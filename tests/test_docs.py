"""docs/api.md is executable: every `>>>` example runs and prints what the page shows."""
from __future__ import annotations

import doctest
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def test_api_reference_examples_run_as_printed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write runs-api/ into the working directory
    text = DOC.read_text()
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, "docs/api.md", str(DOC), 0)
    assert len(test.examples) >= 30
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted == len(test.examples), result
