// NPY files (versions 1-3, every dtype we convert, memory-mapped or read): the input is the file.
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tilerender::fuzz;
  OpenAndExercise(InputFile(data, size, "input.npy"), SmallOptions());
  return 0;
}
