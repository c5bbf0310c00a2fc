#include "core/render/render_request.h"

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
