// Whole-slide files through OpenSlide (our OpenOpenSlide: levels, properties, the probe read, regions
// on demand, associated images): the input is the file, named .svs (Aperio and the other TIFF-based
// vendors are told by their contents). OpenSlide itself is not instrumented: the fuzzer sees our
// reader's coverage only.
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tilerender::fuzz;
  tilerender::OpenOptions options = SmallOptions();
  options.reader = "openslide";
  const std::string path = InputFile(data, size, "input.svs");
  auto opened = tilerender::OpenImageFile(path, options);
  if (!opened.ok()) return 0;
  Exercise(*opened->source);
  // The first associated image (label, macro, thumbnail), as a load that names it reads it.
  if (!opened->associated_images.empty()) {
    options.associated_image = opened->associated_images.front();
    OpenAndExercise(path, options);
  }
  return 0;
}
