#include "server/iiif.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace tilerender::server::iiif {
namespace {

// A non-negative decimal as the specification writes them: digits, at most one '.', no sign, no
// exponent, not empty.
bool ParseNumber(std::string_view s, double* out, bool integer) {
  if (s.empty() || s.size() > 32) return false;
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  if (dots > (integer ? 0 : 1) || s == ".") return false;
  const std::string copy(s);
  char* end = nullptr;
  *out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size() && std::isfinite(*out);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

Status Bad(const std::string& what) { return InvalidArgument(what); }

// A size for a message: a count as digits, an absurd one (up to 1e300 from '^max' or 32 digits)
// short. Never through an integer cast, which such a double would overflow.
std::string Count(double v) {
  char text[32];
  std::snprintf(text, sizeof text, v < 1e15 ? "%.0f" : "%.3g", v);
  return text;
}

Result<Region> ParseRegion(std::string_view s) {
  Region r;
  if (s == "full") return r;
  if (s == "square") {
    r.kind = Region::Kind::kSquare;
    return r;
  }
  const bool pct = s.substr(0, 4) == "pct:";
  if (pct) s.remove_prefix(4);
  const auto parts = Split(s, ',');
  double v[4];
  if (parts.size() != 4) return Bad("region must be full, square, x,y,w,h or pct:x,y,w,h");
  for (int i = 0; i < 4; ++i) {
    if (!ParseNumber(parts[i], &v[i], !pct)) {
      return Bad(std::string("region ") + (pct ? "percentages" : "pixels") + " must be non-negative " +
                 (pct ? "numbers" : "integers"));
    }
  }
  r.kind = pct ? Region::Kind::kPercent : Region::Kind::kPixels;
  r.x = v[0], r.y = v[1], r.w = v[2], r.h = v[3];
  if (r.w <= 0 || r.h <= 0) return Bad("region width and height must be > 0");
  return r;
}

Result<Size> ParseSize(std::string_view s) {
  Size z;
  if (!s.empty() && s[0] == '^') {
    z.upscale = true;
    s.remove_prefix(1);
  }
  if (s == "max") return z;
  if (s.substr(0, 4) == "pct:") {
    z.kind = Size::Kind::kPercent;
    if (!ParseNumber(s.substr(4), &z.percent, false) || z.percent <= 0) return Bad("size pct:n needs n > 0");
    return z;
  }
  bool confined = false;
  if (!s.empty() && s[0] == '!') {
    confined = true;
    s.remove_prefix(1);
  }
  const auto parts = Split(s, ',');
  if (parts.size() != 2) return Bad("size must be max, w,, ,h, pct:n, w,h or !w,h (each may start with ^)");
  const bool has_w = !parts[0].empty(), has_h = !parts[1].empty();
  if ((has_w && !ParseNumber(parts[0], &z.w, true)) || (has_h && !ParseNumber(parts[1], &z.h, true))) {
    return Bad("size width and height must be non-negative integers");
  }
  if (confined) {
    if (!has_w || !has_h) return Bad("size !w,h needs both w and h");
    z.kind = Size::Kind::kConfined;
  } else if (has_w && has_h) {
    z.kind = Size::Kind::kExact;
  } else if (has_w) {
    z.kind = Size::Kind::kWidth;
  } else if (has_h) {
    z.kind = Size::Kind::kHeight;
  } else {
    return Bad("size ',' names neither width nor height");
  }
  if ((has_w && z.w <= 0) || (has_h && z.h <= 0)) return Bad("size width and height must be > 0");
  return z;
}

}  // namespace

Result<ImageRequest> ParseImageRequest(std::string_view region, std::string_view size, std::string_view rotation,
                                       std::string_view quality_format) {
  ImageRequest r;
  TR_ASSIGN_OR_RETURN(r.region, ParseRegion(region));
  TR_ASSIGN_OR_RETURN(r.size, ParseSize(size));
  if (!rotation.empty() && rotation[0] == '!') {
    r.mirror = true;
    rotation.remove_prefix(1);
  }
  if (!ParseNumber(rotation, &r.rotation, false) || r.rotation >= 360) {
    return Bad("rotation must be a number in [0, 360), optionally after '!'");
  }
  const size_t dot = quality_format.rfind('.');
  if (dot == std::string_view::npos) return Bad("the last segment must be {quality}.{format}");
  const std::string_view q = quality_format.substr(0, dot), f = quality_format.substr(dot + 1);
  if (q == "default") {
    r.quality = Quality::kDefault;
  } else if (q == "color") {
    r.quality = Quality::kColor;
  } else if (q == "gray") {
    r.quality = Quality::kGray;
  } else if (q == "bitonal") {
    r.quality = Quality::kBitonal;
  } else {
    return Bad("quality must be default, color, gray or bitonal");
  }
  if (f == "jpg") {
    r.format = Format::kJpg;
  } else if (f == "png") {
    r.format = Format::kPng;
  } else if (f == "webp") {
    r.format = Format::kWebp;
  } else if (f == "tif" || f == "gif" || f == "jp2" || f == "pdf") {
    return Unimplemented("format " + std::string(f) + " is not offered (jpg, png, webp)");
  } else {
    return Bad("format must be jpg, png or webp");
  }
  return r;
}

Result<Plan> PlanRequest(const ImageRequest& req, int64_t width, int64_t height, const Limits& limits) {
  Plan p;
  // Region: within the image; a region that does not overlap it is an error.
  double x = 0, y = 0, w = static_cast<double>(width), h = static_cast<double>(height);
  switch (req.region.kind) {
    case Region::Kind::kFull: break;
    case Region::Kind::kSquare: {
      const double side = std::min(w, h);
      x = std::floor((w - side) / 2), y = std::floor((h - side) / 2), w = h = side;
      break;
    }
    case Region::Kind::kPixels: x = req.region.x, y = req.region.y, w = req.region.w, h = req.region.h; break;
    case Region::Kind::kPercent:
      x = std::round(req.region.x / 100 * width), y = std::round(req.region.y / 100 * height);
      w = std::round(req.region.w / 100 * width), h = std::round(req.region.h / 100 * height);
      break;
  }
  if (x >= width || y >= height) return Bad("the region lies outside the image (" + std::to_string(width) + " x " +
                                            std::to_string(height) + ")");
  w = std::min(w, width - x), h = std::min(h, height - y);
  if (w < 1 || h < 1) return Bad("the region is empty");
  p.x = static_cast<int64_t>(x), p.y = static_cast<int64_t>(y), p.w = static_cast<int64_t>(w), p.h = static_cast<int64_t>(h);

  // Size, from the region's size.
  const double rw = static_cast<double>(p.w), rh = static_cast<double>(p.h);
  double ow = rw, oh = rh;
  const Size& s = req.size;
  switch (s.kind) {
    case Size::Kind::kMax:
      // The largest within the limits, keeping the aspect ratio; without '^' never above the region.
      ow = rw, oh = rh;
      if (s.upscale || limits.max_width > 0) {
        double f = s.upscale ? 1e300 : 1.0;
        if (limits.max_width > 0) f = std::min(f, limits.max_width / rw);
        if (limits.max_height > 0) f = std::min(f, limits.max_height / rh);
        if (limits.max_area > 0) f = std::min(f, std::sqrt(limits.max_area / (rw * rh)));
        if (f < 1 || s.upscale) ow = std::max(1.0, std::floor(rw * f)), oh = std::max(1.0, std::floor(rh * f));
      }
      break;
    case Size::Kind::kWidth: ow = s.w, oh = std::max(1.0, std::round(rh * s.w / rw)); break;
    case Size::Kind::kHeight: oh = s.h, ow = std::max(1.0, std::round(rw * s.h / rh)); break;
    case Size::Kind::kPercent:
      ow = std::max(1.0, std::round(rw * s.percent / 100)), oh = std::max(1.0, std::round(rh * s.percent / 100));
      break;
    case Size::Kind::kExact: ow = s.w, oh = s.h; break;
    case Size::Kind::kConfined: {
      const double f = std::min(s.w / rw, s.h / rh);
      ow = std::max(1.0, std::floor(rw * f + 1e-9)), oh = std::max(1.0, std::floor(rh * f + 1e-9));
      break;
    }
  }
  if (!s.upscale && (ow > rw || oh > rh)) {
    return Bad("size " + Count(ow) + " x " + Count(oh) + " is larger than the region (" + std::to_string(p.w) + " x " +
               std::to_string(p.h) + "); prefix the size with ^ to upscale");
  }
  if ((limits.max_width > 0 && ow > limits.max_width) || (limits.max_height > 0 && oh > limits.max_height) ||
      (limits.max_area > 0 && ow * oh > static_cast<double>(limits.max_area))) {
    return ResourceExhausted("size " + Count(ow) + " x " + Count(oh) + " exceeds the limits (maxWidth " +
                             std::to_string(limits.max_width) + ", maxHeight " + std::to_string(limits.max_height) +
                             ", maxArea " + std::to_string(limits.max_area) + ")");
  }
  // Without limits too: a render's sides are ints (and the rotated canvas below must fit).
  constexpr double kMaxSide = 1 << 30;
  if (ow > kMaxSide || oh > kMaxSide) {
    return ResourceExhausted("size " + Count(ow) + " x " + Count(oh) + " is larger than 2^30 pixels per side");
  }
  p.out_w = static_cast<int64_t>(ow), p.out_h = static_cast<int64_t>(oh);

  // Rotation: the canvas is the bounding box of the rotated scaled region.
  const double rot = req.rotation;
  if (rot == 0 || rot == 180) {
    p.canvas_w = p.out_w, p.canvas_h = p.out_h;
  } else if (rot == 90 || rot == 270) {
    p.canvas_w = p.out_h, p.canvas_h = p.out_w;
  } else {
    const double rad = rot * M_PI / 180, c = std::abs(std::cos(rad)), sn = std::abs(std::sin(rad));
    p.canvas_w = std::max<int64_t>(1, std::llround(ow * c + oh * sn));
    p.canvas_h = std::max<int64_t>(1, std::llround(ow * sn + oh * c));
  }
  return p;
}

const char* FormatExtension(Format f) {
  switch (f) {
    case Format::kJpg: return "jpg";
    case Format::kPng: return "png";
    case Format::kWebp: return "webp";
  }
  return "jpg";
}

const char* MediaType(Format f) {
  switch (f) {
    case Format::kJpg: return "image/jpeg";
    case Format::kPng: return "image/png";
    case Format::kWebp: return "image/webp";
  }
  return "application/octet-stream";
}

}  // namespace tilerender::server::iiif
