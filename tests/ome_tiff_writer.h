#pragma once
// Writes OME-TIFF test files with libtiff: channels (and z planes) as pages, each with a SubIFD
// pyramid, described by OME-XML in the first ImageDescription.

#include <gtest/gtest.h>
#include <tiffio.h>

#include <string>
#include <vector>

#include "tests/tiff_writer.h"

namespace tilerender::testing {

// Writes a uint16 OME-TIFF of `channels` x `zs` planes (DimensionOrder XYCZT: c fastest), 600 x 400,
// each plane with two SubIFD levels; plane (c, z) at level k holds 10000 c + 1000 z + 100 k + (x + y) % 100.
inline void WriteOmeTiff(const std::string& path, int channels, int zs, const std::string& size_c_attr = "") {
  TIFF* t = TIFFOpen(path.c_str(), "w8");
  ASSERT_TRUE(t);
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\">"
                    "<Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\" Type=\"uint16\" SizeX=\"600\" SizeY=\"400\""
                    " SizeC=\"" + (size_c_attr.empty() ? std::to_string(channels) : size_c_attr) + "\" SizeZ=\"" + std::to_string(zs) +
                    "\" SizeT=\"1\" PhysicalSizeX=\"325\" PhysicalSizeXUnit=\"nm\" PhysicalSizeY=\"0.325\">";
  const char* names[3] = {"DAPI", "GFP", "mCherry"};
  const char* colors[3] = {"65535", "16711935", "-16776961"};  // blue, green, red as OME's signed RGBA
  for (int c = 0; c < channels; ++c) {
    xml += std::string("<Channel ID=\"Channel:0:") + std::to_string(c) + "\" Name=\"" + names[c % 3] + "\" Color=\"" + colors[c % 3] +
           "\" SamplesPerPixel=\"1\"/>";
  }
  xml += "<TiffData/></Pixels></Image></OME>";
  for (int z = 0; z < zs; ++z) {
    for (int c = 0; c < channels; ++c) {
      for (int k = 0; k < 3; ++k) {
        const uint32_t w = 600 >> k, h = 400 >> k;
        SetTiledGrayPage(t, w, h, 16, 128, k > 0);
        if (k == 0 && c == 0 && z == 0) TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, xml.c_str());
        if (k == 0) {
          toff_t offsets[2] = {0, 0};
          TIFFSetField(t, TIFFTAG_SUBIFD, 2, offsets);
        }
        std::vector<uint16_t> tile(128 * 128);
        for (uint32_t ty = 0; ty < h; ty += 128) {
          for (uint32_t tx = 0; tx < w; tx += 128) {
            for (uint32_t i = 0; i < tile.size(); ++i) {
              tile[i] = static_cast<uint16_t>(10000 * c + 1000 * z + 100 * k + (tx + i % 128 + ty + i / 128) % 100);
            }
            ASSERT_GE(TIFFWriteEncodedTile(t, TIFFComputeTile(t, tx, ty, 0, 0), tile.data(), tile.size() * 2), 0);
          }
        }
        ASSERT_TRUE(TIFFWriteDirectory(t));
      }
    }
  }
  TIFFClose(t);
}

}  // namespace tilerender::testing
