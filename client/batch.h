#pragma once
// `tilerender batch MANIFEST.json --out-dir DIR [--jobs N]`: loads or uploads the manifest's images,
// renders its views over RenderStream with several in flight, writes one file per view.
//
// Manifest (JSON):
//   {
//     "images": [ {"id": "slide", "path": "scans/slide.tif", "page": 0},    // daemon's data root
//                 {"id": "cells", "upload": "local/cells.npy"} ],          // read here, uploaded
//     "defaults": { <any view field>, ... },                                // for every view
//     "views": [
//       {"name": "overview", "image": "slide", "size": [1024, 768], "colormap": "viridis"},
//       {"name": "detail", "image": "slide", "center": [1200, 800], "zoom": 2, "rotation": 30,
//        "contrast": [100, 4000], "gamma": 0.8, "interpolation": "linear", "output": "d.png"},
//       {"name": "overlay", "layers": [{"image": "a", "colormap": "green", "blending": "additive"},
//                                      {"image": "b", "colormap": "magenta", "opacity": 0.7}]}
//     ]
//   }
// View fields: name (required, unique; letters, digits, '.', '_', '-'), image or layers, size [W, H],
// center [X, Y], zoom, rotation, background "#RRGGBB[AA]", format "png"|"raw", png_level, output
// (a file name in --out-dir; default NAME.png or NAME.rgba), scale_bar (a corner "bottom-right",
// "bottom-left", "top-right", "top-left", or {"corner": ..., "color": "#RRGGBB[AA]"}), and the layer fields, which apply to
// every layer of the view: colormap (a name, {"points": [[pos, "#RRGGBB[AA]"], ...]} or
// {"lut": ["#RRGGBBAA" x 256]}), contrast [LO, HI], channel_contrast [[LO, HI] x 3], channel (plane index), gamma, opacity,
// interpolation "nearest"|"linear", blending, visible. Unknown fields are errors (typos show).
// Paths of "upload" images are relative to the manifest's directory.

#include <string>

#include "client/client.h"

namespace tilerender::client {

struct BatchOptions {
  std::string manifest;
  std::string out_dir;
  int jobs = 2;              ///< RenderStreams at once
  bool keep_images = false;  ///< leave the images the batch loaded on the daemon
  bool progress_bar = false; ///< a bar on a terminal, else a line per view
};

/// A view of a manifest as a request, or why it is invalid (as RunBatch reports it).
struct ManifestView {
  std::string name;
  std::string output;  ///< file name in the output directory
  Result<v1::RenderRequest> request = InvalidArgument("unparsed");
};

/// Parses a manifest's views (defaults applied). Fails only when the file is not a manifest at all.
Result<std::vector<ManifestView>> ReadManifestViews(const std::string& path);

/// An entry of a manifest's "images", or why it is invalid (as RunBatch reports it).
struct ManifestImage {
  std::string id;
  std::string path;     ///< "path": on the daemon, under its data root; "upload": read here, relative to the manifest
  bool upload = false;  ///< given as "upload"
  int page = 0;
  bool labels = false;  ///< "labels": true loads or uploads it as a labels image (object ids)
  Status status;        ///< not OK: the entry is invalid
};

/// Parses a manifest's images. Fails only when the file is not a manifest at all.
Result<std::vector<ManifestImage>> ReadManifestImages(const std::string& path);

/// 0 when every view rendered, 1 when some failed (each reported), 2 when the manifest cannot be
/// read or parsed.
int RunBatch(Client& client, const BatchOptions& options);

}  // namespace tilerender::client
