#include "client/batch.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "client/commands.h"
#include "core/image/image_file.h"

namespace tilerender::client {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::set<std::string> kLayerFields = {"colormap", "contrast", "auto_contrast", "labels", "channel_contrast", "gamma", "opacity",
                                            "interpolation", "blending", "visible", "channel"};
const std::set<std::string> kViewFields = {"name", "image", "layers", "size", "center", "zoom",
                                           "rotation", "background", "format", "png_level", "quality", "lossless", "output", "scale_bar"};

// Errors name the view (or image) and the field.
class Where {
 public:
  explicit Where(std::string what) : what_(std::move(what)) {}
  Status Error(const std::string& field, const std::string& message) const {
    return InvalidArgument(what_ + ": field '" + field + "' " + message);
  }
  Status Error(const std::string& message) const { return InvalidArgument(what_ + ": " + message); }

 private:
  std::string what_;
};

Result<double> Number(const json& j, const std::string& field, const Where& w) {
  if (!j.is_number()) return w.Error(field, "must be a number");
  return j.get<double>();
}

Result<std::pair<double, double>> Pair(const json& j, const std::string& field, const Where& w) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number() || !j[1].is_number()) {
    return w.Error(field, "must be [a, b] with two numbers");
  }
  return std::pair{j[0].get<double>(), j[1].get<double>()};
}

Result<v1::Color> ColorOf(const json& j, const std::string& field, const Where& w) {
  if (!j.is_string()) return w.Error(field, "must be a color string \"#RRGGBB\" or \"#RRGGBBAA\"");
  auto c = ParseColor(j.get<std::string>());
  if (!c.ok()) return w.Error(field, c.status().message());
  return c;
}

Status ApplyColormap(const json& j, v1::Colormap* out, const Where& w) {
  if (j.is_string()) {
    out->set_name(j.get<std::string>());
    return Status::Ok();
  }
  if (j.is_object() && j.contains("points") && j.size() == 1) {
    const json& pts = j["points"];
    if (!pts.is_array() || pts.empty()) return w.Error("colormap.points", "must be a non-empty array");
    for (const json& p : pts) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number()) {
        return w.Error("colormap.points", "entries must be [position, \"#RRGGBB[AA]\"]");
      }
      v1::ControlPoint* cp = out->mutable_points()->add_points();
      cp->set_position(p[0].get<double>());
      TR_ASSIGN_OR_RETURN(*cp->mutable_color(), ColorOf(p[1], "colormap.points", w));
    }
    return Status::Ok();
  }
  if (j.is_object() && j.contains("lut") && j.size() == 1) {
    const json& lut = j["lut"];
    if (!lut.is_array() || lut.size() != 256) return w.Error("colormap.lut", "must hold 256 colors");
    std::string bytes;
    for (const json& c : lut) {
      TR_ASSIGN_OR_RETURN(v1::Color color, ColorOf(c, "colormap.lut", w));
      for (float v : {color.r(), color.g(), color.b(), color.a()}) bytes.push_back(static_cast<char>(std::lround(v * 255)));
    }
    out->set_lut_rgba8(bytes);
    return Status::Ok();
  }
  return w.Error("colormap", "must be a name, {\"points\": [...]} or {\"lut\": [...]}");
}

