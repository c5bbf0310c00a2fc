#include "core/image/image_desc.h"

namespace tilerender {

size_t BytesPerSample(PixelType type) {
  switch (type) {
    case PixelType::kUint8: return 1;
    case PixelType::kUint16: return 2;
    case PixelType::kFloat32:
    case PixelType::kUint32: return 4;
  }
  return 0;
}

const char* PixelTypeName(PixelType type) {
  switch (type) {
    case PixelType::kUint8: return "uint8";
    case PixelType::kUint16: return "uint16";
    case PixelType::kFloat32: return "float32";
    case PixelType::kUint32: return "uint32";
  }
  return "unknown";
}

Result<PixelType> ParsePixelType(std::string_view name) {
  if (name == "uint8" || name == "u8") return PixelType::kUint8;
  if (name == "uint16" || name == "u16") return PixelType::kUint16;
  if (name == "float32" || name == "f32") return PixelType::kFloat32;
  if (name == "uint32" || name == "u32") return PixelType::kUint32;
  return InvalidArgument("unknown pixel type '" + std::string(name) +
                         "' (known: uint8, uint16, float32, uint32)");
}

std::string ImageDesc::ToString() const {
  return std::to_string(width) + "x" + std::to_string(height) + " " + PixelTypeName(type) + " x" +
         std::to_string(channels) + (planes > 1 ? " " + std::to_string(planes) + " planes" : "");
}

Status ValidateDesc(const ImageDesc& d, const ImageLimits& limits) {
  if (d.width <= 0 || d.height <= 0) {
    return InvalidArgument("image size must be positive, got " + std::to_string(d.width) + "x" +
                           std::to_string(d.height));
  }
  if (d.channels != 1 && d.channels != 3 && d.channels != 4) {
    return InvalidArgument("channels must be 1, 3 or 4, got " + std::to_string(d.channels));
  }
  if (d.channels != 1 && d.type != PixelType::kUint8) {
    return InvalidArgument(std::string("RGB(A) images must be uint8, got ") + PixelTypeName(d.type));
  }
  if (d.planes < 1 || d.planes > kMaxPlanes) {
    return InvalidArgument("planes must be 1.." + std::to_string(kMaxPlanes) + ", got " + std::to_string(d.planes));
  }
  if (d.planes > 1 && d.channels != 1) {
    return InvalidArgument("an image of several planes has scalar (one-channel) planes, got " +
                           std::to_string(d.channels) + " channels");
  }
  if (d.width > limits.max_side || d.height > limits.max_side) {
    return InvalidArgument("image " + std::to_string(d.width) + "x" + std::to_string(d.height) +
                           " exceeds the per-side limit of " + std::to_string(limits.max_side));
  }
  int64_t pixels = 0;
  int64_t bytes = 0;
  if (__builtin_mul_overflow(d.width, d.height, &pixels) || pixels > limits.max_pixels) {
    return InvalidArgument("image " + std::to_string(d.width) + "x" + std::to_string(d.height) +
                           " exceeds the limit of " + std::to_string(limits.max_pixels) + " pixels");
  }
  if (__builtin_mul_overflow(pixels, static_cast<int64_t>(d.bytes_per_pixel()) * d.planes, &bytes) ||
      bytes > limits.max_bytes) {
    return InvalidArgument("image " + d.ToString() + " exceeds the limit of " +
                           std::to_string(limits.max_bytes) + " bytes");
  }
  return Status::Ok();
}

}  // namespace tilerender
