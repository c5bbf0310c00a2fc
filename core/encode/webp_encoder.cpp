#include "core/encode/webp_encoder.h"

#include <webp/encode.h>

#include <string>

namespace tilerender {
namespace {

int WriteToVector(const uint8_t* data, size_t size, const WebPPicture* picture) {
  auto* out = static_cast<std::vector<uint8_t>*>(picture->custom_ptr);
  out->insert(out->end(), data, data + size);
  return 1;
}

}  // namespace

Result<std::vector<uint8_t>> EncodeWebp(const uint8_t* top, int width, int height, std::ptrdiff_t stride,
                                        const WebpEncodeOptions& options) {
  if (options.quality < 0 || options.quality > 100) return InvalidArgument("WebP quality must be 0..100");
  if (width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION) {
    return InvalidArgument("WebP holds at most " + std::to_string(WEBP_MAX_DIMENSION) + " pixels per side");
  }
  WebPConfig config;
  if (options.effort > 9 || (!options.lossless && options.effort > 6)) return InvalidArgument("WebP effort out of range");
  if (options.lossless) {
    if (!WebPConfigInit(&config) || !WebPConfigLosslessPreset(&config, options.effort < 0 ? 0 : options.effort)) {
      return Internal("libwebp version mismatch");
    }
  } else {
    if (!WebPConfigInit(&config)) return Internal("libwebp version mismatch");
    config.quality = static_cast<float>(options.quality);
    config.method = options.effort < 0 ? 0 : options.effort;
  }
  config.thread_level = 1;  // libwebp's own helper thread where it has one
  WebPPicture picture;
  if (!WebPPictureInit(&picture)) return Internal("libwebp version mismatch");
  picture.use_argb = options.lossless ? 1 : 0;
  picture.width = width;
  picture.height = height;
  // libwebp walks rows by the signed stride (it checks |stride|), so bottom-up frames need no copy.
  const int imported = options.write_alpha ? WebPPictureImportRGBA(&picture, top, static_cast<int>(stride))
                                           : WebPPictureImportRGBX(&picture, top, static_cast<int>(stride));
  if (!imported) {
    WebPPictureFree(&picture);
    return ResourceExhausted("no memory for a WebP picture");
  }
  std::vector<uint8_t> out;
  picture.writer = WriteToVector;
  picture.custom_ptr = &out;
  const bool ok = WebPEncode(&config, &picture) != 0;
  const int error = picture.error_code;
  WebPPictureFree(&picture);
  if (!ok) return Internal("WebP encoding failed (libwebp error " + std::to_string(error) + ")");
  return out;
}

}  // namespace tilerender