Status ApplyLayerFields(const json& obj, v1::Layer* layer, const Where& w) {
  for (const auto& [key, v] : obj.items()) {
    if (key == "colormap") {
      TR_RETURN_IF_ERROR(ApplyColormap(v, layer->mutable_colormap(), w));
    } else if (key == "contrast") {
      TR_ASSIGN_OR_RETURN(auto p, Pair(v, key, w));
      layer->mutable_contrast()->set_lo(p.first);
      layer->mutable_contrast()->set_hi(p.second);
    } else if (key == "labels") {
      // {"seed": N, "selected": ID, "only": true, "colors": {"ID": "#RRGGBB[AA]"}, "contour": W}
      if (!v.is_object()) return w.Error(key, "must be an object with seed, selected, only, colors, contour");
      v1::LabelsStyle* l = layer->mutable_labels();
      for (const auto& [k, x] : v.items()) {
        if ((k == "seed" || k == "selected" || k == "contour") && (!x.is_number_unsigned() || x.get<uint64_t>() > UINT32_MAX)) {
          return w.Error(key, k + " must be an integer in 0..4294967295");
        }
        if (k == "seed") {
          l->set_seed(x.get<uint32_t>());
        } else if (k == "selected") {
          l->set_selected_label(x.get<uint32_t>());
        } else if (k == "only") {
          if (!x.is_boolean()) return w.Error(key, "only must be true or false");
          l->set_show_selected_only(x.get<bool>());
        } else if (k == "contour") {
          l->set_contour(x.get<uint32_t>());
        } else if (k == "colors") {
          if (!x.is_object()) return w.Error(key, "colors must be an object {\"ID\": \"#RRGGBB[AA]\"}");
          for (const auto& [id_text, color] : x.items()) {
            char* end = nullptr;
            const unsigned long long id = std::strtoull(id_text.c_str(), &end, 10);
            if (id_text.empty() || id_text[0] == '-' || *end != '\0' || id > UINT32_MAX || !color.is_string()) {
              return w.Error(key, "colors maps ids 0..4294967295 to \"#RRGGBB[AA]\", got \"" + id_text + "\"");
            }
            auto rgba = ParseLabelColor(color.get<std::string>());
            if (!rgba.ok()) return w.Error(key, rgba.status().message());
            (*l->mutable_colors())[static_cast<uint32_t>(id)] = *rgba;
          }
        } else {
          return w.Error(key, "unknown field \"" + k + "\" (seed, selected, only, colors, contour)");
        }
      }
    } else if (key == "auto_contrast") {
      TR_ASSIGN_OR_RETURN(auto p, Pair(v, key, w));
      layer->mutable_auto_contrast()->set_lo_percentile(p.first);
      layer->mutable_auto_contrast()->set_hi_percentile(p.second);
    } else if (key == "channel_contrast") {
      if (!v.is_array() || v.size() != 3) return w.Error(key, "must be three [lo, hi] pairs");
      layer->clear_channel_contrast();
      for (const json& c : v) {
        TR_ASSIGN_OR_RETURN(auto p, Pair(c, key, w));
        v1::Contrast* cc = layer->add_channel_contrast();
        cc->set_lo(p.first);
        cc->set_hi(p.second);
      }
    } else if (key == "gamma") {
      TR_ASSIGN_OR_RETURN(double g, Number(v, key, w));
      layer->set_gamma(g);
    } else if (key == "opacity") {
      TR_ASSIGN_OR_RETURN(double o, Number(v, key, w));
      layer->set_opacity(o);
    } else if (key == "interpolation") {
      if (v != "nearest" && v != "linear") return w.Error(key, "must be \"nearest\" or \"linear\"");
      layer->set_interpolation(v == "linear" ? v1::LINEAR : v1::NEAREST);
    } else if (key == "blending") {
      static const std::map<std::string, v1::Blending> modes = {
          {"translucent", v1::TRANSLUCENT}, {"additive", v1::ADDITIVE}, {"opaque", v1::OPAQUE},
          {"minimum", v1::MINIMUM},         {"maximum", v1::MAXIMUM}};
      auto it = v.is_string() ? modes.find(v.get<std::string>()) : modes.end();
      if (it == modes.end()) return w.Error(key, "must be translucent, additive, opaque, minimum or maximum");
      layer->set_blending(it->second);
    } else if (key == "visible") {
      if (!v.is_boolean()) return w.Error(key, "must be true or false");
      layer->set_visible(v.get<bool>());
    } else if (key == "channel") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= kMaxPlanes) {
        return w.Error(key, "must be a channel index 0.." + std::to_string(kMaxPlanes - 1));
      }
      layer->set_channel(v.get<int>());
    }
  }
  return Status::Ok();
}

