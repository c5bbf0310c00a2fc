// Batch manifests (client/batch.cpp: the JSON of `tilerender batch`, its images and views with
// defaults, colormaps, colors, layers): the input is the manifest file.
#include "client/batch.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tilerender::fuzz;
  const std::string path = InputFile(data, size, "manifest.json");
  auto views = tilerender::client::ReadManifestViews(path);
  if (!views.ok()) return 0;
  size_t bytes = 0;
  for (const auto& v : *views) {
    if (v.request.ok()) bytes += v.request->ByteSizeLong();
  }
  auto images = tilerender::client::ReadManifestImages(path);
  if (!images.ok()) Violation("the views of a manifest parsed, its images did not");
  for (const auto& i : *images) bytes += i.id.size() + i.path.size();
  volatile size_t sink = bytes;
  (void)sink;
  return 0;
}
