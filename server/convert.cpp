#include "server/convert.h"

namespace tilerender::server {
namespace {

Rgba FromProto(const v1::Color& c) { return {c.r(), c.g(), c.b(), c.a()}; }

Result<ColormapSpec> FromProto(const v1::Colormap& c) {
  ColormapSpec spec;
  switch (c.kind_case()) {
    case v1::Colormap::kName:
      spec.name = c.name();
      break;
    case v1::Colormap::kPoints:
      for (const v1::ControlPoint& p : c.points().points()) {
        spec.points.push_back({p.position(), FromProto(p.color())});
      }
      if (spec.points.empty()) return InvalidArgument("colormap control points are empty");
      break;
    case v1::Colormap::kLutRgba8: {
      const std::string& b = c.lut_rgba8();
      if (b.size() != kRawLutSize * 4) {
        return InvalidArgument("colormap lut_rgba8 must be " + std::to_string(kRawLutSize * 4) +
                               " bytes (256 RGBA entries), got " + std::to_string(b.size()));
      }
      for (size_t i = 0; i < kRawLutSize; ++i) {
        auto u = [&](size_t k) { return static_cast<uint8_t>(b[4 * i + k]) / 255.0f; };
        spec.lut.push_back({u(0), u(1), u(2), u(3)});
      }
      break;
    }
    case v1::Colormap::KIND_NOT_SET:
      break;
  }
  return spec;
}

Result<Interpolation> FromProto(v1::Interpolation i) {
  switch (i) {
    case v1::INTERPOLATION_UNSPECIFIED:
    case v1::NEAREST: return Interpolation::kNearest;
    case v1::LINEAR: return Interpolation::kLinear;
    default: return InvalidArgument("unknown interpolation " + std::to_string(i));
  }
}

Result<Blending> FromProto(v1::Blending b) {
  switch (b) {
    case v1::BLENDING_UNSPECIFIED:
    case v1::TRANSLUCENT: return Blending::kTranslucent;
    case v1::ADDITIVE: return Blending::kAdditive;
    case v1::OPAQUE: return Blending::kOpaque;
    case v1::MINIMUM: return Blending::kMinimum;
    case v1::MAXIMUM: return Blending::kMaximum;
    default: return InvalidArgument("unknown blending " + std::to_string(b));
  }
}

}  // namespace

Result<PixelType> FromProto(v1::PixelType type) {
  switch (type) {
    case v1::UINT8: return PixelType::kUint8;
    case v1::UINT16: return PixelType::kUint16;
    case v1::FLOAT32: return PixelType::kFloat32;
    case v1::UINT32: return PixelType::kUint32;
    default: return InvalidArgument("pixel type must be UINT8, UINT16, FLOAT32 or (labels) UINT32");
  }
}

v1::PixelType ToProto(PixelType type) {
  switch (type) {
    case PixelType::kUint8: return v1::UINT8;
    case PixelType::kUint16: return v1::UINT16;
    case PixelType::kFloat32: return v1::FLOAT32;
    case PixelType::kUint32: return v1::UINT32;
  }
  return v1::PIXEL_TYPE_UNSPECIFIED;
}

Result<RenderRequest> FromProto(const v1::RenderRequest& r, const ImageLookup& lookup) {
  RenderRequest out;
  // uint32 on the wire: a huge value must not wrap to a negative int.
  if (r.width() > (1u << 30) || r.height() > (1u << 30)) {
    return ResourceExhausted("output " + std::to_string(r.width()) + "x" + std::to_string(r.height()) +
                             " exceeds the limit");
  }
  out.width = static_cast<int>(r.width());
  out.height = static_cast<int>(r.height());
  const v1::Camera& c = r.camera();
  if (c.has_center_x()) out.camera.center_x = c.center_x();
  if (c.has_center_y()) out.camera.center_y = c.center_y();
  if (c.has_zoom()) out.camera.zoom = c.zoom();
  out.camera.rotation_deg = c.rotation_deg();
  if (c.has_zoom_y()) out.camera.zoom_y = c.zoom_y();
  out.camera.mirror = c.mirror();
  if (r.has_background()) out.background = FromProto(r.background());
  switch (r.format()) {
    case v1::OUTPUT_FORMAT_UNSPECIFIED:
    case v1::PNG: out.format = OutputFormat::kPng; break;
    case v1::RAW_RGBA8: out.format = OutputFormat::kRawRgba8; break;
    case v1::JPEG: out.format = OutputFormat::kJpeg; break;
    case v1::WEBP: out.format = OutputFormat::kWebp; break;
    default: return InvalidArgument("unknown output format " + std::to_string(r.format()));
  }
  if (r.has_png_level()) out.png_level = r.png_level();
  if (r.has_quality()) out.quality = r.quality();
  out.lossless = r.lossless();
  if (r.has_scale_bar()) {
    ScaleBar bar;
    const int corner = r.scale_bar().corner();
    if (corner < 0 || corner > 3) return InvalidArgument("unknown scale bar corner " + std::to_string(corner));
    bar.corner = static_cast<ScaleBar::Corner>(corner);
    if (r.scale_bar().has_color()) {
      const v1::Color& c = r.scale_bar().color();
      bar.color = {c.r(), c.g(), c.b(), c.a()};
    }
    out.scale_bar = bar;
  }
  for (int i = 0; i < r.layers_size(); ++i) {
    const v1::Layer& l = r.layers(i);
    Layer layer;
    if (l.image_id().empty()) return InvalidArgument("layer " + std::to_string(i) + ": image_id is empty");
    if (Status s = ValidateImageId(l.image_id()); !s.ok()) {
      return InvalidArgument("layer " + std::to_string(i) + ": " + s.message());
    }
    TR_ASSIGN_OR_RETURN(std::shared_ptr<const RegisteredImage> image, lookup(l.image_id()));
    layer.image = image->handle;
    layer.channel = l.channel();
    TR_ASSIGN_OR_RETURN(layer.colormap, FromProto(l.colormap()));
    if (l.has_contrast()) layer.contrast = Contrast{l.contrast().lo(), l.contrast().hi()};
    if (l.has_auto_contrast()) {
      const v1::AutoContrast& a = l.auto_contrast();
      layer.auto_contrast = a.lo_percentile() == 0 && a.hi_percentile() == 0 ? AutoContrast{}
                                                                               : AutoContrast{a.lo_percentile(), a.hi_percentile()};
    }
    for (const v1::Contrast& cc : l.channel_contrast()) layer.channel_contrast.push_back({cc.lo(), cc.hi()});
    if (l.has_labels()) {
      LabelsStyle style;
      style.seed = l.labels().seed();
      if (l.labels().has_selected_label()) style.selected = l.labels().selected_label();
      style.selected_only = l.labels().show_selected_only();
      if (l.labels().colors_size() > static_cast<int>(kMaxLabelColors)) {
        return InvalidArgument("layer " + std::to_string(i) + ": a labels color table has at most " +
                               std::to_string(kMaxLabelColors) + " entries");
      }
      style.colors.reserve(static_cast<size_t>(l.labels().colors_size()));
      for (const auto& [id, rgba] : l.labels().colors()) {
        style.colors.push_back({id, {static_cast<uint8_t>(rgba >> 24), static_cast<uint8_t>(rgba >> 16),
                                     static_cast<uint8_t>(rgba >> 8), static_cast<uint8_t>(rgba)}});
      }
      // uint32 on the wire: anything above the limit stays above it.
      style.contour = static_cast<int>(std::min<uint32_t>(l.labels().contour(), kMaxContourWidth + 1));
      layer.labels = style;
    }
    if (l.has_gamma()) layer.gamma = l.gamma();
    if (l.has_opacity()) layer.opacity = l.opacity();
    TR_ASSIGN_OR_RETURN(layer.interpolation, FromProto(l.interpolation()));
    TR_ASSIGN_OR_RETURN(layer.blending, FromProto(l.blending()));
    if (l.has_visible()) layer.visible = l.visible();
    out.layers.push_back(std::move(layer));
  }
  return out;
}

void ToProto(const RegisteredImage& image, v1::ImageInfo* out) {
  const ImageInfo& info = image.handle->info();
  out->set_image_id(image.id);
  out->set_labels(info.labels);
  out->set_width(info.desc.width);
  out->set_height(info.desc.height);
  out->set_pixel_type(ToProto(info.desc.type));
  out->set_channels(info.desc.channels);
  out->set_tile_size(info.tile_size);
  out->set_levels(info.levels);
  out->set_tiles(info.tiles);
  out->set_gpu_bytes(info.gpu_bytes);
  out->set_gpu_bytes_level0(info.gpu_bytes_level0);
  if (!info.range.empty()) {
    out->set_value_min(info.range.min);
    out->set_value_max(info.range.max);
  }
  out->set_nan_count(info.range.nan_count);
  out->set_value_range_estimated(info.range_estimated);
  out->set_planes(info.desc.planes);
  out->set_pixel_size_x_um(info.pixel_size_x_um);
  out->set_pixel_size_y_um(info.pixel_size_y_um);
  for (const ChannelInfo& c : info.channel_info) {
    v1::ChannelInfo* p = out->add_channel_info();
    p->set_name(c.name);
    p->set_color(c.color);
    if (!c.range.empty()) {
      p->set_value_min(c.range.min);
      p->set_value_max(c.range.max);
    }
    p->set_value_range_estimated(c.range_estimated);
    if (c.has_window()) {
      p->set_window_min(c.window_lo);
      p->set_window_max(c.window_hi);
    }
  }
  for (const LevelInfo& l : info.level_info) {
    v1::LevelInfo* p = out->add_level_info();
    p->set_width(l.width);
    p->set_height(l.height);
    p->set_from_file(l.from_source);
    p->set_tile_width(static_cast<int32_t>(l.tile_width));
    p->set_tile_height(static_cast<int32_t>(l.tile_height));
    p->set_tiles(l.tiles);
    p->set_gpu_bytes(l.gpu_bytes);
  }
  out->set_source(image.source);
  out->set_format(image.format);
  for (const std::string& n : image.notes) out->add_notes(n);
  for (const auto& [k, v] : image.properties) (*out->mutable_properties())[k] = v;
  for (const std::string& a : image.associated_images) out->add_associated_images(a);
  out->set_load_ms(image.load_ms);
}

v1::OutputFormat ToProto(OutputFormat f) {
  switch (f) {
    case OutputFormat::kPng: return v1::PNG;
    case OutputFormat::kRawRgba8: return v1::RAW_RGBA8;
    case OutputFormat::kJpeg: return v1::JPEG;
    case OutputFormat::kWebp: return v1::WEBP;
  }
  return v1::PNG;
}

void ToProto(const RenderOutput& o, v1::RenderResponse* out) {
  out->set_data(o.data.data(), o.data.size());
  out->set_width(o.width);
  out->set_height(o.height);
  out->set_has_alpha(o.has_alpha);
  out->set_scale_bar_um(o.scale_bar_um);
  for (const ContrastUsed& c : o.contrasts) {
    v1::ContrastUsed* u = out->add_contrasts();
    u->set_layer(static_cast<uint32_t>(c.layer));
    u->set_lo(c.lo);
    u->set_hi(c.hi);
    u->set_automatic(c.automatic);
    u->set_samples(c.samples);
  }
  out->set_format(ToProto(o.format));
  v1::Timings* t = out->mutable_timings();
  t->set_fetch_ms(o.timings.fetch_ms);
  t->set_tiles_paged_in(o.timings.tiles_paged_in);
  t->set_queue_ms(o.timings.queue_ms);
  t->set_draw_ms(o.timings.draw_ms);
  t->set_readback_ms(o.timings.readback_ms);
  t->set_encode_ms(o.timings.encode_ms);
  t->set_tiles_drawn(o.timings.tiles_drawn);
}

Result<ProbeQuery> FromProto(const v1::ProbeRequest& request) {
  ProbeQuery q;
  if (request.points_size() > static_cast<int>(kMaxSamplePoints)) {
    return InvalidArgument("at most " + std::to_string(kMaxSamplePoints) + " points, got " + std::to_string(request.points_size()));
  }
  for (const v1::ProbeLayer& l : request.layers()) q.layers.push_back({l.image_id(), static_cast<int>(std::min<uint32_t>(l.channel(), 1 << 20))});
  for (const v1::Point& p : request.points()) q.points.push_back({p.x(), p.y()});
  TR_ASSIGN_OR_RETURN(q.interpolation, FromProto(request.interpolation()));
  q.level = static_cast<int>(std::min<uint32_t>(request.level(), 1 << 20));
  return q;
}

Result<ProfileQuery> FromProto(const v1::ProfileRequest& request) {
  ProfileQuery q;
  q.image_id = request.image_id();
  q.channel = static_cast<int>(std::min<uint32_t>(request.channel(), 1 << 20));
  q.from = {request.from().x(), request.from().y()};
  q.to = {request.to().x(), request.to().y()};
  q.samples = request.samples();
  TR_ASSIGN_OR_RETURN(q.interpolation, FromProto(request.interpolation()));
  q.level = static_cast<int>(std::min<uint32_t>(request.level(), 1 << 20));
  return q;
}

namespace {
void ToProto(const ValueSample& s, v1::Sample* out) {
  out->set_inside(s.inside);
  for (double v : s.values) out->add_values(v);
}
}  // namespace

void ToProto(const std::vector<LayerValues>& layers, v1::ProbeResponse* out) {
  for (const LayerValues& l : layers) {
    v1::LayerSamples* o = out->add_layers();
    o->set_image_id(l.image_id);
    o->set_channel(static_cast<uint32_t>(l.channel));
    o->set_level(static_cast<uint32_t>(l.level));
    for (const ValueSample& s : l.samples) ToProto(s, o->add_samples());
  }
}

void ToProto(const ProfileValues& profile, v1::ProfileResponse* out) {
  out->set_level(static_cast<uint32_t>(profile.level));
  out->set_length(profile.length);
  for (const WorldPoint& p : profile.points) {
    v1::Point* o = out->add_points();
    o->set_x(p.x);
    o->set_y(p.y);
  }
  for (const ValueSample& s : profile.samples) ToProto(s, out->add_samples());
}

}  // namespace tilerender::server
