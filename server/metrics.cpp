#include "server/metrics.h"

#include <cstdio>

#include "server/app.h"

namespace tilerender::server {
namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// A label value: backslash, double quote and newline escaped.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Head(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void Sample(std::string& out, const std::string& name, double v, const std::string& labels = "") {
  out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + Num(v) + "\n";
}

void Cache(std::string& out, const std::string& which, int64_t budget, int64_t bytes, int64_t entries, int64_t hits,
           int64_t misses, int64_t evictions) {
  const struct {
    const char* suffix;
    const char* type;
    const char* help;
    int64_t value;
  } series[] = {
      {"budget_bytes", "gauge", "the cache's byte budget", budget},
      {"bytes", "gauge", "bytes held now", bytes},
      {"entries", "gauge", "tiles (GPU) or decoded chunks (host) held now", entries},
      {"hits_total", "counter", "lookups that found their entry", hits},
      {"misses_total", "counter", "lookups that paged in (GPU) or decoded (host)", misses},
      {"evictions_total", "counter", "entries evicted to stay within the budget", evictions},
  };
  for (const auto& s : series) {
    AppendMetric(out, "tilerender_" + which + "_cache_" + s.suffix, s.type, s.help, static_cast<double>(s.value));
  }
}

}  // namespace

void AppendMetric(std::string& out, const std::string& name, const char* type, const char* help, double value) {
  Head(out, name.c_str(), type, help);
  Sample(out, name, value);
}

void RequestMetrics::CountRequest(const std::string& transport, const std::string& method, const std::string& code) {
  std::lock_guard lock(mu_);
  ++requests_[{transport, method, code}];
}

void RequestMetrics::ObserveRender(const RenderTimings& t, double total_ms) {
  const double ms[kStages.size()] = {t.fetch_ms, t.queue_ms, t.draw_ms, t.readback_ms, t.encode_ms, total_ms};
  std::lock_guard lock(mu_);
  for (size_t s = 0; s < kStages.size(); ++s) {
    const double v = ms[s] / 1000.0;
    Histogram& h = stages_[s];
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      if (v <= kBuckets[b]) {
        ++h.counts[b];
        break;
      }
    }
    ++h.count;
    h.sum += v;
  }
}

std::string RequestMetrics::Exposition(const App& app, const std::string& extra) const {
  std::string out;
  {
    std::lock_guard lock(mu_);
    Head(out, "tilerender_requests_total", "counter", "requests answered, by transport, method and status code");
    for (const auto& [key, n] : requests_) {
      const auto& [transport, method, code] = key;
      Sample(out, "tilerender_requests_total", static_cast<double>(n),
             "transport=\"" + Label(transport) + "\",method=\"" + Label(method) + "\",code=\"" + Label(code) + "\"");
    }
    Head(out, "tilerender_render_stage_seconds", "histogram",
         "time of successful renders in the daemon, per stage (total: request to reply)");
    for (size_t s = 0; s < kStages.size(); ++s) {
      const Histogram& h = stages_[s];
      const std::string stage = std::string("stage=\"") + kStages[s] + "\"";
      int64_t cumulative = 0;
      for (size_t b = 0; b < kBuckets.size(); ++b) {
        cumulative += h.counts[b];
        Sample(out, "tilerender_render_stage_seconds_bucket", static_cast<double>(cumulative),
               stage + ",le=\"" + Num(kBuckets[b]) + "\"");
      }
      Sample(out, "tilerender_render_stage_seconds_bucket", static_cast<double>(h.count), stage + ",le=\"+Inf\"");
      Sample(out, "tilerender_render_stage_seconds_sum", h.sum, stage);
      Sample(out, "tilerender_render_stage_seconds_count", static_cast<double>(h.count), stage);
    }
  }
  const EngineStats s = app.engine().stats();
  AppendMetric(out, "tilerender_renders_total", "counter", "successful renders", static_cast<double>(app.metrics().served()));
  AppendMetric(out, "tilerender_render_errors_total", "counter", "renders refused or failed",
               static_cast<double>(app.metrics().errors()));
  AppendMetric(out, "tilerender_images", "gauge", "images loaded", static_cast<double>(app.registry().size()));
  AppendMetric(out, "tilerender_queue_depth", "gauge", "renders waiting for the render thread", s.queue_depth);
  AppendMetric(out, "tilerender_gpu_textures", "gauge", "live GL textures", static_cast<double>(s.live_textures));
  Cache(out, "gpu", s.gpu.budget_bytes, s.gpu.bytes, s.gpu.tiles, s.gpu.hits, s.gpu.misses, s.gpu.evictions);
  AppendMetric(out, "tilerender_gpu_out_of_memory_total", "counter",
               "tile textures the driver could not allocate (each retried once after evicting unpinned tiles)",
               static_cast<double>(s.gpu.out_of_memory));
  Cache(out, "host", s.host.budget_bytes, s.host.bytes, s.host.entries, s.host.hits, s.host.misses, s.host.evictions);
  AppendMetric(out, "tilerender_uptime_seconds", "gauge", "seconds since the daemon started", app.uptime_s());
  return out + extra;
}

}  // namespace tilerender::server
