// OME-Zarr (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3): a directory whose group attributes hold
// `multiscales` (in `.zattrs`, or under "ome" in `zarr.json`). Its datasets are the image's levels
// (each taken as level k when its y/x size is the full size over 2^k within rounding), its axes any
// subset of t, c, z, y, x: the c axis becomes the image's planes (channels), one t and one z are
// chosen (OpenOptions), y and x are the image. Chunks are read on demand, one per ReadChunk, through
// ZarrArray's codecs; `omero` channel labels and colors become plane names and colors.
// uint8 and uint16 are kept; every other dtype becomes float32, with a note.

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/image/image_file.h"
#include "core/image/zarr_array.h"

namespace tilerender {
namespace {

using json = nlohmann::json;

class OmeZarrSource final : public ImageSource {
 public:
  Status Open(const std::string& dir, const OpenOptions& options, OpenedImage* out) {
    // A value of the wrong JSON type where a key is read (value(), get<>()) throws: attributes
    // that are not what they claim are INVALID_ARGUMENT, like any other.
    name_ = options.name.empty() ? dir : options.name;
    try {
      return OpenAttributes(dir, options, out);
    } catch (const json::exception& e) {
      return Fail(std::string("bad group attributes: ") + e.what());
    }
  }

  const ImageDesc& desc() const override { return desc_; }
  std::vector<SourceLevel> levels() const override { return source_levels_; }
  std::vector<PlaneInfo> plane_info() const override { return planes_; }
  std::pair<double, double> pixel_size_um() const override { return pixel_size_; }
  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) override;

 private:
  Status OpenAttributes(const std::string& dir, const OpenOptions& options, OpenedImage* out);
  Status Fail(const std::string& what) const { return InvalidArgument(name_ + ": " + what); }

  std::string name_;
  ImageDesc desc_;
  std::vector<ZarrArray> arrays_;  // one per level
  std::vector<SourceLevel> source_levels_;
  std::vector<PlaneInfo> planes_;
  int ndim_ = 0;
  int axis_t_ = -1, axis_c_ = -1, axis_z_ = -1, axis_y_ = -1, axis_x_ = -1;
  int64_t t_ = 0, z_ = 0;
  std::pair<double, double> pixel_size_{0, 0};
};

// Micrometres per unit of an NGFF axis unit (UDUNITS names); 0 for none or unknown.
double MicrometresPer(const std::string& unit) {
  if (unit == "micrometer" || unit == "micron" || unit == "um" || unit == "\u00b5m") return 1;
  if (unit == "nanometer" || unit == "nm") return 1e-3;
  if (unit == "angstrom") return 1e-4;
  if (unit == "millimeter" || unit == "mm") return 1e3;
  if (unit == "centimeter" || unit == "cm") return 1e4;
  if (unit == "meter" || unit == "m") return 1e6;
  return 0;
}

// The product of the "scale" transformations in a coordinateTransformations list, per axis.
std::vector<double> Scales(const json& transforms, size_t ndim) {
  std::vector<double> s(ndim, 1.0);
  if (!transforms.is_array()) return s;
  for (const json& t : transforms) {
    if (!t.is_object() || t.value("type", "") != "scale" || !t.contains("scale") || !t["scale"].is_array()) continue;
    if (t["scale"].size() != ndim) continue;
    for (size_t i = 0; i < ndim; ++i) s[i] *= t["scale"][i].is_number() ? t["scale"][i].get<double>() : 1.0;
  }
  return s;
}

Result<json> GroupAttributes(const std::string& dir, const std::string& name) {
  struct stat st {};
  const bool v3 = ::stat((dir + "/zarr.json").c_str(), &st) == 0;
  std::ifstream f(dir + (v3 ? "/zarr.json" : "/.zattrs"));
  if (!f) return InvalidArgument(name + ": not an OME-Zarr image (no .zattrs or zarr.json)");
  json j = json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(name + ": invalid JSON in " + (v3 ? "zarr.json" : ".zattrs"));
  }
  if (!v3) return j;
  const json attrs = j.value("attributes", json::object());
  return attrs.contains("ome") ? attrs["ome"] : attrs;
}