bool ValidName(const std::string& n) {
  if (n.empty() || n.size() > 128 || n[0] == '.') return false;
  return n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos;
}

// The request of one view; its name and output file go into `mv` as soon as they are known.
Result<v1::RenderRequest> ParseView(const json& defaults, const json& view, size_t index,
                                    std::set<std::string>* names, ManifestView* mv) {
  std::string label = "view " + std::to_string(index + 1);
  if (!view.is_object()) return InvalidArgument(label + ": must be an object");
  if (view.contains("name") && view["name"].is_string()) label += " ('" + view["name"].get<std::string>() + "')";
  const Where w(label);
  json v = defaults;
  for (const auto& [key, value] : view.items()) v[key] = value;
  for (const auto& [key, value] : v.items()) {
    if (!kViewFields.count(key) && !kLayerFields.count(key)) return w.Error(key, "is not a view field");
  }
  if (!v.contains("name") || !v["name"].is_string() || !ValidName(v["name"].get<std::string>())) {
    return w.Error("name", "is required: letters, digits, '.', '_', '-'");
  }
  mv->name = v["name"].get<std::string>();
  if (!names->insert(mv->name).second) return w.Error("name", "is used by an earlier view");
  v1::RenderRequest r;
  if (v.contains("size")) {
    const json& s = v["size"];
    if (!s.is_array() || s.size() != 2 || !s[0].is_number_unsigned() || !s[1].is_number_unsigned() ||
        s[0].get<uint64_t>() == 0 || s[1].get<uint64_t>() == 0 || s[0].get<uint64_t>() > (1u << 30) ||
        s[1].get<uint64_t>() > (1u << 30)) {
      return w.Error("size", "must be [width, height] with positive integers");
    }
    r.set_width(s[0].get<uint32_t>());
    r.set_height(s[1].get<uint32_t>());
  } else {
    r.set_width(1024);
    r.set_height(768);
  }
  if (v.contains("center")) {
    TR_ASSIGN_OR_RETURN(auto c, Pair(v["center"], "center", w));
    r.mutable_camera()->set_center_x(c.first);
    r.mutable_camera()->set_center_y(c.second);
  }
  if (v.contains("zoom")) {
    TR_ASSIGN_OR_RETURN(double z, Number(v["zoom"], "zoom", w));
    if (!(z > 0)) return w.Error("zoom", "must be > 0");
    r.mutable_camera()->set_zoom(z);
  }
  if (v.contains("rotation")) {
    TR_ASSIGN_OR_RETURN(double rot, Number(v["rotation"], "rotation", w));
    r.mutable_camera()->set_rotation_deg(rot);
  }
  if (v.contains("background")) {
    TR_ASSIGN_OR_RETURN(*r.mutable_background(), ColorOf(v["background"], "background", w));
  }
  std::string ext = ".png";
  if (v.contains("format")) {
    const json& f = v["format"];
    if (f == "raw") {
      r.set_format(v1::RAW_RGBA8);
      ext = ".rgba";
    } else if (f == "jpeg" || f == "jpg") {
      r.set_format(v1::JPEG);
      ext = ".jpg";
    } else if (f == "webp") {
      r.set_format(v1::WEBP);
      ext = ".webp";
    } else if (f != "png") {
      return w.Error("format", "must be \"png\", \"jpeg\", \"webp\" or \"raw\"");
    }
  }
  if (v.contains("quality")) {
    if (!v["quality"].is_number_integer()) return w.Error("quality", "must be an integer 0..100");
    r.set_quality(v["quality"].get<int>());
  }
  if (v.contains("lossless")) {
    if (!v["lossless"].is_boolean()) return w.Error("lossless", "must be true or false");
    r.set_lossless(v["lossless"].get<bool>());
  }
  if (v.contains("png_level")) {
    if (!v["png_level"].is_number_integer()) return w.Error("png_level", "must be an integer 0..9");
    r.set_png_level(v["png_level"].get<int>());
  }
  if (v.contains("scale_bar")) {
    // "bottom-right" etc., or {"corner": ..., "color": "#RRGGBB[AA]"}.
    const json& sb = v["scale_bar"];
    const json* corner = sb.is_object() && sb.contains("corner") ? &sb["corner"] : sb.is_string() ? &sb : nullptr;
    static const char* kCorners[] = {"bottom-right", "bottom-left", "top-right", "top-left"};
    int index = sb.is_object() && !corner ? 0 : -1;
    for (int i = 0; corner && corner->is_string() && i < 4; ++i) {
      if (*corner == kCorners[i]) index = i;
    }
    if (index < 0 || !(sb.is_string() || sb.is_object())) {
      return w.Error("scale_bar", "must be a corner (bottom-right, bottom-left, top-right, top-left) or "
                                  "{\"corner\": ..., \"color\": \"#RRGGBB[AA]\"}");
    }
    v1::ScaleBar* bar = r.mutable_scale_bar();
    bar->set_corner(static_cast<v1::ScaleBar::Corner>(index));
    if (sb.is_object() && sb.contains("color")) {
      TR_ASSIGN_OR_RETURN(*bar->mutable_color(), ColorOf(sb["color"], "scale_bar.color", w));
    }
  }
  mv->output = mv->name + ext;
  if (v.contains("output")) {
    if (!v["output"].is_string() || !ValidName(v["output"].get<std::string>())) {
      return w.Error("output", "must be a plain file name (no directories)");
    }
    mv->output = v["output"].get<std::string>();
  }
  json layer_defaults = json::object();
  for (const auto& [key, value] : v.items()) {
    if (kLayerFields.count(key)) layer_defaults[key] = value;
  }
  if (v.contains("image") == v.contains("layers")) return w.Error("give either 'image' or 'layers'");
  if (v.contains("image")) {
    if (!v["image"].is_string()) return w.Error("image", "must be an image id");
    v1::Layer* layer = r.add_layers();
    layer->set_image_id(v["image"].get<std::string>());
    TR_RETURN_IF_ERROR(ApplyLayerFields(layer_defaults, layer, w));
  } else {
    if (!v["layers"].is_array() || v["layers"].empty()) return w.Error("layers", "must be a non-empty array");
    size_t i = 0;
    for (const json& l : v["layers"]) {
      const Where lw(label + " layer " + std::to_string(++i));
      if (!l.is_object()) return lw.Error("must be an object");
      for (const auto& [key, value] : l.items()) {
        if (key != "image" && !kLayerFields.count(key)) return lw.Error(key, "is not a layer field");
      }
      if (!l.contains("image") || !l["image"].is_string()) return lw.Error("image", "is required");
      v1::Layer* layer = r.add_layers();
      layer->set_image_id(l["image"].get<std::string>());
      TR_RETURN_IF_ERROR(ApplyLayerFields(layer_defaults, layer, lw));
      TR_RETURN_IF_ERROR(ApplyLayerFields(l, layer, lw));
    }
  }
  return r;
}

