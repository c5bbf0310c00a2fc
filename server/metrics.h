#pragma once
// Prometheus text exposition (version 0.0.4) of the daemon's metrics: requests by transport, method
// and code; render latency histograms per stage (fetch, queue, draw, readback, encode, total); GPU
// and host cache bytes, hits, misses and evictions; images; queue depth; the HTTP response cache.
// No Prometheus C++ library is packaged in Debian 12, so this small writer is our own. Served at
// /metrics on the HTTP port and on --metrics-listen.

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "core/render/render_request.h"

namespace tilerender::server {

class App;

/// One metric family with a single unlabelled sample: its HELP and TYPE lines, then the sample.
void AppendMetric(std::string& out, const std::string& name, const char* type, const char* help, double value);

/// Counters and histograms fed by both transports. Thread-safe.
class RequestMetrics {
 public:
  static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  static constexpr std::array<const char*, 6> kStages = {"fetch", "queue", "draw", "readback", "encode", "total"};

  void CountRequest(const std::string& transport, const std::string& method, const std::string& code);
  /// One successful render: its stage times (ms) and its total in the daemon (ms).
  void ObserveRender(const RenderTimings& t, double total_ms);

  /// The exposition of these and of the app's engine, caches and images.
  std::string Exposition(const App& app, const std::string& extra = "") const;

 private:
  struct Histogram {
    std::array<int64_t, kBuckets.size()> counts{};  // cumulative at exposition, per bucket here
    int64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> requests_;
  std::array<Histogram, kStages.size()> stages_;
};

}  // namespace tilerender::server
