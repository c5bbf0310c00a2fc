#include "client/commands.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/render/render_request.h"

namespace tilerender::client {

void AddRenderOptions(CLI::App* c, RenderArgs* a) {
  c->add_option("--id", a->id, "image id")->required();
  c->add_option("--center", a->center, "X,Y in image pixels (default: the image center)");
  c->add_option("--zoom", a->zoom, "output pixels per image pixel (default: fit)");
  c->add_option("--rotate", a->rotate, "degrees, clockwise");
  c->add_option("--size", a->size, "WxH of the output")->capture_default_str();
  c->add_option("--colormap", a->colormap, "colormap name (default gray)");
  c->add_option("--contrast", a->contrast, "LO,HI (default: [0,255] for uint8, the image range otherwise)");
  c->add_option("--auto-contrast", a->auto_contrast,
                "LO,HI percentiles of the values in view (e.g. 0.5,99.5) as contrast limits; the limits used are printed");
  c->add_option("--gamma", a->gamma, "gamma > 0 (default 1)");
  c->add_option("--interp", a->interp, "nearest or linear")->check(CLI::IsMember({"nearest", "linear"}))->capture_default_str();
  c->add_option("--background", a->background, "#RRGGBB or #RRGGBBAA (default opaque black)");
  c->add_option("--format", a->format, "png, jpeg, webp or raw (RGBA8)")
      ->check(CLI::IsMember({"png", "jpeg", "jpg", "webp", "raw"}))
      ->capture_default_str();
  c->add_option("--png-level", a->png_level, "zlib level 0..9 (default 1)")->check(CLI::Range(0, 9));
  c->add_option("--quality", a->quality, "JPEG 1..100 (default 85), WebP 0..100 (default 80)")->check(CLI::Range(0, 100));
  c->add_flag("--lossless", a->lossless, "WebP: lossless");
  c->add_option("--scale-bar", a->scale_bar, "draw a scale bar in this corner (images with a pixel size)")
      ->check(CLI::IsMember({"bottom-right", "bottom-left", "top-right", "top-left"}));
  c->add_option("--labels-seed", a->labels_seed, "labels images: the seed of the colors per id (default 0)");
  c->add_option("--selected-label", a->selected_label, "labels images: highlight this id (the others at 1/4 opacity)");
  c->add_flag("--selected-only", a->selected_only, "labels images: draw the --selected-label id alone");
  c->add_option("--label-color", a->label_colors,
                "labels images: ID=#RRGGBB[AA], that id's color instead of its hash color (repeat for more; alpha 00 hides it)");
  c->add_option("--contour", a->contour, "labels images: draw only object borders, this many screen pixels wide (1..64)");
  c->add_option("--channel", a->channel, "plane of an image of several channels (default 0)")->check(CLI::NonNegativeNumber);
  c->add_option("--channels", a->channels,
                "composite of channels, e.g. 0:green,1:magenta,2:cyan (one additive layer each, its own default contrast, "
                "--contrast/--gamma/--interp apply to every one)");
}

Result<v1::Color> ParseColor(const std::string& text) {
  std::string hex = !text.empty() && text[0] == '#' ? text.substr(1) : text;
  if ((hex.size() != 6 && hex.size() != 8) || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return InvalidArgument("color '" + text + "' must be #RRGGBB or #RRGGBBAA");
  }
  auto byte = [&](int i) { return std::stoi(hex.substr(2 * i, 2), nullptr, 16) / 255.0f; };
  v1::Color c;
  c.set_r(byte(0));
  c.set_g(byte(1));
  c.set_b(byte(2));
  c.set_a(hex.size() == 8 ? byte(3) : 1.0f);
  return c;
}

Result<uint32_t> ParseLabelColor(const std::string& text) {
  TR_ASSIGN_OR_RETURN(v1::Color c, ParseColor(text));
  auto byte = [](float v) { return static_cast<uint32_t>(std::lround(v * 255.0f)); };
  return byte(c.r()) << 24 | byte(c.g()) << 16 | byte(c.b()) << 8 | byte(c.a());
}

namespace {
bool ParsePair(const std::string& s, char sep, double* a, double* b) {
  char tail;
  const std::string fmt = std::string("%lf") + sep + "%lf%c";
  return std::sscanf(s.c_str(), fmt.c_str(), a, b, &tail) == 2;
}
}  // namespace

Result<v1::RenderRequest> BuildRenderRequest(const RenderArgs& a) {
  v1::RenderRequest r;
  double w, h;
  if (!ParsePair(a.size, 'x', &w, &h) || w < 1 || h < 1 || w != static_cast<uint32_t>(w) || h != static_cast<uint32_t>(h)) {
    return InvalidArgument("--size '" + a.size + "' must be WxH, e.g. 1024x768");
  }
  r.set_width(static_cast<uint32_t>(w));
  r.set_height(static_cast<uint32_t>(h));
  v1::Camera* cam = r.mutable_camera();
  if (!a.center.empty()) {
    double x, y;
    if (!ParsePair(a.center, ',', &x, &y)) return InvalidArgument("--center '" + a.center + "' must be X,Y");
    cam->set_center_x(x);
    cam->set_center_y(y);
  }
  if (a.zoom) cam->set_zoom(*a.zoom);
  cam->set_rotation_deg(a.rotate);
  v1::Layer* layer = r.add_layers();
  layer->set_image_id(a.id);
  layer->set_channel(a.channel);
  if (!a.colormap.empty()) layer->mutable_colormap()->set_name(a.colormap);
  if (!a.contrast.empty()) {
    double lo, hi;
    if (!ParsePair(a.contrast, ',', &lo, &hi)) return InvalidArgument("--contrast '" + a.contrast + "' must be LO,HI");
    layer->mutable_contrast()->set_lo(lo);
    layer->mutable_contrast()->set_hi(hi);
  }
  if (!a.auto_contrast.empty()) {
    double lo, hi;
    if (!ParsePair(a.auto_contrast, ',', &lo, &hi)) {
      return InvalidArgument("--auto-contrast '" + a.auto_contrast + "' must be LO,HI percentiles");
    }
    layer->mutable_auto_contrast()->set_lo_percentile(lo);
    layer->mutable_auto_contrast()->set_hi_percentile(hi);
  }
  if (a.labels_seed || a.selected_label || a.selected_only || !a.label_colors.empty() || a.contour) {
    if (a.selected_only && !a.selected_label) return InvalidArgument("--selected-only needs --selected-label");
    v1::LabelsStyle* l = layer->mutable_labels();
    l->set_seed(a.labels_seed.value_or(0));
    if (a.selected_label) l->set_selected_label(*a.selected_label);
    l->set_show_selected_only(a.selected_only);
    l->set_contour(a.contour.value_or(0));
    for (const std::string& entry : a.label_colors) {
      const size_t eq = entry.find('=');
      char* end = nullptr;
      const unsigned long long id = eq == std::string::npos ? 0 : std::strtoull(entry.c_str(), &end, 10);
      if (eq == std::string::npos || eq == 0 || end != entry.c_str() + eq || id > UINT32_MAX) {
        return InvalidArgument("--label-color '" + entry + "' must be ID=#RRGGBB[AA] with an id in 0..4294967295");
      }
      TR_ASSIGN_OR_RETURN(uint32_t rgba, ParseLabelColor(entry.substr(eq + 1)));
      (*l->mutable_colors())[static_cast<uint32_t>(id)] = rgba;
    }
  }
  if (a.gamma) layer->set_gamma(*a.gamma);
  layer->set_interpolation(a.interp == "linear" ? v1::LINEAR : v1::NEAREST);
  if (!a.channels.empty()) {
    // One additive layer per "channel:colormap", each like the one above otherwise.
    const v1::Layer base = *layer;
    r.clear_layers();
    auto items = ParseChannelColormaps(a.channels);
    if (!items.ok()) return InvalidArgument("--channels " + items.status().message());
    for (const ChannelColormap& item : *items) {
      v1::Layer* l = r.add_layers();
      *l = base;
      l->set_channel(item.channel);
      l->mutable_colormap()->set_name(item.colormap);
      l->set_blending(v1::ADDITIVE);
    }
  }
  if (!a.background.empty()) {
    TR_ASSIGN_OR_RETURN(*r.mutable_background(), ParseColor(a.background));
  }
  if (!a.scale_bar.empty()) {
    const std::string& c = a.scale_bar;
    r.mutable_scale_bar()->set_corner(c == "bottom-left" ? v1::ScaleBar::BOTTOM_LEFT
                                      : c == "top-right"  ? v1::ScaleBar::TOP_RIGHT
                                      : c == "top-left"   ? v1::ScaleBar::TOP_LEFT
                                                          : v1::ScaleBar::BOTTOM_RIGHT);
  }
  r.set_format(a.format == "raw"                       ? v1::RAW_RGBA8
               : a.format == "jpeg" || a.format == "jpg" ? v1::JPEG
               : a.format == "webp"                      ? v1::WEBP
                                                         : v1::PNG);
  if (a.quality) r.set_quality(*a.quality);
  r.set_lossless(a.lossless);
  if (a.png_level) r.set_png_level(*a.png_level);
  return r;
}

}  // namespace tilerender::client