class Progress {
 public:
  Progress(size_t total, bool bar) : total_(total), bar_(bar) {}
  void Done(const std::string& line, bool ok) {
    std::lock_guard lock(mu_);
    ++done_;
    failed_ += !ok;
    if (bar_) {
      if (!ok) std::fprintf(stderr, "\r\033[K%s\n", line.c_str());
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(kWidth * done_ / std::max<size_t>(total_, 1));
      std::fprintf(stderr, "\r[%s%s] %zu/%zu views%s", std::string(filled, '#').c_str(),
                   std::string(kWidth - filled, '.').c_str(), done_, total_,
                   failed_ ? (", " + std::to_string(failed_) + " failed").c_str() : "");
      if (done_ == total_) std::fprintf(stderr, "\n");
    } else {
      std::fprintf(stderr, "[%zu/%zu] %s\n", done_, total_, line.c_str());
    }
  }

 private:
  std::mutex mu_;
  size_t total_, done_ = 0, failed_ = 0;
  bool bar_;
};

Result<json> ReadManifest(const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound("cannot read " + path);
  json manifest;
  try {
    manifest = json::parse(f);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 9E614
    return InvalidArgument(path + " is not valid JSON: " + e.what());
  }
  if (!manifest.is_object() || !manifest.contains("views") || !manifest["views"].is_array()) {
    return InvalidArgument(path + " needs a \"views\" array");
  }
  for (const auto& [key, v] : manifest.items()) {
    if (key != "images" && key != "views" && key != "defaults") {
      return InvalidArgument("unknown top-level field '" + key + "' (images, defaults, views)");
    }
  }
  const json defaults = manifest.value("defaults", json::object());
  if (!defaults.is_object() || defaults.contains("name") || defaults.contains("output")) {
    return InvalidArgument("\"defaults\" must be an object without name/output");
  }
  return manifest;
}

