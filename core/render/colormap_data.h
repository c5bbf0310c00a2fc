#pragma once
// matplotlib's listed colormaps as RGB float tables (generated, see scripts/gen_colormaps.py).

#include <cstddef>

namespace tilerender::colormap_data {

struct ListedMap {
  const char* name;
  const float (*rgb)[3];
  size_t size;
};

extern const ListedMap kListed[];
extern const size_t kListedCount;

}  // namespace tilerender::colormap_data
