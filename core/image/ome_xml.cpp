#include "core/image/ome_xml.h"

#include <pugixml.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace tilerender {
namespace {

Status Bad(const std::string& name, const std::string& what) { return InvalidArgument(name + ": OME-XML " + what); }

// Micrometres per OME length unit; 0 for one this reader does not know.
double MicrometresPer(const std::string& unit) {
  if (unit.empty() || unit == "\xC2\xB5m" || unit == "um" || unit == "\xCE\xBCm") return 1;  // µ as micro sign or mu
  if (unit == "nm") return 1e-3;
  if (unit == "\xC3\x85") return 1e-4;  // Å
  if (unit == "mm") return 1e3;
  if (unit == "cm") return 1e4;
  if (unit == "m") return 1e6;
  return 0;
}

// The first child element with this local name (OME files use a default namespace, sometimes a
// prefix: "ome:Image").
pugi::xml_node Child(const pugi::xml_node& n, const char* local) {
  for (pugi::xml_node c : n.children()) {
    const char* name = c.name();
    const char* colon = std::strchr(name, ':');
    if (std::strcmp(colon ? colon + 1 : name, local) == 0) return c;
  }
  return {};
}

std::vector<pugi::xml_node> Children(const pugi::xml_node& n, const char* local) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node c : n.children()) {
    const char* name = c.name();
    const char* colon = std::strchr(name, ':');
    if (std::strcmp(colon ? colon + 1 : name, local) == 0) out.push_back(c);
  }
  return out;
}

}  // namespace

bool LooksLikeOmeXml(const std::string& d) { return d.find("<OME") != std::string::npos || d.find(":OME") != std::string::npos; }