std::vector<ManifestView> ParseViews(const json& manifest) {
  const json defaults = manifest.value("defaults", json::object());
  std::set<std::string> names;
  std::set<std::string> outputs;  // two views writing one file would race
  std::vector<ManifestView> out;
  for (size_t i = 0; i < manifest["views"].size(); ++i) {
    ManifestView mv;
    const json& view = manifest["views"][i];
    // The name is shown for a failing view too, when it has one.
    if (view.is_object() && view.contains("name") && view["name"].is_string()) mv.name = view["name"];
    mv.request = ParseView(defaults, view, i, &names, &mv);
    if (mv.request.ok() && !outputs.insert(mv.output).second) {
      mv.request = InvalidArgument("view " + std::to_string(i + 1) + " ('" + mv.name + "'): field 'output' names the file '" +
                                   mv.output + "' of an earlier view");
    }
    out.push_back(std::move(mv));
  }
  return out;
}

std::vector<ManifestImage> ParseImages(const json& manifest) {
  std::vector<ManifestImage> out;
  if (!manifest.contains("images")) return out;
  const json& images = manifest["images"];
  if (!images.is_array()) {
    ManifestImage bad;
    bad.status = InvalidArgument("\"images\" must be an array");
    out.push_back(std::move(bad));
    return out;
  }
  for (size_t i = 0; i < images.size(); ++i) {
    const json& img = images[i];
    ManifestImage mi;
    const char* source_key = img.is_object() && img.contains("path") ? "path" : "upload";
    if (!img.is_object() || !img.contains("id") || !img["id"].is_string() ||
        (img.contains("path") == img.contains("upload")) || !img[source_key].is_string() ||
        (img.contains("page") && (!img["page"].is_number_unsigned() || img["page"].get<uint64_t>() > INT32_MAX)) ||
        (img.contains("labels") && !img["labels"].is_boolean())) {
      mi.status = InvalidArgument("image " + std::to_string(i + 1) +
                                  ": needs a string \"id\", one string \"path\" or \"upload\", an"
                                  " optional non-negative integer \"page\" and an optional boolean \"labels\"");
    } else {
      mi.id = img["id"].get<std::string>();
      mi.page = img.value("page", 0);
      mi.path = img[source_key].get<std::string>();
      mi.upload = !img.contains("path");
      mi.labels = img.value("labels", false);
    }
    out.push_back(std::move(mi));
  }
  return out;
}

}  // namespace

Result<std::vector<ManifestView>> ReadManifestViews(const std::string& path) {
  TR_ASSIGN_OR_RETURN(json manifest, ReadManifest(path));
  return ParseViews(manifest);
}

Result<std::vector<ManifestImage>> ReadManifestImages(const std::string& path) {
  TR_ASSIGN_OR_RETURN(json manifest, ReadManifest(path));
  return ParseImages(manifest);
}

