// The DuckDB implementation of the pipeline's store interface: bars in, features,
// labels, manifest and state out (tables documented in store/feature_store.h).
#pragma once

#include <memory>

#include "pipeline/pipeline.h"
#include "store/duckdb_conn.h"

namespace bqx::store {

// Ensures the feature schema on construction (create() fails when it cannot).
Result<std::unique_ptr<pipeline::PipelineStore>> open_pipeline_store(Connection& con);

}  // namespace bqx::store
