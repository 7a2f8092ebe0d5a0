// Inline SVG charts of the HTML report (no script, no external resource).
#pragma once

#include <string>

#include "validate/validate.h"

namespace bqx::validate::charts {

std::string escape(const std::string& text);  // HTML / XML text and attribute escaping

std::string coverage_heatmap(const Report& r);
std::string null_rate_bars(const Report& r);
std::string strength_lines(const Report& r);
std::string strength_legend();
std::string eps_histogram(const Report& r);
std::string gap_calendar(const Report& r, int gap_fail_minutes);

}  // namespace bqx::validate::charts