int RunBatch(Client& client, const BatchOptions& o) {
  auto parsed = ReadManifest(o.manifest);
  if (!parsed.ok()) {
    std::fprintf(stderr, "tilerender batch: %s\n", parsed.status().message().c_str());
    return 2;
  }
  const json& manifest = *parsed;
  const json defaults = manifest.value("defaults", json::object());
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (!fs::is_directory(o.out_dir)) {
    std::fprintf(stderr, "tilerender batch: cannot create %s\n", o.out_dir.c_str());
    return 2;
  }

  // Images first. A failed image is reported; the views that need it fail on their own.
  std::vector<std::string> loaded;
  int image_failures = 0;
  const fs::path base = fs::path(o.manifest).parent_path();
  for (const ManifestImage& img : ParseImages(manifest)) {
    Status s = img.status;
    if (s.ok() && !img.upload) {
      v1::LoadImageRequest req;
      req.set_path(img.path);
      req.set_image_id(img.id);
      req.set_page(img.page);
      req.set_labels(img.labels);
      s = client.Load(req).status();
    } else if (s.ok()) {
      OpenOptions open;
      open.page = img.page;
      open.labels = img.labels;
      auto file = OpenImageFile((base / img.path).string(), open);
      UploadOptions upload;
      upload.labels = img.labels;
      s = file.ok() ? client.Upload(img.id, *file->source, upload).status() : file.status();
    }
    if (s.ok()) {
      loaded.push_back(img.id);
    } else {
      ++image_failures;
      std::fprintf(stderr, "image '%s': %s\n", img.id.c_str(), s.ToString().c_str());
    }
  }

  const std::vector<ManifestView> views = ParseViews(manifest);
  std::vector<size_t> valid;  // indices into views
  Progress progress(views.size(), o.progress_bar);
  std::vector<std::string> failures;
  size_t rendered = 0;
  std::mutex mu;
  for (size_t i = 0; i < views.size(); ++i) {
    if (views[i].request.ok()) {
      valid.push_back(i);
    } else {
      failures.push_back(views[i].request.status().message());
      progress.Done(views[i].request.status().message(), false);
    }
  }

  // Views spread over `jobs` streams; each stream pipelines its views (the daemon keeps several of
  // each stream in flight).
  const int streams = std::max(1, std::min<int>(o.jobs, static_cast<int>(valid.size())));
  std::vector<std::thread> workers;
  for (int s = 0; s < streams; ++s) {
    workers.emplace_back([&, s] {
      std::vector<size_t> mine;
      std::vector<v1::RenderRequest> requests;
      for (size_t k = s; k < valid.size(); k += streams) {
        mine.push_back(valid[k]);
        requests.push_back(*views[valid[k]].request);
      }
      const Status st = client.RenderStream(requests, [&](size_t k, Result<v1::RenderResponse> r) {
        const ManifestView& job = views[mine[k]];
        std::string line = "view " + std::to_string(mine[k] + 1) + " ('" + job.name + "'): ";
        bool ok = r.ok();
        if (ok) {
          const std::string path = (fs::path(o.out_dir) / job.output).string();
          std::ofstream f(path, std::ios::binary);
          f.write(r->data().data(), static_cast<std::streamsize>(r->data().size()));
          ok = static_cast<bool>(f);
          char t[64];
          std::snprintf(t, sizeof t, " %.1f ms", r->timings().total_ms());
          line += ok ? "OK -> " + path + t : "cannot write " + path;
        } else {
          line += r.status().ToString();
        }
        {
          std::lock_guard lock(mu);
          if (ok) ++rendered; else failures.push_back(line);
        }
        progress.Done(line, ok);
      });
      if (!st.ok()) {
        std::lock_guard lock(mu);
        failures.push_back("stream " + std::to_string(s) + ": " + st.ToString());
      }
    });
  }
  for (auto& t : workers) t.join();

  if (!o.keep_images) {
    for (const std::string& id : loaded) (void)client.Unload(id).ok();
  }
  const size_t total = views.size();
  std::printf("%zu views: %zu rendered, %zu failed%s\n", total, rendered, total - rendered, image_failures ? (", " + std::to_string(image_failures) + " image(s) failed to load").c_str() : "");
  for (const std::string& f : failures) std::printf("  failed: %s\n", f.c_str());
  return rendered == total && image_failures == 0 ? 0 : 1;
}

}  // namespace tilerender::client
