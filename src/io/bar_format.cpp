#include <string>

#include "io/bar_reader.h"

namespace bqx {

Result<BarFormat> parse_bar_format(std::string_view text) {
  if (text == "auto") return BarFormat::Auto;
  if (text == "histdata") return BarFormat::HistData;
  if (text == "csv") return BarFormat::Csv;
  if (text == "parquet") return BarFormat::Parquet;
  return make_error("unknown format, expected auto|histdata|csv|parquet (" + std::string(text) + ")");
}

}  // namespace bqx
