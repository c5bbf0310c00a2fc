#pragma once
// Pieces of the CLI shared between commands: render options -> a RenderRequest, colors.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "client/client.h"

namespace tilerender::client {

struct RenderArgs {
  std::string id;
  std::string center;      // "X,Y"
  std::optional<double> zoom;
  double rotate = 0;
  std::string size = "1024x768";
  std::string colormap;
  std::string contrast;    // "LO,HI"
  std::string auto_contrast;  // "LO,HI" percentiles
  std::optional<double> gamma;
  std::string interp = "nearest";
  std::string background;  // "#RRGGBB" or "#RRGGBBAA"
  std::string format = "png";
  std::optional<int> png_level;
  std::optional<int> quality;  // JPEG, WebP
  bool lossless = false;       // WebP
  int channel = 0;       // plane of an image of several
  std::string channels;  // "0:green,1:magenta,2:cyan": one additive layer per channel and colormap
  std::string scale_bar;  // "", or a corner: bottom-right, bottom-left, top-right, top-left
  std::optional<uint32_t> labels_seed;     // labels images: the color hash's seed
  std::optional<uint32_t> selected_label;  //   an id highlighted
  bool selected_only = false;              //   or drawn alone
  std::vector<std::string> label_colors;   //   ID=#RRGGBB[AA] explicit colors
  std::optional<uint32_t> contour;         //   border width in screen pixels (0: filled)
};

void AddRenderOptions(CLI::App* command, RenderArgs* args);
/// INVALID_ARGUMENT naming the option when a value does not parse.
Result<v1::RenderRequest> BuildRenderRequest(const RenderArgs& args);
/// "#RRGGBB" / "#RRGGBBAA" (the '#' optional).
Result<v1::Color> ParseColor(const std::string& text);
/// A labels table color, 0xRRGGBBAA, from "#RRGGBB[AA]".
Result<uint32_t> ParseLabelColor(const std::string& text);

}  // namespace tilerender::client
