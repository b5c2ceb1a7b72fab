"""Benchmark tables: HDF5 format, reader, writer, importers and builders."""
from nasbench_lab.tables.registry import builtin_tables, resolve_table
from nasbench_lab.tables.table import QueryResult, Schedule, Table, TableError, open_table
from nasbench_lab.tables.writer import TableWriter, content_hash

__all__ = ["Table", "TableError", "TableWriter", "QueryResult", "Schedule", "open_table",
           "builtin_tables", "resolve_table", "content_hash"]
