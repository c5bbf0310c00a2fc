#include "core/render/render_request.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace tilerender {

Result<Interpolation> ParseInterpolation(std::string_view name) {
  if (name == "nearest") return Interpolation::kNearest;
  if (name == "linear") return Interpolation::kLinear;
  return InvalidArgument("unknown interpolation '" + std::string(name) + "' (nearest, linear)");
}

Result<Blending> ParseBlending(std::string_view name) {
  for (Blending b : {Blending::kTranslucent, Blending::kAdditive, Blending::kOpaque,
                     Blending::kMinimum, Blending::kMaximum}) {
    if (name == BlendingName(b)) return b;
  }
  return InvalidArgument("unknown blending '" + std::string(name) +
                         "' (translucent, additive, opaque, minimum, maximum)");
}

Result<std::vector<ChannelColormap>> ParseChannelColormaps(std::string_view spec) {
  std::vector<ChannelColormap> out;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    const std::string_view item = spec.substr(start, end - start);
    const size_t colon = item.find(':');
    int channel = -1;
    char tail = 0;
    if (colon == std::string_view::npos || colon + 1 == item.size() ||
        std::sscanf(std::string(item.substr(0, colon)).c_str(), "%d%c", &channel, &tail) != 1 || channel < 0) {
      return InvalidArgument("item '" + std::string(item.substr(0, 40)) + "' must be CHANNEL:COLORMAP, e.g. 0:green");
    }
    if (out.size() == 64) return InvalidArgument("more than 64 channels");
    out.push_back({channel, std::string(item.substr(colon + 1))});
    start = end + 1;
  }
  return out;
}

const char* InterpolationName(Interpolation i) {
  return i == Interpolation::kLinear ? "linear" : "nearest";
}

const char* BlendingName(Blending b) {
  switch (b) {
    case Blending::kTranslucent: return "translucent";
    case Blending::kAdditive: return "additive";
    case Blending::kOpaque: return "opaque";
    case Blending::kMinimum: return "minimum";
    case Blending::kMaximum: return "maximum";
  }
  return "translucent";
}

}  // namespace tilerender
