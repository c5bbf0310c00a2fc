#include "core/render/renderer.h"

#include <glad/gl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iterator>
#include <tuple>

#include "core/gl/gl_error.h"
#include "core/gl/program.h"

namespace tilerender {
namespace {

constexpr const char* kTileUniforms[] = {
    "u_tex",       "u_lut",        "u_lut_size", "u_out_height", "u_half",  "u_m",     "u_c_int",
    "u_c_frac",    "u_inside_lo",  "u_inside_hi", "u_level_size", "u_core", "u_scale",
    "u_lo",        "u_range",      "u_gamma",    "u_opacity",    "u_blend", "u_corners",
    "u_seed",      "u_selected",   "u_select_mode", "u_table_ids", "u_table_colors", "u_table_size",
    "u_ids",       "u_minmax",     "u_width"};
// A composite program's per-plane arrays (element 0: glUniform*v sets them whole).
constexpr const char* kCompositeUniforms[] = {"u_ptex[0]", "u_plut[0]",   "u_plut_size[0]", "u_plo[0]",
                                              "u_prange[0]", "u_pgamma[0]", "u_popacity[0]"};

// Texture units: 0 the tile (or a contour pass's ids), 1 the colormap, 2 and 3 a labels color
// table's ids and colors, 4 a contour pass's row minima and maxima.
constexpr int kUnitTile = 0, kUnitLut = 1, kUnitTableIds = 2, kUnitTableColors = 3, kUnitMinMax = 4;
// A labels color table's texture width (tile.frag: entry i at (i % 1024, i / 1024)).
constexpr int kTableWidth = 1024;

// Texels of margin around a tile's quad: the shader decides ownership, and a linear footprint's
// owner sits half a texel off; a floor-sized level may end inside the image's last texel.
constexpr double kQuadMargin = 2;

double Ms(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The single-layer programs: one per kind of texel data, each nearest and linear.
struct ProgramKind {
  int channels;
  bool is_float;
};
constexpr ProgramKind kProgramKinds[] = {{1, false}, {1, true}, {3, false}, {4, false}};

int ProgramIndex(const ImageDesc& desc, Interpolation interp) {
  const bool is_float = desc.channels == 1 && desc.type == PixelType::kFloat32;
  const int linear = interp == Interpolation::kLinear ? 1 : 0;
  for (int kind = 0; kind < static_cast<int>(std::size(kProgramKinds)); ++kind) {
    if (kProgramKinds[kind].channels == desc.channels && kProgramKinds[kind].is_float == is_float) return kind * 2 + linear;
  }
  return linear;  // not reached: images are scalar, RGB or RGBA (ValidateDesc)
}

float ValueScale(const ImageDesc& d) {
  switch (d.type) {
    case PixelType::kUint8: return 255.f;
    case PixelType::kUint16: return 65535.f;
    case PixelType::kFloat32:
    case PixelType::kUint32: return 1.f;
  }
  return 1.f;
}

void SetBlendState(Blending b) {
  switch (b) {
    case Blending::kTranslucent:
      glEnable(GL_BLEND);
      glBlendEquation(GL_FUNC_ADD);
      glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
      break;
    case Blending::kAdditive:
      glEnable(GL_BLEND);
      glBlendEquation(GL_FUNC_ADD);
      glBlendFunc(GL_ONE, GL_ONE);
      break;
    case Blending::kOpaque:
      glDisable(GL_BLEND);
      break;
    case Blending::kMinimum:
      glEnable(GL_BLEND);
      glBlendEquationSeparate(GL_MIN, GL_MAX);
      break;
    case Blending::kMaximum:
      glEnable(GL_BLEND);
      glBlendEquation(GL_MAX);
      break;
  }
}

}  // namespace

bool Renderer::ContextHasGather() {
  GLint major = 0, extensions = 0;
  glGetIntegerv(GL_MAJOR_VERSION, &major);
  if (major >= 4) return true;
  glGetIntegerv(GL_NUM_EXTENSIONS, &extensions);
  for (GLint i = 0; i < extensions; ++i) {
    const auto* name = reinterpret_cast<const char*>(glGetStringi(GL_EXTENSIONS, static_cast<GLuint>(i)));
    if (name != nullptr && std::strcmp(name, "GL_ARB_texture_gather") == 0) return true;
  }
  return false;
}

std::vector<std::string> Renderer::Defines(int channels, bool is_float, bool linear, int planes, bool values,
                                           bool labels, bool ids, int contour) const {
  return {"CHANNELS " + std::to_string(channels), "LINEAR " + std::to_string(linear ? 1 : 0),
          "PLANES " + std::to_string(planes), "FLOAT " + std::to_string(is_float ? 1 : 0),
          "GATHER " + std::to_string(gather_ ? 1 : 0), "VALUES " + std::to_string(values ? 1 : 0),
          "LABELS " + std::to_string(labels ? 1 : 0), "IDS " + std::to_string(ids ? 1 : 0),
          "CONTOUR " + std::to_string(contour)};
}


Result<const Renderer::Program*> Renderer::BuiltProgram(Program& p, const std::vector<std::string>& defines) {
  if (!p.program) {
    TR_ASSIGN_OR_RETURN(p.program, gl::BuildProgram("tile.vert", "tile.frag", defines));
    for (const char* name : kTileUniforms) p.uniforms[name] = glGetUniformLocation(p.program.get(), name);
  }
  return &p;
}

Result<const Renderer::Program*> Renderer::ProgramFor(const ResolvedLayer& layer) {
  const ImageDesc& desc = layer.image->info().desc;
  const bool is_float = desc.type == PixelType::kFloat32, linear = layer.interpolation == Interpolation::kLinear;
  if (values_mode_) return BuiltProgram(value_programs_[(is_float ? 2 : 0) + (linear ? 1 : 0)], Defines(1, is_float, linear, 1, true));
  if (layer.labels) {
    return BuiltProgram(labels_programs_[(is_float ? 1 : 0) + (ids_mode_ ? 2 : 0)],
                        Defines(1, is_float, false, 1, false, true, ids_mode_));
  }
  return &programs_[ProgramIndex(desc, layer.interpolation)];
}

Result<const Renderer::Program*> Renderer::ContourProgram(int pass) {
  return BuiltProgram(contour_programs_[pass - 1], Defines(1, false, false, 1, false, true, false, pass));
}

Status Renderer::PrepareLayerProgram(const ResolvedLayer& layer) {
  TR_RETURN_IF_ERROR(ProgramFor(layer).status());
  if (layer.labels && layer.labels->contour > 0) {
    ids_mode_ = true;
    const Status s = ProgramFor(layer).status();
    ids_mode_ = false;
    TR_RETURN_IF_ERROR(s);
    for (int pass : {1, 2}) TR_RETURN_IF_ERROR(ContourProgram(pass).status());
  }
  return Status::Ok();
}

Status Renderer::BeginIds(const View& view) {
  for (Target* t : {&ids_target_, &minmax_target_}) {
    if (t->width != view.width || t->height != view.height) {
      TR_RETURN_IF_ERROR(MakeTarget(t, view.width, view.height, t == &ids_target_ ? GL_R32UI : GL_RG32UI,
                                    t == &ids_target_ ? "labels id target" : "contour target", true));
    }
  }
  ids_mode_ = true;
  glBindFramebuffer(GL_FRAMEBUFFER, ids_target_.fbo.get());
  glViewport(0, 0, view.width, view.height);
  glDisable(GL_BLEND);
  const GLuint zero[4] = {0, 0, 0, 0};
  glClearBufferuiv(GL_COLOR, 0, zero);
  return Status::Ok();
}

Status Renderer::DrawContours(const View& view, const ResolvedLayer& layer) {
  ids_mode_ = false;
  TR_ASSIGN_OR_RETURN(const Program* rows, ContourProgram(1));
  TR_ASSIGN_OR_RETURN(const Program* columns, ContourProgram(2));
  // Full-screen quads (tile.vert's strip).
  const float corners[8] = {-1, -1, 1, -1, -1, 1, 1, 1};
  glBindVertexArray(vao_.get());
  glActiveTexture(GL_TEXTURE0 + kUnitTile);
  glBindTexture(GL_TEXTURE_2D, ids_target_.texture.get());
  // Row pass: each pixel's minimum and maximum id within the width along its row.
  glBindFramebuffer(GL_FRAMEBUFFER, minmax_target_.fbo.get());
  glDisable(GL_BLEND);
  glUseProgram(rows->program.get());
  glUniform2fv((*rows)["u_corners"], 4, corners);
  glUniform1i((*rows)["u_ids"], kUnitTile);
  glUniform1i((*rows)["u_width"], layer.labels->contour);
  glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
  // Column pass over the row pass, into the frame, in the objects' colors.
  glBindFramebuffer(GL_FRAMEBUFFER, frame_fbo_);
  glUseProgram(columns->program.get());
  const Program& p = *columns;
  glUniform2fv(p["u_corners"], 4, corners);
  glUniform1i(p["u_ids"], kUnitTile);
  glUniform1i(p["u_minmax"], kUnitMinMax);
  glUniform1i(p["u_width"], layer.labels->contour);
  glUniform1f(p["u_opacity"], layer.opacity);
  glUniform1i(p["u_blend"], static_cast<int>(layer.blending));
  glActiveTexture(GL_TEXTURE0 + kUnitMinMax);
  glBindTexture(GL_TEXTURE_2D, minmax_target_.texture.get());
  SetLabelsUniforms(p, layer);
  glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
  glActiveTexture(GL_TEXTURE0 + kUnitTile);
  // Large targets are not kept (as Finish does for frames).
  if (static_cast<int64_t>(view.width) * view.height > kKeptTargetPixels) {
    ids_target_ = Target{};
    minmax_target_ = Target{};
  }
  return gl::CheckGl("drawing contours");
}

void Renderer::SetLabelsUniforms(const Program& p, const ResolvedLayer& layer) {
  const LabelsStyle& style = *layer.labels;
  glUniform1ui(p["u_seed"], style.seed);
  glUniform1ui(p["u_selected"], style.selected.value_or(0));
  glUniform1i(p["u_select_mode"], !style.selected ? 0 : style.selected_only ? 1 : 2);
  glUniform1i(p["u_table_size"], static_cast<int>(style.colors.size()));
  glUniform1i(p["u_table_ids"], kUnitTableIds);
  glUniform1i(p["u_table_colors"], kUnitTableColors);
  if (!table_ids_) {
    table_ids_ = gl::CreateTexture();
    table_colors_ = gl::CreateTexture();
  }
  if (!style.colors.empty() && style.colors != table_) {
    // Uploaded once for the batches of a layer (and the next render with the same table).
    table_ = style.colors;
    const int n = static_cast<int>(table_.size());
    const int rows = (n + kTableWidth - 1) / kTableWidth;
    std::vector<uint32_t> ids(static_cast<size_t>(rows) * kTableWidth, 0);
    std::vector<uint8_t> colors(ids.size() * 4, 0);
    for (int i = 0; i < n; ++i) {
      ids[i] = table_[i].id;
      std::memcpy(&colors[4 * static_cast<size_t>(i)], table_[i].rgba.data(), 4);
    }
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
    glActiveTexture(GL_TEXTURE0 + kUnitTableIds);  // bound where they are read, no other unit disturbed
    for (auto [tex, format, type, data, internal] :
         {std::tuple{table_ids_.get(), GL_RED_INTEGER, GL_UNSIGNED_INT, static_cast<const void*>(ids.data()), GL_R32UI},
          std::tuple{table_colors_.get(), GL_RGBA, GL_UNSIGNED_BYTE, static_cast<const void*>(colors.data()), GL_RGBA8}}) {
      glBindTexture(GL_TEXTURE_2D, tex);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, 0);
      glTexImage2D(GL_TEXTURE_2D, 0, internal, kTableWidth, rows, 0, format, type, data);
    }
  }
  glActiveTexture(GL_TEXTURE0 + kUnitTableIds);
  glBindTexture(GL_TEXTURE_2D, table_ids_.get());
  glActiveTexture(GL_TEXTURE0 + kUnitTableColors);
  glBindTexture(GL_TEXTURE_2D, table_colors_.get());
  glActiveTexture(GL_TEXTURE0 + kUnitTile);
  SetBlendState(layer.blending);
}

Status Renderer::BeginValues(const View& view, const ResolvedLayer& layer) {
  values_mode_ = true;
  // The program first (compiled on first use): DrawTiles then only picks it.
  if (Status s = ProgramFor(layer).status(); !s.ok()) {
    values_mode_ = false;
    return s;
  }
  Target& t = values_target_;
  if (t.width != view.width || t.height != view.height) {
    if (Status s = MakeTarget(&t, view.width, view.height, GL_RG32F, "value target", true); !s.ok()) {
      values_mode_ = false;
      return s;
    }
  }
  glBindFramebuffer(GL_FRAMEBUFFER, t.fbo.get());
  glViewport(0, 0, view.width, view.height);
  glDisable(GL_DEPTH_TEST);
  glDisable(GL_SCISSOR_TEST);
  glDisable(GL_BLEND);
  glClearColor(0, 0, 0, 0);
  glClear(GL_COLOR_BUFFER_BIT);
  return Status::Ok();
}

Result<std::optional<AutoLimits>> Renderer::FinishValues(const View& view, double lo_pct, double hi_pct) {
  values_mode_ = false;
  Result<std::optional<AutoLimits>> limits =
      gpu_histogram_ ? GpuPercentiles(view, lo_pct, hi_pct) : ReadbackPercentiles(view, lo_pct, hi_pct);
  // A large target is not kept (as Finish does for frames).
  if (static_cast<int64_t>(view.width) * view.height > kKeptTargetPixels) values_target_ = Target{};
  return limits;
}

Result<std::optional<AutoLimits>> Renderer::ReadbackPercentiles(const View& view, double lo_pct, double hi_pct) {
  const size_t pixels = static_cast<size_t>(view.width) * static_cast<size_t>(view.height);
  std::vector<float> rg(pixels * 2);
  glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
  glPixelStorei(GL_PACK_ALIGNMENT, 4);
  glPixelStorei(GL_PACK_ROW_LENGTH, 0);
  glReadPixels(0, 0, view.width, view.height, GL_RG, GL_FLOAT, rg.data());
  TR_RETURN_IF_ERROR(gl::CheckGl("reading the value pass"));
  std::vector<float> values;
  for (size_t i = 0; i < pixels; ++i) {
    if (rg[2 * i + 1] > 0.5f) values.push_back(rg[2 * i]);
  }
  return Percentiles(values, lo_pct, hi_pct);
}

namespace {

constexpr size_t kHistogramBins = 65536;  // 16 bits of a key per pass

// The float of an order-preserving key (histogram.comp's key, inverted).
float FromKey(uint32_t key) {
  const uint32_t bits = (key & 0x80000000u) != 0 ? key & 0x7FFFFFFFu : ~key;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

// The bin of `counts` holding the 0-based rank `rank`, and the rank within it.
std::pair<uint32_t, uint64_t> BinOf(const uint32_t* counts, uint64_t rank) {
  uint64_t below = 0;
  for (uint32_t b = 0; b < kHistogramBins; ++b) {
    if (rank < below + counts[b]) return {b, rank - below};
    below += counts[b];
  }
  return {kHistogramBins - 1, 0};  // not reached: rank < the total
}

}  // namespace

Result<std::optional<AutoLimits>> Renderer::GpuPercentiles(const View& view, double lo_pct, double hi_pct) {
  for (int pass : {1, 2}) {
    gl::Program& p = histogram_programs_[pass - 1];
    if (!p) {
      TR_ASSIGN_OR_RETURN(p, gl::BuildComputeProgram("histogram.comp", {"PASS " + std::to_string(pass)}));
    }
  }
  if (!histogram_buffer_) {
    histogram_buffer_ = gl::CreateBuffer();
    glBindBuffer(GL_SHADER_STORAGE_BUFFER, histogram_buffer_.get());
    glBufferData(GL_SHADER_STORAGE_BUFFER, static_cast<GLsizeiptr>(4 * kHistogramBins * 4), nullptr, GL_DYNAMIC_READ);
  }
  glBindBuffer(GL_SHADER_STORAGE_BUFFER, histogram_buffer_.get());
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, histogram_buffer_.get());
  glActiveTexture(GL_TEXTURE0 + kUnitTile);
  glBindTexture(GL_TEXTURE_2D, values_target_.texture.get());
  const GLuint groups_x = static_cast<GLuint>((view.width + 15) / 16), groups_y = static_cast<GLuint>((view.height + 15) / 16);
  // One pass: clear `histograms` histograms, count, read them back.
  auto run = [&](const gl::Program& p, size_t histograms, std::vector<uint32_t>* counts) -> Status {
    const GLsizeiptr bytes = static_cast<GLsizeiptr>(histograms * kHistogramBins * 4);
    glClearBufferSubData(GL_SHADER_STORAGE_BUFFER, GL_R32UI, 0, bytes, GL_RED_INTEGER, GL_UNSIGNED_INT, nullptr);
    glUseProgram(p.get());
    glUniform1i(glGetUniformLocation(p.get(), "u_values"), kUnitTile);
    glUniform2i(glGetUniformLocation(p.get(), "u_size"), view.width, view.height);
    glDispatchCompute(groups_x, groups_y, 1);
    glMemoryBarrier(GL_BUFFER_UPDATE_BARRIER_BIT);
    counts->resize(histograms * kHistogramBins);
    glGetBufferSubData(GL_SHADER_STORAGE_BUFFER, 0, bytes, counts->data());
    return gl::CheckGl("the auto-contrast histogram");
  };
  // Pass 1: the keys' high halves.
  std::vector<uint32_t> high;
  TR_RETURN_IF_ERROR(run(histogram_programs_[0], 1, &high));
  uint64_t n = 0;
  for (uint32_t c : high) n += c;
  if (n == 0) return std::optional<AutoLimits>();
  // The order statistics the two percentiles need, and the high half of each.
  const PercentileRank ranks[2] = {RankOf(n, lo_pct), RankOf(n, hi_pct)};
  std::vector<uint64_t> wanted;
  for (const PercentileRank& r : ranks) {
    wanted.push_back(r.k);
    if (r.next) wanted.push_back(r.k + 1);
  }
  std::vector<uint32_t> bins;                       // distinct high halves, at most 4
  std::vector<std::pair<size_t, uint64_t>> where;  // per wanted rank: index in bins, rank in the bin
  for (uint64_t rank : wanted) {
    const auto [bin, within] = BinOf(high.data(), rank);
    const size_t j = static_cast<size_t>(std::find(bins.begin(), bins.end(), bin) - bins.begin());
    if (j == bins.size()) bins.push_back(bin);
    where.push_back({j, within});
  }
  // Pass 2: the low halves of the keys in those bins.
  const gl::Program& refine = histogram_programs_[1];
  glUseProgram(refine.get());
  std::array<GLuint, 4> bin_uniform{};
  std::copy(bins.begin(), bins.end(), bin_uniform.begin());
  glUniform1uiv(glGetUniformLocation(refine.get(), "u_bins"), 4, bin_uniform.data());
  glUniform1i(glGetUniformLocation(refine.get(), "u_nbins"), static_cast<int>(bins.size()));
  std::vector<uint32_t> low;
  TR_RETURN_IF_ERROR(run(refine, bins.size(), &low));
  std::vector<double> order;  // the wanted order statistics, in the order of `wanted`
  for (const auto& [j, within] : where) {
    const uint32_t low_half = BinOf(low.data() + j * kHistogramBins, within).first;
    order.push_back(FromKey(bins[j] << 16 | low_half));
  }
  AutoLimits out;
  out.samples = static_cast<int64_t>(n);
  size_t next = 0;
  for (int i = 0; i < 2; ++i) {
    const double a = order[next++];
    const double b = ranks[i].next ? order[next++] : a;
    (i == 0 ? out.lo : out.hi) = Lerp(a, b, ranks[i]);
  }
  return std::optional<AutoLimits>(out);
}

bool Renderer::ContextHasCompute() {
  GLint major = 0, minor = 0;
  glGetIntegerv(GL_MAJOR_VERSION, &major);
  glGetIntegerv(GL_MINOR_VERSION, &minor);
  return major > 4 || (major == 4 && minor >= 3);
}

Result<std::unique_ptr<Renderer>> Renderer::Create(bool pbo_readback, bool gather, bool gpu_histogram) {
  std::unique_ptr<Renderer> r(new Renderer());
  r->pbo_readback_ = pbo_readback;
  r->gather_ = gather;
  r->gpu_histogram_ = gpu_histogram;
  static_assert(std::size(kProgramKinds) * 2 == std::tuple_size_v<decltype(r->programs_)>);
  for (int i = 0; i < static_cast<int>(r->programs_.size()); ++i) {
    const ProgramKind& kind = kProgramKinds[i / 2];
    TR_ASSIGN_OR_RETURN(r->programs_[i].program,
                        gl::BuildProgram("tile.vert", "tile.frag", r->Defines(kind.channels, kind.is_float, i % 2 == 1, 1)));
    for (const char* name : kTileUniforms) {
      r->programs_[i].uniforms[name] = glGetUniformLocation(r->programs_[i].program.get(), name);
    }
  }
  r->vao_ = gl::CreateVertexArray();
  for (gl::Texture& t : r->custom_luts_) t = gl::CreateTexture();
  TR_RETURN_IF_ERROR(gl::CheckGl("renderer setup"));
  return r;
}

Status Renderer::MakeTarget(Target* t, int width, int height, unsigned format, const char* what, bool texture) {
  *t = Target{};
  t->fbo = gl::CreateFramebuffer();
  glBindFramebuffer(GL_FRAMEBUFFER, t->fbo.get());
  if (texture) {
    // Read by a later pass (texelFetch): a texture, not a renderbuffer.
    t->texture = gl::CreateTexture();
    glBindTexture(GL_TEXTURE_2D, t->texture.get());
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, 0);
    glTexStorage2D(GL_TEXTURE_2D, 1, format, width, height);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, t->texture.get(), 0);
  } else {
    t->color = gl::CreateRenderbuffer();
    glBindRenderbuffer(GL_RENDERBUFFER, t->color.get());
    glRenderbufferStorage(GL_RENDERBUFFER, format, width, height);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, t->color.get());
  }
  const GLenum fb = glCheckFramebufferStatus(GL_FRAMEBUFFER);
  const gl::GlError err = gl::TakeGlError();
  if (fb != GL_FRAMEBUFFER_COMPLETE || err != gl::GlError::kNone) {
    *t = Target{};
    const std::string name = "a " + std::to_string(width) + "x" + std::to_string(height) + " " + what;
    if (err != gl::GlError::kNone) return gl::GlStatus(err, name);
    return Internal(name + " is incomplete (status 0x" + std::to_string(fb) + ")");
  }
  t->width = width;
  t->height = height;
  return Status::Ok();
}

