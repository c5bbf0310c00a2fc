// TIFF files (libtiff through our reader: strips, tiles, page and SubIFD pyramids, OME-TIFF): the
// input is the file, opened through OpenImageFile as the daemon opens it (OpenSlide's vendor
// detection first, then libtiff; OpenSlide's reading has a harness of its own), and a vendor's file
// again with the libtiff reader forced. The last byte picks the page, so other directories are
// opened as images too.
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tilerender::fuzz;
  tilerender::OpenOptions options = SmallOptions();
  const std::string path = InputFile(data, size, "input.tif");
  OpenAndExercise(path, options);
  options.reader = "libtiff";
  if (tilerender::IsOpenSlideVendorFile(path)) OpenAndExercise(path, options);
  if (size > 0 && data[size - 1] < 4 && data[size - 1] > 0) {
    options.page = data[size - 1];
    OpenAndExercise(path, options);
  }
  return 0;
}
