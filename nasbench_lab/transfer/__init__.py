"""Transfer between tasks: rank agreement of tables over one space, and reporting a search on another table.

  correlation.py   Spearman, Kendall tau, top decile, top-k overlap, bootstrap intervals
  cells.py         a table's final accuracy per distinct canonical cell (or per cell)
  pairs.py         every pair of tables: the numbers `nasbench-lab transfer` prints
  figure.py        the PNG: a scatter per pair and the matrix of correlations
  report_table.py  `run`/`compare --report-table B`: checks, and the incumbent's values on B
  cli.py           `nasbench-lab transfer T1 T2 [...]`
"""
