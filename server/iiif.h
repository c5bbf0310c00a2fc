#pragma once
// IIIF Image API 3.0 (https://iiif.io/api/image/3.0/): the parameters of an image request
// {region}/{size}/{rotation}/{quality}.{format}, parsed without any I/O, and their plan: the region
// in image pixels, the scaled size and the output canvas. Errors follow the specification: a
// malformed or impossible request is INVALID_ARGUMENT (400), a valid one we do not do is
// UNIMPLEMENTED (501), an output beyond the limits RESOURCE_EXHAUSTED (413 here).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tilerender::server::iiif {

struct Region {
  enum class Kind { kFull, kSquare, kPixels, kPercent } kind = Kind::kFull;
  double x = 0, y = 0, w = 0, h = 0;
};

struct Size {
  enum class Kind { kMax, kWidth, kHeight, kPercent, kExact, kConfined } kind = Kind::kMax;
  bool upscale = false;  ///< "^": may be larger than the region
  double w = 0, h = 0, percent = 0;
};

enum class Quality { kDefault, kColor, kGray, kBitonal };
enum class Format { kJpg, kPng, kWebp };

struct ImageRequest {
  Region region;
  Size size;
  bool mirror = false;  ///< "!n": flipped horizontally before rotating
  double rotation = 0;  ///< degrees clockwise, [0, 360)
  Quality quality = Quality::kDefault;
  Format format = Format::kJpg;
};

/// Parses the four segments after the identifier ("full", "max", "0", "default.jpg").
Result<ImageRequest> ParseImageRequest(std::string_view region, std::string_view size, std::string_view rotation,
                                       std::string_view quality_format);

/// What to render for a request on a width x height image.
struct Plan {
  int64_t x = 0, y = 0, w = 0, h = 0;  ///< the region in image pixels, within the image
  int64_t out_w = 0, out_h = 0;        ///< the region scaled (before rotation)
  int64_t canvas_w = 0, canvas_h = 0;  ///< the output: the scaled region's bounding box after rotation
};

struct Limits {
  int64_t max_width = 0, max_height = 0, max_area = 0;  ///< of the scaled region
};

Result<Plan> PlanRequest(const ImageRequest& request, int64_t width, int64_t height, const Limits& limits);

const char* FormatExtension(Format f);  ///< "jpg", "png", "webp"
const char* MediaType(Format f);        ///< "image/jpeg", ...

}  // namespace tilerender::server::iiif
