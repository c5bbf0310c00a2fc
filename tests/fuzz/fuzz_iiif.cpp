// IIIF Image API URLs (server/iiif.cpp: {region}/{size}/{rotation}/{quality}.{format} parsed and
// planned against an image; the channels= and interp= query values the HTTP front end parses).
// Input: "REGION/SIZE/ROTATION/QUALITY.FORMAT[?channels=...][&interp=...]", then optionally a line
// "WIDTH,HEIGHT" of the image (default 1000,800).
#include <charconv>

#include "core/render/render_request.h"
#include "server/iiif.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

int64_t Dimension(std::string_view s, int64_t fallback) {
  int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && v > 0 && v <= (int64_t{1} << 31) ? v : fallback;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace iiif = tilerender::server::iiif;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  std::string_view url = input.substr(0, newline);
  int64_t width = 1000, height = 800;
  if (newline != std::string_view::npos) {
    const auto wh = Split(input.substr(newline + 1), ',');
    if (wh.size() == 2) width = Dimension(wh[0], width), height = Dimension(wh[1], height);
  }
  const size_t q = url.find('?');
  const std::string_view query = q == std::string_view::npos ? std::string_view() : url.substr(q + 1);
  url = url.substr(0, q);
  for (std::string_view param : Split(query, '&')) {
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = param.substr(0, eq), value = param.substr(eq + 1);
    if (key == "channels") (void)tilerender::ParseChannelColormaps(value);
    if (key == "interp") (void)tilerender::ParseInterpolation(value);
  }
  const auto segments = Split(url, '/');
  if (segments.size() != 4) return 0;
  auto request = iiif::ParseImageRequest(segments[0], segments[1], segments[2], segments[3]);
  if (!request.ok()) return 0;
  (void)iiif::FormatExtension(request->format);
  (void)iiif::MediaType(request->format);
  // The daemon's defaults (--max-output-side 16384, 256 MP), and no limits at all.
  for (const iiif::Limits& limits : {iiif::Limits{16384, 16384, int64_t{256} << 20}, iiif::Limits{}}) {
    auto plan = iiif::PlanRequest(*request, width, height, limits);
    if (!plan.ok()) continue;
    const iiif::Plan& p = *plan;
    // What the HTTP front end builds its render from: a region inside the image, sizes >= 1.
    if (p.x < 0 || p.y < 0 || p.w < 1 || p.h < 1 || p.x + p.w > width || p.y + p.h > height) {
      tilerender::fuzz::Violation("IIIF region outside the image");
    }
    if (p.out_w < 1 || p.out_h < 1 || p.canvas_w < 1 || p.canvas_h < 1) tilerender::fuzz::Violation("IIIF empty output");
    if (limits.max_width > 0 && (p.out_w > limits.max_width || p.out_h > limits.max_height)) {
      tilerender::fuzz::Violation("IIIF output beyond the limits");
    }
  }
  return 0;
}
