#include "core/encode/jpeg_encoder.h"

#include <turbojpeg.h>

#include <memory>
#include <string>

namespace tilerender {

Result<std::vector<uint8_t>> EncodeJpeg(const uint8_t* rgbx, int width, int height, size_t stride,
                                        const JpegEncodeOptions& options) {
  if (options.quality < 1 || options.quality > 100) return InvalidArgument("JPEG quality must be 1..100");
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitCompress(), tjDestroy);
  if (!tj) return Internal("cannot start a JPEG encoder");
  unsigned char* jpeg = nullptr;  // TurboJPEG allocates, we free
  unsigned long size = 0;
  const int subsampling = options.quality >= 90 ? TJSAMP_444 : TJSAMP_420;
  const int flags = options.bottom_up ? TJFLAG_BOTTOMUP : 0;
  const int rc = tjCompress2(tj.get(), rgbx, width, static_cast<int>(stride), height, TJPF_RGBX, &jpeg, &size, subsampling,
                             options.quality, flags);
  if (rc != 0) {
    const std::string why = tjGetErrorStr2(tj.get());
    tjFree(jpeg);
    return Internal("JPEG encoding failed: " + why);
  }
  std::vector<uint8_t> out(jpeg, jpeg + size);
  tjFree(jpeg);
  return out;
}

}  // namespace tilerender
