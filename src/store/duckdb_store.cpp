// DuckDB store (in progress)
