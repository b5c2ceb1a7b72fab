"""The conformance suite's parts, one module per group of checks; the public entry point is nasbench_lab.testing."""
