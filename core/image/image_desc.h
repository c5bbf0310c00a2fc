#pragma once
/// The image model (DESIGN §2): a pixel type, a channel count (1, or interleaved RGB / RGBA for
/// uint8) and a plane count (separate scalar channels of one image, as fluorescence microscopy has:
/// each plane a full image, rendered as a layer of its own); rows are packed, row 0 at the top; a
/// buffer holding several planes holds them one after the other.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tilerender {

/// kUint32 only for labels images (object ids); other uint32 data is read as float32.
enum class PixelType : uint8_t { kUint8, kUint16, kFloat32, kUint32 };

/// Planes (separate channels) an image may have.
inline constexpr int kMaxPlanes = 64;

size_t BytesPerSample(PixelType type);
const char* PixelTypeName(PixelType type);  ///< "uint8", "uint16", "float32", "uint32"
/// Parses "uint8", "uint16", "float32", "uint32" (also "u8", "u16", "f32", "u32").
Result<PixelType> ParsePixelType(std::string_view name);

struct ImageDesc {
  int64_t width = 0;
  int64_t height = 0;
  PixelType type = PixelType::kUint8;
  int channels = 1;  ///< 1 for any type; 3 (RGB) or 4 (RGBA) for uint8
  int planes = 1;    ///< separate scalar channels (fluorescence); > 1 only with channels == 1

  size_t bytes_per_pixel() const { return BytesPerSample(type) * channels; }  ///< of one plane
  size_t row_bytes() const { return bytes_per_pixel() * static_cast<size_t>(width); }
  size_t plane_bytes() const { return row_bytes() * static_cast<size_t>(height); }
  /// Every plane. Only meaningful after ValidateDesc() succeeded.
  size_t byte_size() const { return plane_bytes() * static_cast<size_t>(planes); }
  std::string ToString() const;  ///< "4000x3000 uint16 x1", "2000x2000 uint16 x1 4 planes"
};

/// Limits checked before any memory is allocated for an image.
struct ImageLimits {
  int64_t max_side = int64_t{1} << 20;        ///< per dimension
  int64_t max_pixels = int64_t{1} << 38;      ///< 275 Gpx (a 100000 x 190000 slide is 19 Gpx)
  /// Bytes of an image held whole in memory (a decoded PNG, a converted NPY, an upload). Images
  /// read a tile at a time (TIFF, memory-mapped NPY) are not bounded by it: see Paged().
  int64_t max_bytes = int64_t{64} << 30;      ///< 64 GiB

  /// The limits for an image that is never held whole in memory.
  ImageLimits Paged() const {
    ImageLimits l = *this;
    l.max_bytes = INT64_MAX;
    return l;
  }
};

/// Sizes positive and within limits, byte count free of overflow, supported type x channels.
Status ValidateDesc(const ImageDesc& desc, const ImageLimits& limits);

}  // namespace tilerender
