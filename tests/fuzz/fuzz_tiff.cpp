// TIFF files (libtiff through our reader: strips, tiles, page and SubIFD pyramids, OME-TIFF): the
// input is the file, opened through OpenImageFile with the libtiff reader (OpenSlide has a harness
// of its own). The last byte picks the page, so other directories are opened as images too.
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tilerender::fuzz;
  tilerender::OpenOptions options = SmallOptions();
  options.reader = "libtiff";
  const std::string path = InputFile(data, size, "input.tif");
  OpenAndExercise(path, options);
  if (size > 0 && data[size - 1] < 4 && data[size - 1] > 0) {
    options.page = data[size - 1];
    OpenAndExercise(path, options);
  }
  return 0;
}