Result<const Renderer::Target*> Renderer::TargetFor(int width, int height) {
  for (const Target& t : targets_) {
    if (t.width == width && t.height == height) return &t;
  }
  Target& t = targets_[next_target_];
  next_target_ = (next_target_ + 1) % static_cast<int>(targets_.size());
  TR_RETURN_IF_ERROR(MakeTarget(&t, width, height, GL_RGBA8, "framebuffer"));
  return &t;
}

unsigned Renderer::LutTexture(const Lut& lut, int slot) {
  gl::Id id;
  if (!lut.cache_key.empty()) {
    auto it = lut_cache_.find(lut.cache_key);
    if (it != lut_cache_.end()) return it->second.get();
    gl::Texture tex = gl::CreateTexture();
    id = tex.get();
    lut_cache_.emplace(lut.cache_key, std::move(tex));
  } else {
    id = custom_luts_[slot].get();
  }
  glBindTexture(GL_TEXTURE_2D, id);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, 0);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  // Mutable storage: the custom LUT is respecified per render, sizes vary.
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA32F, static_cast<GLsizei>(lut.entries.size()), 1, 0, GL_RGBA,
               GL_FLOAT, lut.entries.data());
  return id;
}

void Renderer::SetViewUniforms(const Program& p, const View& view, const ResolvedLayer& layer) {
  const TiledImage& image = *layer.image;
  const ImageDesc& desc = image.info().desc;
  const LevelPlan& level = image.plan().levels[layer.level];
  // Screen -> level texels. Centre split into integer and fraction (in double) so the shader's
  // float positions stay small, hence precise, on images of any size.
  const double scale = std::ldexp(1.0, layer.level);  // level-0 pixels per level texel
  // Column-major mat2 of ToWorld's matrix in level texels, S^-1 R(-theta) (View::InverseMatrix),
  // computed as 1 / (zoom * scale) times the rotation so unstretched views keep their exact floats.
  const double kx = 1.0 / ((view.mirror ? -view.zoom : view.zoom) * scale), ky = 1.0 / (view.zoom_y * scale);
  const float m[4] = {static_cast<float>(view.cos_t * kx), static_cast<float>(-view.sin_t * ky),
                      static_cast<float>(view.sin_t * kx), static_cast<float>(view.cos_t * ky)};
  const double cx = view.cx / scale, cy = view.cy / scale;
  const double cix = std::floor(cx), ciy = std::floor(cy);
  glUniform1f(p["u_out_height"], static_cast<float>(view.height));
  glUniform2f(p["u_half"], view.width / 2.0f, view.height / 2.0f);
  glUniformMatrix2fv(p["u_m"], 1, GL_FALSE, m);
  glUniform2i(p["u_c_int"], static_cast<int>(cix), static_cast<int>(ciy));
  glUniform2f(p["u_c_frac"], static_cast<float>(cx - cix), static_cast<float>(cy - ciy));
  glUniform2f(p["u_inside_lo"], static_cast<float>(-cix), static_cast<float>(-ciy));
  glUniform2f(p["u_inside_hi"], static_cast<float>(desc.width / scale - cix),
              static_cast<float>(desc.height / scale - ciy));
  glUniform2i(p["u_level_size"], static_cast<int>(level.width), static_cast<int>(level.height));
  glUniform1f(p["u_scale"], ValueScale(desc));
}

