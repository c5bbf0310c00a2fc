// PNG files (libpng through our reader): the input is the file, opened through OpenImageFile.
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tilerender::fuzz;
  OpenAndExercise(InputFile(data, size, "input.png"), SmallOptions());
  return 0;
}
