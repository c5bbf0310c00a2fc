#include "core/encode/frame_encoder.h"

#include <algorithm>
#include <chrono>

#include "core/encode/png_encoder.h"

namespace tilerender {

Result<RenderOutput> EncodeFrame(Frame frame, OutputFormat format, int png_level) {
  const auto t0 = std::chrono::steady_clock::now();
  RenderOutput out;
  out.format = format;
  out.width = frame.width;
  out.height = frame.height;
  out.has_alpha = frame.has_alpha;
  out.scale_bar_um = frame.scale_bar_um;
  out.timings = frame.timings;
  uint8_t* px = frame.rgba.data();
  const size_t n = static_cast<size_t>(frame.width) * frame.height;
  if (frame.has_alpha) {
    // The framebuffer holds premultiplied color; PNG and raw output carry straight alpha.
    for (size_t i = 0; i < n; ++i) {
      uint8_t* p = px + 4 * i;
      const unsigned a = p[3];
      if (a == 0 || a == 255) continue;
      for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>(std::min(255u, (p[c] * 255u + a / 2) / a));
    }
  }
  const size_t stride = static_cast<size_t>(frame.width) * 4;
  if (format == OutputFormat::kPng) {
    TR_ASSIGN_OR_RETURN(out.data, EncodePng(px, frame.width, frame.height, stride,
                                            {.level = png_level, .write_alpha = frame.has_alpha, .bottom_up = true}));
  } else {
    out.data.resize(frame.rgba.size());
    for (int y = 0; y < frame.height; ++y) {
      std::copy_n(px + static_cast<size_t>(frame.height - 1 - y) * stride, stride,
                  out.data.data() + static_cast<size_t>(y) * stride);
    }
  }
  out.timings.encode_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace tilerender