void Renderer::DrawQuads(const Program& p, const View& view, double scale, const PixelRect& core) {
  // The quad carries a margin: the shader, not the rasterizer, decides ownership.
  const double x0 = (core.x0 - kQuadMargin) * scale, y0 = (core.y0 - kQuadMargin) * scale;
  const double x1 = (core.x1 + kQuadMargin) * scale, y1 = (core.y1 + kQuadMargin) * scale;
  const Vec2 world[4] = {{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}};
  float corners[8];
  for (int i = 0; i < 4; ++i) {
    const Vec2 s = view.ToScreen(world[i]);
    corners[2 * i] = static_cast<float>(2.0 * s.x / view.width - 1.0);
    corners[2 * i + 1] = static_cast<float>(1.0 - 2.0 * s.y / view.height);
  }
  glUniform2fv(p["u_corners"], 4, corners);
  glUniform4i(p["u_core"], static_cast<int>(core.x0), static_cast<int>(core.y0), static_cast<int>(core.x1),
              static_cast<int>(core.y1));
  glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
}

void Renderer::DrawTiles(const View& view, const ResolvedLayer& layer, const std::vector<DrawTile>& tiles) {
  if (tiles.empty()) return;
  // Built before the render's draws (the start-up programs, PrepareLayerProgram, BeginValues).
  Result<const Program*> program = ProgramFor(layer);
  if (!program.ok()) return;
  const Program& p = **program;
  glUseProgram(p.program.get());
  glBindVertexArray(vao_.get());
  SetViewUniforms(p, view, layer);
  glUniform1i(p["u_tex"], kUnitTile);
  glUniform1f(p["u_opacity"], layer.opacity);
  glUniform1i(p["u_blend"], static_cast<int>(layer.blending));
  if (values_mode_) {
    glDisable(GL_BLEND);  // the value pass: the values themselves, no colormap, no blending
  } else if (ids_mode_) {
    glDisable(GL_BLEND);  // the ids pass of contour mode: ids, no color
  } else if (layer.labels) {
    SetLabelsUniforms(p, layer);
  } else {
    SetColorUniforms(p, layer);
  }
  glActiveTexture(GL_TEXTURE0 + kUnitTile);
  const double scale = std::ldexp(1.0, layer.level);
  for (const DrawTile& t : tiles) {
    glBindTexture(GL_TEXTURE_2D, t.texture);
    DrawQuads(p, view, scale, t.core);
  }
}

