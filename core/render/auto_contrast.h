#pragma once
/// Viewport auto-contrast (DESIGN §3): contrast limits from percentiles of the values a layer shows
/// in this render. The values come from a value pass on the GPU (the layer drawn into a float
/// target with the same sampling as its colors: level, interpolation, tile ownership); the
/// percentiles are exact order statistics of those samples, as numpy's default (linear between
/// the closest ranks).

#include <cstdint>
#include <optional>
#include <vector>

namespace tilerender {

struct AutoLimits {
  double lo = 0, hi = 0;
  int64_t samples = 0;  ///< finite values the percentiles were taken over
};

/// Percentiles `lo_pct` and `hi_pct` (0..100) of the finite entries of `values` (NaN and +-inf
/// left out; `values` is reordered). nullopt when none is finite.
std::optional<AutoLimits> Percentiles(std::vector<float>& values, double lo_pct, double hi_pct);

}  // namespace tilerender
