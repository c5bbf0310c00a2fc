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

/// numpy.percentile's default ("linear") of n values: the order statistics k and k + 1 (0-based,
/// ascending) and the weight of the second. `next` is false when only k is needed (t = 0, or k is
/// the last).
struct PercentileRank {
  size_t k = 0;
  double t = 0;
  bool next = false;
};
PercentileRank RankOf(size_t n, double pct);
/// The percentile from its order statistics a (k) and b (k + 1): numpy's _lerp, from the nearer
/// end so that the result is exact at either end.
double Lerp(double a, double b, const PercentileRank& r);

}  // namespace tilerender