void Renderer::SetColorUniforms(const Program& p, const ResolvedLayer& layer) {
  const ImageDesc& desc = layer.image->info().desc;
  glUniform1i(p["u_lut"], kUnitLut);
  glUniform3fv(p["u_lo"], 1, layer.lo.data());
  glUniform3fv(p["u_range"], 1, layer.range.data());
  glUniform3fv(p["u_gamma"], 1, layer.gamma.data());
  if (desc.channels == 1) {
    glActiveTexture(GL_TEXTURE0 + kUnitLut);
    glBindTexture(GL_TEXTURE_2D, LutTexture(layer.lut));
    glUniform1i(p["u_lut_size"], static_cast<int>(layer.lut.entries.size()));
  }
  // "Over" with alpha 1 everywhere is a plain write (dst x (1 - 1) = 0 exactly, in any
  // arithmetic): skip the framebuffer read. Alpha is 1 where an RGB image or a colormap without
  // transparent entries is drawn at full opacity; NaN pixels are discarded, not blended.
  bool always_opaque = layer.blending == Blending::kTranslucent && layer.opacity == 1.f && desc.channels != 4;
  if (always_opaque && desc.channels == 1) {
    for (const Rgba& c : layer.lut.entries) always_opaque = always_opaque && c.a >= 1.f;
  }
  if (always_opaque) {
    glDisable(GL_BLEND);
  } else {
    SetBlendState(layer.blending);
  }
}

