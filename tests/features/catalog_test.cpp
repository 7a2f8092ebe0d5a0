// The committed catalogue (docs/FEATURES.md) must be exactly what the registry generates.
#include "features/catalog.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "features/registry.h"

namespace bqx {
namespace {

TEST(Catalog, CommittedMarkdownIsCurrent) {
  std::ifstream in(std::string(BQX_SOURCE_DIR) + "/docs/FEATURES.md", std::ios::binary);
  ASSERT_TRUE(in.good()) << "docs/FEATURES.md missing: run build/bqx catalog > docs/FEATURES.md";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_TRUE(ss.str() == features::catalog_markdown())
      << "docs/FEATURES.md is stale: run build/bqx catalog > docs/FEATURES.md";
}

TEST(Catalog, JsonListsEveryColumnWithItsMetadata) {
  const auto j = nlohmann::json::parse(features::catalog_json());
  const auto cols = features::all_feature_columns();
  ASSERT_EQ(j["feature_count"].get<size_t>(), cols.size());
  ASSERT_EQ(j["columns"].size(), cols.size() + features::label_columns().size());
  for (size_t i = 0; i < cols.size(); ++i) {
    EXPECT_EQ(j["columns"][i]["name"], cols[i].name);
    EXPECT_EQ(j["columns"][i]["kind"], "feature");
    EXPECT_EQ(j["columns"][i]["lookback"].get<int>(), cols[i].lookback);
    EXPECT_FALSE(j["columns"][i]["formula"].get<std::string>().empty()) << cols[i].name;
  }
}

}  // namespace
}  // namespace bqx