Result<OmePixels> ParseOmeXml(const std::string& xml, const std::string& file_name, const std::string& name) {
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  if (!parsed) return Bad(name, std::string("does not parse: ") + parsed.description());
  const pugi::xml_node ome = Child(doc, "OME");
  const pugi::xml_node image = Child(ome, "Image");
  const pugi::xml_node px = Child(image, "Pixels");
  if (!px) return Bad(name, "has no OME/Image/Pixels");
  OmePixels p;
  p.dimension_order = px.attribute("DimensionOrder").as_string("XYZCT");
  p.size_x = px.attribute("SizeX").as_llong(0);
  p.size_y = px.attribute("SizeY").as_llong(0);
  p.size_z = px.attribute("SizeZ").as_llong(1);
  p.size_c = px.attribute("SizeC").as_llong(1);
  p.size_time = px.attribute("SizeT").as_llong(1);
  p.type = px.attribute("Type").as_string("");
  static const char* kOrders[] = {"XYZCT", "XYZTC", "XYCTZ", "XYCZT", "XYTCZ", "XYTZC"};
  if (std::find_if(std::begin(kOrders), std::end(kOrders), [&](const char* o) { return p.dimension_order == o; }) ==
      std::end(kOrders)) {
    return Bad(name, "DimensionOrder \"" + p.dimension_order + "\" is not one of XYZCT, XYZTC, XYCTZ, XYCZT, XYTCZ, XYTZC");
  }
  // At most 2^20 planes in all: each is an IFD of the file (libtiff 4.5 reads no more than 2^20),
  // and mapping them costs time and 8 bytes each before any IFD is read.
  if (p.size_x <= 0 || p.size_y <= 0 || p.size_z <= 0 || p.size_c <= 0 || p.size_time <= 0 || p.size_z > (1 << 20) ||
      p.size_c > (1 << 20) || p.size_time > (1 << 20) || p.size_z * p.size_c * p.size_time > (int64_t{1} << 20)) {
    return Bad(name, "sizes are missing or out of range (SizeX/Y/Z/C/T)");
  }
  const double ux = MicrometresPer(px.attribute("PhysicalSizeXUnit").as_string(""));
  const double uy = MicrometresPer(px.attribute("PhysicalSizeYUnit").as_string(""));
  p.physical_x_um = px.attribute("PhysicalSizeX").as_double(0) * ux;
  p.physical_y_um = px.attribute("PhysicalSizeY").as_double(0) * uy;
  if (!(p.physical_x_um > 0) || !(p.physical_y_um > 0)) p.physical_x_um = p.physical_y_um = 0;
  for (const pugi::xml_node& c : Children(px, "Channel")) {
    OmeChannel ch;
    ch.name = c.attribute("Name").as_string("");
    if (c.attribute("Color")) ch.color = static_cast<uint32_t>(c.attribute("Color").as_int(0));
    ch.samples = c.attribute("SamplesPerPixel").as_int(1);
    p.channels.push_back(std::move(ch));
  }

  // `count` planes in DimensionOrder (its first letter after XY varying fastest) from (c, z, t),
  // mapped to consecutive IFDs from `ifd`; returns how many there were before the last plane. An
  // odometer: no division per plane (an image may have 2^20 of them).
  const int64_t planes = p.size_z * p.size_c * p.size_time;
  p.ifds.assign(static_cast<size_t>(planes), -1);
  auto map_planes = [&](int64_t c, int64_t z, int64_t t, int64_t count, int64_t ifd) {
    int64_t* digit[3];
    int64_t size[3];
    for (int k = 0; k < 3; ++k) {
      const char d = p.dimension_order[k + 2];
      digit[k] = d == 'Z' ? &z : d == 'C' ? &c : &t;
      size[k] = d == 'Z' ? p.size_z : d == 'C' ? p.size_c : p.size_time;
    }
    for (int64_t k = 0; k < count; ++k) {
      p.ifds[static_cast<size_t>(p.PlaneIndex(c, z, t))] = ifd + k;
      int i = 0;
      while (i < 3 && ++*digit[i] == size[i]) *digit[i++] = 0;
      if (i == 3) return k + 1;  // that was the last plane
    }
    return count;
  };
  const std::vector<pugi::xml_node> data = Children(px, "TiffData");
  if (data.empty()) {
    map_planes(0, 0, 0, planes, 0);
  } else {
    int64_t mapped = 0;  // by all TiffData together
    for (const pugi::xml_node& d : data) {
      if (const pugi::xml_node uuid = Child(d, "UUID"); uuid && uuid.attribute("FileName") &&
                                                          std::string(uuid.attribute("FileName").as_string()) != file_name) {
        return Unimplemented(name + ": planes stored in other files (" + uuid.attribute("FileName").as_string() +
                             ") are not read; open a single-file OME-TIFF");
      }
      const int64_t ifd = d.attribute("IFD").as_llong(0);
      const int64_t count = d.attribute("PlaneCount").as_llong(d.attribute("IFD") ? 1 : planes);
      const int64_t c0 = d.attribute("FirstC").as_llong(0), z0 = d.attribute("FirstZ").as_llong(0),
                    t0 = d.attribute("FirstT").as_llong(0);
      // (IFD indices are TIFF directory numbers: above INT32_MAX, ifd + k could overflow.)
      if (ifd < 0 || ifd > INT32_MAX || count < 0 || c0 < 0 || c0 >= p.size_c || z0 < 0 || z0 >= p.size_z || t0 < 0 ||
          t0 >= p.size_time) {
        return Bad(name, "TiffData out of range");
      }
      // Consecutive planes from (c0, z0, t0). Overlapping TiffData would make the work grow with
      // their product (a few KB of XML costing minutes): more planes than the image has are refused.
      mapped += map_planes(c0, z0, t0, count, ifd);
      if (mapped > planes) return Bad(name, "TiffData elements map more planes than the image has");
    }
  }
  const int64_t unmapped = std::count(p.ifds.begin(), p.ifds.end(), -1);
  if (unmapped > 0) return Bad(name, "maps " + std::to_string(planes - unmapped) + " of its " + std::to_string(planes) + " planes to IFDs");
  return p;
}

}  // namespace tilerender
