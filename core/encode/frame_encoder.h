#pragma once
/// The second half of a render: a frame read back from the GPU (premultiplied RGBA, rows bottom-up)
/// becomes a PNG, JPEG or WebP file or raw top-down straight-alpha RGBA: the one place where the
/// output format is switched on. Runs on any thread, off the render thread.

#include "core/render/render_request.h"

namespace tilerender {

struct EncodeSpec {
  OutputFormat format = OutputFormat::kPng;
  int png_level = kDefaultPngLevel;
  std::optional<int> quality;  ///< JPEG (default 85), lossy WebP (default 80)
  bool lossless = false;       ///< WebP
  Tone tone = Tone::kColor;
  /// JPEG has no alpha: a translucent frame is composited over this color made opaque (so
  /// uncovered pixels show the background's color).
  Rgba background{0, 0, 0, 1};
};

inline constexpr int kDefaultJpegQuality = 85;
inline constexpr int kDefaultWebpQuality = 80;

/// The encoding a request asks for.
EncodeSpec EncodeSpecOf(const RenderRequest& request);

Result<RenderOutput> EncodeFrame(Frame frame, const EncodeSpec& spec);

}  // namespace tilerender
