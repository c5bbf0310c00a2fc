// OME-XML (core/image/ome_xml.cpp: the ImageDescription of an OME-TIFF, parsed with pugixml into
// planes, channels and IFDs): the input is the XML text, parsed directly (inside a TIFF the fuzzer
// would rarely reach it).
#include "core/image/ome_xml.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string xml(reinterpret_cast<const char*>(data), size);
  if (!tilerender::LooksLikeOmeXml(xml)) return 0;
  auto pixels = tilerender::ParseOmeXml(xml, "image.ome.tif", "fuzz");
  if (!pixels.ok()) return 0;
  // Every plane the parse promises maps to an IFD.
  const tilerender::OmePixels& p = *pixels;
  if (p.size_c < 1 || p.size_z < 1 || p.size_time < 1) tilerender::fuzz::Violation("OME-XML sizes < 1");
  if (static_cast<int64_t>(p.ifds.size()) != p.size_c * p.size_z * p.size_time) {
    tilerender::fuzz::Violation("OME-XML planes without an IFD");
  }
  for (int64_t t = 0; t < p.size_time; ++t) {
    for (int64_t z = 0; z < p.size_z; ++z) {
      for (int64_t c = 0; c < p.size_c; ++c) (void)p.Ifd(c, z, t);
    }
  }
  return 0;
}