Status Renderer::DrawComposite(const View& view, const std::vector<const ResolvedLayer*>& layers,
                               const std::vector<CompositeTile>& tiles) {
  const int n = static_cast<int>(layers.size());
  if (n < 2 || n > kMaxCompositePlanes) return Internal("a composite pass draws 2 to 4 layers");
  if (tiles.empty()) return Status::Ok();
  const ResolvedLayer& first = *layers[0];
  const bool linear = first.interpolation == Interpolation::kLinear;
  const bool is_float = first.image->info().desc.type == PixelType::kFloat32;
  Program& p = composite_programs_[(n - 2) * 4 + (is_float ? 2 : 0) + (linear ? 1 : 0)];
  if (!p.program) {
    TR_ASSIGN_OR_RETURN(p.program, gl::BuildProgram("tile.vert", "tile.frag", Defines(1, is_float, linear, n)));
    for (const char* name : kTileUniforms) p.uniforms[name] = glGetUniformLocation(p.program.get(), name);
    for (const char* name : kCompositeUniforms) p.uniforms[name] = glGetUniformLocation(p.program.get(), name);
  }
  glUseProgram(p.program.get());
  glBindVertexArray(vao_.get());
  SetViewUniforms(p, view, first);
  std::array<int, kMaxCompositePlanes> tex_units{}, lut_units{}, lut_sizes{};
  std::array<float, kMaxCompositePlanes> lo{}, range{}, gamma{}, opacity{};
  for (int j = 0; j < n; ++j) {
    const ResolvedLayer& l = *layers[j];
    tex_units[j] = j;
    lut_units[j] = n + j;
    lut_sizes[j] = static_cast<int>(l.lut.entries.size());
    lo[j] = l.lo[0], range[j] = l.range[0], gamma[j] = l.gamma[0], opacity[j] = l.opacity;
    glActiveTexture(GL_TEXTURE0 + n + j);
    glBindTexture(GL_TEXTURE_2D, LutTexture(l.lut, j));
  }
  glUniform1iv(p["u_ptex[0]"], n, tex_units.data());
  glUniform1iv(p["u_plut[0]"], n, lut_units.data());
  glUniform1iv(p["u_plut_size[0]"], n, lut_sizes.data());
  glUniform1fv(p["u_plo[0]"], n, lo.data());
  glUniform1fv(p["u_prange[0]"], n, range.data());
  glUniform1fv(p["u_pgamma[0]"], n, gamma.data());
  glUniform1fv(p["u_popacity[0]"], n, opacity.data());
  SetBlendState(Blending::kAdditive);
  const double scale = std::ldexp(1.0, first.level);
  for (const CompositeTile& t : tiles) {
    for (int j = 0; j < n; ++j) {
      glActiveTexture(GL_TEXTURE0 + j);
      glBindTexture(GL_TEXTURE_2D, t.textures[j]);
    }
    DrawQuads(p, view, scale, t.core);
  }
  glActiveTexture(GL_TEXTURE0 + kUnitTile);
  return Status::Ok();
}

