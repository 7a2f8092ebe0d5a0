// `bqx validate`: data and feature checks over the DuckDB store, report.json + report.html.
#pragma once
