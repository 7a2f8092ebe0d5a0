// The feature catalogue, generated from the registry: `bqx catalog` (Markdown, also
// committed as docs/FEATURES.md — a test fails when it is stale) and `bqx catalog --json`.
#pragma once

#include <string>

namespace bqx::features {

std::string catalog_markdown();
std::string catalog_json();

}  // namespace bqx::features