uint32_t ParseColor(const json& c) {
  if (!c.is_string()) return 0;
  const std::string s = c.get<std::string>();
  if (s.size() != 6 || s.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return 0;
  return (static_cast<uint32_t>(std::stoul(s, nullptr, 16)) << 8) | 0xFF;
}

Status OmeZarrSource::OpenAttributes(const std::string& dir, const OpenOptions& options, OpenedImage* out) {
  TR_ASSIGN_OR_RETURN(json attrs, GroupAttributes(dir, name_));
  if (!attrs.contains("multiscales") || !attrs["multiscales"].is_array() || attrs["multiscales"].empty()) {
    return Fail("no \"multiscales\" in the group attributes");
  }
  const json& ms = attrs["multiscales"][0];
  if (!ms.contains("datasets") || !ms["datasets"].is_array() || ms["datasets"].empty()) {
    return Fail("\"multiscales\" has no datasets");
  }
  // Axes: names (0.4, 0.5) or, without axes, the 0.3 default t, c, z, y, x of the trailing dims.
  std::vector<std::string> axes;
  if (ms.contains("axes")) {
    if (!ms["axes"].is_array()) return Fail("\"axes\" must be an array");
    for (const json& a : ms["axes"]) {
      if (a.is_string()) axes.push_back(a.get<std::string>());
      else if (a.is_object() && a.contains("name") && a["name"].is_string()) axes.push_back(a["name"].get<std::string>());
      else return Fail("an axis has no name");
    }
  }
  for (const json& d : ms["datasets"]) {
    if (!d.contains("path") || !d["path"].is_string()) return Fail("a dataset has no \"path\"");
    const std::string path = d["path"].get<std::string>();
    if (path.empty() || path.find("..") != std::string::npos || path[0] == '/') return Fail("bad dataset path \"" + path + "\"");
    TR_ASSIGN_OR_RETURN(ZarrArray a, ZarrArray::Open(dir + "/" + path, name_ + "/" + path));
    arrays_.push_back(std::move(a));
  }
  ndim_ = static_cast<int>(arrays_[0].shape.size());
  if (axes.empty()) {
    const char* all[5] = {"t", "c", "z", "y", "x"};
    if (ndim_ < 2 || ndim_ > 5) return Fail("arrays of " + std::to_string(ndim_) + " dimensions without \"axes\"");
    for (int i = 5 - ndim_; i < 5; ++i) axes.push_back(all[i]);
  }
  if (static_cast<int>(axes.size()) != ndim_) {
    return Fail(std::to_string(axes.size()) + " axes but arrays of " + std::to_string(ndim_) + " dimensions");
  }
  for (int i = 0; i < ndim_; ++i) {
    int* slot = axes[i] == "t" ? &axis_t_ : axes[i] == "c" ? &axis_c_ : axes[i] == "z" ? &axis_z_
              : axes[i] == "y" ? &axis_y_ : axes[i] == "x" ? &axis_x_ : nullptr;
    if (slot == nullptr) return Fail("unknown axis \"" + axes[i] + "\" (t, c, z, y and x are read)");
    if (*slot >= 0) return Fail("axis \"" + axes[i] + "\" twice");
    *slot = i;
  }
  if (axis_y_ < 0 || axis_x_ < 0) return Fail("no y and x axes");
  const ZarrArray& a0 = arrays_[0];
  const int64_t size_t_ = axis_t_ >= 0 ? a0.shape[axis_t_] : 1;
  const int64_t size_z = axis_z_ >= 0 ? a0.shape[axis_z_] : 1;
  const int64_t size_c = axis_c_ >= 0 ? a0.shape[axis_c_] : 1;
  if (options.page != 0) return Fail("OME-Zarr images have no pages; choose a plane with z and t");
  if (options.t < 0 || options.t >= size_t_) {
    return Fail("t " + std::to_string(options.t) + " is out of range (the image has " + std::to_string(size_t_) + ")");
  }
  if (options.z < 0 || options.z >= size_z) {
    return Fail("z " + std::to_string(options.z) + " is out of range (the image has " + std::to_string(size_z) + ")");
  }
  t_ = options.t;
  z_ = options.z;
  if (size_c > kMaxPlanes) return Fail(std::to_string(size_c) + " channels (at most " + std::to_string(kMaxPlanes) + ")");

  const ZarrDtype& dt = a0.dtype;
  desc_.width = a0.shape[axis_x_];
  desc_.height = a0.shape[axis_y_];
  desc_.channels = 1;
  desc_.planes = static_cast<int>(size_c);
  if (dt.kind == ZarrKind::kUint && dt.size == 1) {
    desc_.type = PixelType::kUint8;
  } else if (dt.kind == ZarrKind::kUint && dt.size == 2) {
    desc_.type = PixelType::kUint16;
  } else if (dt.kind == ZarrKind::kUint && dt.size == 4 && options.labels) {
    desc_.type = PixelType::kUint32;
  } else {
    desc_.type = PixelType::kFloat32;
    if (!(dt.kind == ZarrKind::kFloat && dt.size == 4)) out->notes.push_back(dt.ToString() + " converted to float32");
  }
  TR_RETURN_IF_ERROR(ValidateDesc(desc_, options.limits.Paged()));

  // Levels: every dataset must agree with level 0 off the y/x axes and in dtype.
  std::vector<ZarrArray> kept;
  for (size_t i = 0; i < arrays_.size(); ++i) {
    const ZarrArray& a = arrays_[i];
    const std::string ds = "dataset " + std::to_string(i);
    if (static_cast<int>(a.shape.size()) != ndim_) return Fail(ds + " has another number of dimensions than dataset 0");
    if (a.dtype.kind != dt.kind || a.dtype.size != dt.size) return Fail(ds + " has another dtype than dataset 0");
    for (int d = 0; d < ndim_; ++d) {
      if (d != axis_x_ && d != axis_y_ && a.shape[d] != a0.shape[d]) {
        return Fail(ds + "'s shape disagrees with dataset 0 on axis \"" + axes[d] + "\"");
      }
    }
    SourceLevel l;
    l.width = a.shape[axis_x_];
    l.height = a.shape[axis_y_];
    l.chunk_width = a.chunks[axis_x_];
    l.chunk_height = a.chunks[axis_y_];
    if (i == 0) {
      l.level = 0;
    } else {
      if (l.width >= desc_.width) return Fail(ds + " is not smaller than dataset 0");
      const int k = static_cast<int>(std::lround(std::log2(static_cast<double>(desc_.width) / l.width)));
      const double scale = std::ldexp(1.0, -k);
      if (k < 1 || std::abs(l.width - desc_.width * scale) > 1.0 || std::abs(l.height - desc_.height * scale) > 1.0) {
        out->notes.push_back(ds + " (" + std::to_string(l.width) + "x" + std::to_string(l.height) +
                             ") is not a power-of-two level: not used");
        continue;
      }
      if (k <= source_levels_.back().level) continue;
      l.level = k;
    }
    source_levels_.push_back(l);
    kept.push_back(a);  // source level index = position in arrays_
  }
  arrays_ = std::move(kept);

  // Physical pixel size: dataset 0's scale (and the multiscale's own), in the axes' units.
  if (ms.contains("axes") && ms["axes"].is_array()) {
    const std::vector<double> ds0 = Scales(ms["datasets"][0].value("coordinateTransformations", json()), ndim_);
    const std::vector<double> all = Scales(ms.value("coordinateTransformations", json()), ndim_);
    auto unit = [&](int axis) {
      const json& a = ms["axes"][axis];
      return a.is_object() && a.contains("unit") && a["unit"].is_string() ? MicrometresPer(a["unit"].get<std::string>()) : 0.0;
    };
    const double ux = unit(axis_x_), uy = unit(axis_y_);
    if (ux > 0 && uy > 0) pixel_size_ = {ds0[axis_x_] * all[axis_x_] * ux, ds0[axis_y_] * all[axis_y_] * uy};
  }
  // Channel names and colors.
  if (attrs.contains("omero") && attrs["omero"].is_object() && attrs["omero"].contains("channels") &&
      attrs["omero"]["channels"].is_array()) {
    const json& chs = attrs["omero"]["channels"];
    if (static_cast<int64_t>(chs.size()) == size_c) {
      for (const json& c : chs) {
        PlaneInfo p;
        if (c.contains("label")) p.name = c["label"].is_string() ? c["label"].get<std::string>() : c["label"].dump();
        if (c.contains("color")) p.color = ParseColor(c["color"]);
        // The display window (start/end) is a suggestion; one that is not two numbers is ignored.
        if (c.contains("window") && c["window"].is_object()) {
          const json& w = c["window"];
          if (w.contains("start") && w.contains("end") && w["start"].is_number() && w["end"].is_number()) {
            p.window_lo = w["start"].get<double>();
            p.window_hi = w["end"].get<double>();
          }
        }
        planes_.push_back(std::move(p));
      }
    }
  }
  out->format = arrays_[0].format == 3 ? "ome-zarr v3" : "ome-zarr v2";
  if (size_t_ > 1 || size_z > 1) {
    out->notes.push_back("t " + std::to_string(t_) + " of " + std::to_string(size_t_) + ", z " + std::to_string(z_) +
                         " of " + std::to_string(size_z));
  }
  return Status::Ok();
}

template <typename T>
double Element(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return static_cast<double>(v);
}

Status OmeZarrSource::ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) {
  if (index < 0 || index >= static_cast<int>(arrays_.size()) || plane < 0 || plane >= desc_.planes) {
    return InvalidArgument("no such chunk");
  }
  const ZarrArray& a = arrays_[index];
  const SourceLevel& l = source_levels_[index];
  // The chunk holding (t, plane, z) on its other axes; its position inside the chunk there.
  std::vector<int64_t> chunk(ndim_), offset(ndim_, 0);
  for (int d = 0; d < ndim_; ++d) {
    int64_t at = 0;
    if (d == axis_t_) at = t_;
    else if (d == axis_c_) at = plane;
    else if (d == axis_z_) at = z_;
    chunk[d] = at / a.chunks[d];
    offset[d] = at % a.chunks[d];
  }
  chunk[axis_x_] = cx;
  chunk[axis_y_] = cy;
  std::vector<uint8_t> data;
  TR_RETURN_IF_ERROR(a.ReadChunk(chunk, &data, name_));
  // C-order strides of the chunk, in elements.
  std::vector<int64_t> stride(ndim_, 1);
  for (int d = ndim_ - 2; d >= 0; --d) stride[d] = stride[d + 1] * a.chunks[d + 1];
  int64_t base = 0;
  for (int d = 0; d < ndim_; ++d) base += offset[d] * stride[d];
  const int64_t rows = std::min(l.chunk_height, l.height - cy * l.chunk_height);
  const int64_t cols = std::min(l.chunk_width, l.width - cx * l.chunk_width);
  const int es = a.dtype.size;
  const size_t out_size = BytesPerSample(desc_.type);
  for (int64_t y = 0; y < rows; ++y) {
    uint8_t* row = dst + static_cast<size_t>(y) * dst_stride;
    for (int64_t x = 0; x < cols; ++x) {
      const uint8_t* e = data.data() + (base + y * stride[axis_y_] + x * stride[axis_x_]) * es;
      if (desc_.type != PixelType::kFloat32) {
        std::memcpy(row + x * out_size, e, out_size);  // uint8 / uint16 / uint32 as they are
        continue;
      }
      double v = 0;
      switch (a.dtype.kind) {
        case ZarrKind::kFloat: v = es == 4 ? Element<float>(e) : Element<double>(e); break;
        case ZarrKind::kInt: v = es == 1 ? Element<int8_t>(e) : es == 2 ? Element<int16_t>(e) : Element<int32_t>(e); break;
        case ZarrKind::kUint: v = es == 1 ? Element<uint8_t>(e) : es == 2 ? Element<uint16_t>(e) : Element<uint32_t>(e); break;
      }
      const float f = static_cast<float>(v);
      std::memcpy(row + x * 4, &f, 4);
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsOmeZarrDirectory(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  return ::stat((path + "/.zattrs").c_str(), &st) == 0 || ::stat((path + "/zarr.json").c_str(), &st) == 0;
}

Result<OpenedImage> OpenOmeZarr(const std::string& dir, const OpenOptions& options) {
  auto source = std::make_shared<OmeZarrSource>();
  OpenedImage out;
  TR_RETURN_IF_ERROR(source->Open(dir, options, &out));
  out.source = std::move(source);
  return out;
}

}  // namespace tilerender