Status Renderer::Begin(const View& view, const Rgba& bg) {
  begin_ = std::chrono::steady_clock::now();
  TR_ASSIGN_OR_RETURN(const Target* target, TargetFor(view.width, view.height));
  frame_fbo_ = target->fbo.get();
  ids_mode_ = false;  // a render that failed in an ids pass left it set
  glBindFramebuffer(GL_FRAMEBUFFER, frame_fbo_);
  glViewport(0, 0, view.width, view.height);
  glDisable(GL_DEPTH_TEST);
  glDisable(GL_SCISSOR_TEST);
  glClearColor(bg.r * bg.a, bg.g * bg.a, bg.b * bg.a, bg.a);  // premultiplied, like the layers
  glClear(GL_COLOR_BUFFER_BIT);
  return Status::Ok();
}

Result<Frame> Renderer::Finish(const View& view, bool has_alpha) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = begin_;
  glFinish();  // splits draw from readback time; readback would wait for the draw anyway
  const auto t1 = Clock::now();
  Frame frame;
  frame.width = view.width;
  frame.height = view.height;
  frame.has_alpha = has_alpha;

  const size_t bytes = static_cast<size_t>(view.width) * view.height * 4;
  frame.rgba.resize(bytes);
  glPixelStorei(GL_PACK_ALIGNMENT, 4);
  glPixelStorei(GL_PACK_ROW_LENGTH, 0);
  if (pbo_readback_) {
    // Into a driver-owned buffer (a DMA on a GPU), then one copy out of its mapping.
    if (!pack_buffer_) pack_buffer_ = gl::CreateBuffer();
    glBindBuffer(GL_PIXEL_PACK_BUFFER, pack_buffer_.get());
    if (pack_buffer_size_ < bytes) {
      glBufferData(GL_PIXEL_PACK_BUFFER, static_cast<GLsizeiptr>(bytes), nullptr, GL_STREAM_READ);
      pack_buffer_size_ = bytes;
    }
    glReadPixels(0, 0, view.width, view.height, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);
    const void* mapped = glMapBufferRange(GL_PIXEL_PACK_BUFFER, 0, static_cast<GLsizeiptr>(bytes), GL_MAP_READ_BIT);
    if (mapped != nullptr) {
      std::memcpy(frame.rgba.data(), mapped, bytes);
      glUnmapBuffer(GL_PIXEL_PACK_BUFFER);
    }
    glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
    if (mapped == nullptr) return gl::GlStatus(gl::TakeGlError(), "mapping the readback buffer");
  } else {
    glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
    glReadPixels(0, 0, view.width, view.height, GL_RGBA, GL_UNSIGNED_BYTE, frame.rgba.data());
  }
  TR_RETURN_IF_ERROR(gl::CheckGl("render"));
  frame.timings.draw_ms = Ms(t0, t1);
  frame.timings.readback_ms = Ms(t1, Clock::now());
  // A large framebuffer (and readback buffer) is not kept for the next render of its size: one
  // 16384 x 4096 render would otherwise hold 256 MiB of driver memory for good.
  if (static_cast<int64_t>(view.width) * view.height > kKeptTargetPixels) {
    for (Target& t : targets_) {
      if (t.width == view.width && t.height == view.height) t = Target{};
    }
    if (pack_buffer_size_ > static_cast<size_t>(kKeptTargetPixels) * 4) {
      pack_buffer_ = gl::Buffer();
      pack_buffer_size_ = 0;
    }
  }
  return frame;
}

}  // namespace tilerender
