#pragma once
/// Colormaps (DESIGN §3): named (matplotlib/napari values), custom control points, or a raw
/// 256-entry RGBA table. Every colormap resolves to a LUT that the renderer samples at t with linear
/// interpolation between entries: x = t * (N - 1), mix(lut[floor x], lut[floor x + 1], fract x).

#include <string>
#include <vector>

#include "core/status.h"

namespace tilerender {

struct Rgba {
  float r = 0, g = 0, b = 0, a = 1;
  bool operator==(const Rgba&) const = default;
};

struct ControlPoint {
  double position = 0;  ///< in [0, 1]
  Rgba color;
};

/// Exactly one of: a name, control points, or a LUT. All empty means "gray".
struct ColormapSpec {
  std::string name;
  std::vector<ControlPoint> points;
  std::vector<Rgba> lut;  ///< exactly kRawLutSize entries, components in [0, 1]
};

inline constexpr size_t kRawLutSize = 256;
/// Control points are resampled into a LUT of this many entries.
inline constexpr size_t kControlPointLutSize = 256;

struct Lut {
  std::vector<Rgba> entries;  ///< at least 2
  std::string cache_key;      ///< the name for named maps (GPU textures are cached by it), else empty
};

/// Known names, in the order GetServerInfo lists them.
const std::vector<std::string>& ColormapNames();

/// INVALID_ARGUMENT for an unknown name (the message lists the known ones), a LUT of the wrong
/// length, positions outside [0, 1] or unsorted, or components outside [0, 1] / not finite.
Result<Lut> ResolveColormap(const ColormapSpec& spec);

}  // namespace tilerender
