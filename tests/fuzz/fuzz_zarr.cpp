// OME-Zarr stores (group attributes with `multiscales`/`omero`, Zarr v2 `.zarray` and v3
// `zarr.json` array metadata, chunks through their codecs): the input is a tiny store packed into
// one file, unpacked into a directory on a tmpfs and opened through OpenImageFile.
//
// Packing (tests/fuzz/make_corpus.sh packs the stores in ../shared/testdata this way):
//   '2' or '3' (the Zarr version), then sections separated by the line "--" ("\n--\n"):
//   group metadata (v2 .zattrs, v3 zarr.json), then per dataset "0", "1", "2": its array metadata
//   (v2 0/.zarray, v3 0/zarr.json) and the bytes of its first chunk (all chunk indices 0).
#include "core/image/zarr_array.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace fs = std::filesystem;

std::vector<std::string_view> Sections(std::string_view s) {
  static constexpr std::string_view kSep = "\n--\n";
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t at = s.find(kSep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + kSep.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tilerender::fuzz;
  if (size < 1 || (data[0] != '2' && data[0] != '3')) return -1;  // not a packed store: not kept
  const bool v3 = data[0] == '3';
  const std::vector<std::string_view> sections = Sections({reinterpret_cast<const char*>(data) + 1, size - 1});
  const std::string dir = ScratchDir() + "/store.zarr";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  if (v3) {
    WriteFile(dir + "/zarr.json", sections[0]);
  } else {
    WriteFile(dir + "/.zgroup", std::string_view(R"({"zarr_format": 2})"));
    WriteFile(dir + "/.zattrs", sections[0]);
  }
  for (size_t i = 1, dataset = 0; i < sections.size() && dataset < 3; i += 2, ++dataset) {
    const std::string array_dir = dir + "/" + std::to_string(dataset);
    fs::create_directories(array_dir);
    WriteFile(array_dir + (v3 ? "/zarr.json" : "/.zarray"), sections[i]);
    if (i + 1 >= sections.size()) break;
    // The first chunk's key, as the array's metadata spells it (when it parses).
    auto array = tilerender::ZarrArray::Open(array_dir, "fuzz");
    if (!array.ok()) continue;
    std::string key = array->format == 3 && array->v3_default_keys ? "c" : "";
    for (size_t d = 0; d < array->shape.size(); ++d) key += (key.empty() ? "" : std::string(1, array->separator)) + "0";
    const fs::path chunk = fs::path(array_dir) / key;
    fs::create_directories(chunk.parent_path());
    WriteFile(chunk.string(), sections[i + 1]);
  }
  OpenAndExercise(dir, SmallOptions());
  return 0;
}
