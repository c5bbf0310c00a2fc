// TIFF comes with the file-reader issue; until then TIFF files are refused clearly.
#include "core/image/image_file.h"

namespace tilerender {

Result<OpenedImage> OpenTiff(const std::string& path, const OpenOptions&) {
  return Unimplemented(path + ": TIFF reading is not implemented yet");
}

}  // namespace tilerender
