#include "core/render/auto_contrast.h"

#include <algorithm>
#include <cmath>

namespace tilerender {
namespace {

// numpy.percentile's default ("linear"): rank p / 100 * (n - 1), between the two closest values.
// `v[0..n)` is reordered.
double Percentile(std::vector<float>& v, size_t n, double pct) {
  const PercentileRank r = RankOf(n, pct);
  const size_t k = r.k;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.begin() + static_cast<std::ptrdiff_t>(n));
  const double a = v[k];
  if (!r.next) return a;
  // The next value up: the smallest of those after k (nth_element put them there).
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(k + 1), v.begin() + static_cast<std::ptrdiff_t>(n));
  return Lerp(a, b, r);
}

}  // namespace

PercentileRank RankOf(size_t n, double pct) {
  const double rank = pct / 100.0 * static_cast<double>(n - 1);
  PercentileRank r;
  r.k = std::min(static_cast<size_t>(std::floor(rank)), n - 1);
  r.t = rank - static_cast<double>(r.k);
  r.next = r.k + 1 < n && rank != static_cast<double>(r.k);
  return r;
}

double Lerp(double a, double b, const PercentileRank& r) {
  if (!r.next) return a;
  return r.t >= 0.5 ? b - (b - a) * (1 - r.t) : a + (b - a) * r.t;
}

std::optional<AutoLimits> Percentiles(std::vector<float>& values, double lo_pct, double hi_pct) {
  const auto finite_end = std::partition(values.begin(), values.end(), [](float x) { return std::isfinite(x); });
  const size_t n = static_cast<size_t>(finite_end - values.begin());
  if (n == 0) return std::nullopt;
  AutoLimits out;
  out.samples = static_cast<int64_t>(n);
  out.lo = Percentile(values, n, lo_pct);
  out.hi = Percentile(values, n, hi_pct);
  return out;
}

}  // namespace tilerender
