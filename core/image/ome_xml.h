#pragma once
/// The OME-XML of an OME-TIFF (its first ImageDescription): which IFD holds each (c, z, t) plane of
/// the first Image, channel names and colors, the physical pixel size. Pure parsing (pugixml).

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tilerender {

struct OmeChannel {
  std::string name;
  uint32_t color = 0;  ///< 0xRRGGBBAA (OME's signed RGBA integer), 0 when absent
  int samples = 1;     ///< SamplesPerPixel: 3 for an RGB channel
};

struct OmePixels {
  std::string dimension_order;  ///< e.g. "XYZCT"
  int64_t size_x = 0, size_y = 0, size_z = 1, size_c = 1, size_time = 1;
  std::string type;              ///< "uint16", ...
  double physical_x_um = 0, physical_y_um = 0;  ///< 0 when absent
  std::vector<OmeChannel> channels;
  std::vector<int64_t> ifds;  ///< IFD of each plane, indexed by PlaneIndex()

  int64_t PlaneIndex(int64_t c, int64_t z, int64_t t) const { return (t * size_z + z) * size_c + c; }
  int64_t Ifd(int64_t c, int64_t z, int64_t t) const { return ifds[static_cast<size_t>(PlaneIndex(c, z, t))]; }
};

/// Whether an ImageDescription looks like OME-XML (worth parsing).
bool LooksLikeOmeXml(const std::string& description);

/// Parses the first Image's Pixels. `file_name` (the TIFF's own name) tells single-file datasets
/// from multi-file ones. INVALID_ARGUMENT naming what is wrong (bad XML, missing or inconsistent
/// sizes, planes that map to no IFD); UNIMPLEMENTED for planes stored in other files.
Result<OmePixels> ParseOmeXml(const std::string& xml, const std::string& file_name, const std::string& name);

}  // namespace tilerender
