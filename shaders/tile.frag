// Samples one tile of one level and maps values to color (DESIGN §3).
//
// The sample position is computed from gl_FragCoord with uniforms that do not depend on the tile,
// and texels are addressed by integer pixel index (texelFetch), with bilinear weights computed here.
// The tile that owns a fragment is decided exactly (the quad is drawn with a margin): with nearest
// sampling the one holding the texel under the sample, with linear the one holding the footprint's
// top-left texel, whose other three texels lie in the tile or in its one-texel gutter (a copy of
// the right and lower neighbours' first column and row). So every output pixel gets the same
// arithmetic whatever the tile size or which tiles happen to be resident: renders are tile-size
// invariant and cache-state invariant.
//
// CHANNELS: 1 (scalar, colormapped), 3 (RGB stored as an R8 texture 3 texels per pixel), 4 (RGBA8).
// LINEAR: 1 for bilinear sampling, 0 for nearest (separate programs: no untaken branch is paid for
// on a software rasterizer, which runs both sides of a branch). FLOAT: 1 for float32 data (NaN and
// inf handling), 0 for normalised integers (finite: the weighted sum needs no branches).
// GATHER: 1 where textureGather exists (GL 4.0 or ARB_texture_gather): a linear footprint of one
// scalar channel is one gather instead of four fetches, of RGB three instead of twelve (on
// llvmpipe the 1024-wide RGB fit view draws in ~24 ms instead of ~37). A gather returns the texels
// themselves, so the arithmetic after it, and the pixels, are the same as with fetches (tested).
// LABELS: 1 for labels images (nearest, scalar, PLANES 1): each object id its color (an explicit
// table, else a seeded hash). Integer ids are read exactly from an R8UI/R16UI/R32UI texture
// through a usampler (FLOAT 0), whole-number float32 ids from R32F (FLOAT 1).
// IDS: 1 with LABELS for the first pass of contour mode: the id each pixel shows into an R32UI
// target (0: none). CONTOUR: 1 or 2, the two full-screen passes after it (PLANES 1, LABELS 1): the
// minimum and maximum id within u_width pixels along each row into an RG32UI target, then along
// each column of that; a pixel is on its object's contour when they differ (another object, or
// none, lies within u_width pixels in x and y: a square window, clipped to the screen) and is drawn
// in its object's color. Separable, so a pixel costs 2 (2 u_width + 1) fetches, not the square.
// VALUES: 1 for the value pass of viewport auto-contrast (scalar, PLANES 1): the sampled data value
// and a coverage of 1 into an RG32F target, no color.
// PLANES: 1, or 2 to 4 for the one-pass composite of additive scalar layers of one image (its
// planes' tiles at the same level, so the same tile grid and ownership): each plane's premultiplied
// color is rounded to 8 bits (to nearest, ties to even, as the conversion into the RGBA8 target
// rounds) and summed in whole steps of 1/255, exactly what drawing the layers one after the other
// with additive blending gives (saturating 8-bit sums), so the composite is byte-identical whichever
// way it is drawn (tested on llvmpipe; a driver that rounds ties otherwise differs by 1 at ties).

#if GATHER
#extension GL_ARB_texture_gather : require
#endif

#if PLANES == 1
#if LABELS && !FLOAT
uniform usampler2D u_tex;    // this tile's integer ids, unit 0
#else
uniform sampler2D u_tex;     // this tile's texture (and gutters), unit 0
#endif
uniform sampler2D u_lut;     // colormap, RGBA32F, u_lut_size x 1, unit 1
uniform int u_lut_size;
#else
uniform sampler2D u_ptex[PLANES];  // plane j's tile: unit j; its colormap: unit PLANES + j
uniform sampler2D u_plut[PLANES];
uniform int u_plut_size[PLANES];
uniform float u_plo[PLANES];       // contrast, gamma and opacity of plane j's layer
uniform float u_prange[PLANES];
uniform float u_pgamma[PLANES];
uniform float u_popacity[PLANES];
#endif

uniform float u_out_height;  // H: screen y runs down, gl_FragCoord.y up
uniform vec2 u_half;         // (W/2, H/2)
uniform mat2 u_m;            // screen offset -> level texels: R(-theta) / (zoom * 2^level)
uniform ivec2 u_c_int;       // view center in level texels, integer part
uniform vec2 u_c_frac;       //   and fractional part: positions stay small, hence precise
uniform vec2 u_inside_lo;    // image extent in level texels, minus u_c_int: [lo, hi)
uniform vec2 u_inside_hi;
uniform ivec2 u_level_size;  // level size in pixels
uniform ivec4 u_core;        // this tile [x0, y0, x1, y1) in level pixels; texel (0, 0) is (x0, y0)

uniform float u_scale;       // normalised texel -> data value (255, 65535 or 1)
uniform vec3 u_lo;           // contrast per channel: t = clamp((v - lo) / range, 0, 1) ^ gamma
uniform vec3 u_range;
uniform vec3 u_gamma;
uniform float u_opacity;
uniform int u_blend;         // 0 translucent, 1 additive, 2 opaque, 3 minimum, 4 maximum

uniform uint u_seed;          // labels: the color hash's seed
uniform uint u_selected;      //   the selected id
uniform int u_select_mode;    //   0 none, 1 the selected id alone, 2 highlighted (others at 1/4 alpha)
uniform usampler2D u_table_ids;  // explicit colors: ids ascending, 1024 a row (unit 2)
uniform sampler2D u_table_colors; //   their RGBA8 colors, same places (unit 3)
uniform int u_table_size;         //   entries; 0: the hash colors every id
uniform usampler2D u_ids;        // CONTOUR: the ids pass (unit 0)
uniform usampler2D u_minmax;     // CONTOUR 2: the row pass's minimum and maximum (unit 2)
uniform int u_width;             // CONTOUR: the contour's width in screen pixels

#if IDS || CONTOUR == 1
out uvec4 o_id;
#else
out vec4 o_color;
#endif

// A labels id's color (DESIGN §3): a 32-bit integer hash of id and seed (lowbias32), its three low
// bytes mapped to [64, 255] so no object is near black. Integer arithmetic, exact on every GPU.
vec3 LabelColor(uint id, uint seed) {
  uint h = (id * 0x9E3779B1u) ^ (seed * 0x85EBCA77u);
  h ^= h >> 16;
  h *= 0x7FEB352Du;
  h ^= h >> 15;
  h *= 0x846CA68Bu;
  h ^= h >> 16;
  uvec3 c = uvec3(64u) + (uvec3(h & 255u, (h >> 8) & 255u, (h >> 16) & 255u) * 191u) / 255u;
  return vec3(c) / 255.0;
}

// An id's color: its entry in the explicit table (binary search), else the hash's, opaque.
vec4 IdColor(uint id) {
  int lo = 0, hi = u_table_size - 1;
  while (lo <= hi) {
    int mid = (lo + hi) >> 1;
    ivec2 at = ivec2(mid & 1023, mid >> 10);
    uint m = texelFetch(u_table_ids, at, 0).r;
    if (m == id) return texelFetch(u_table_colors, at, 0);
    if (m < id) {
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return vec4(LabelColor(id, u_seed), 1.0);
}

// A labels pixel's color with the selection applied (alpha 0: not drawn).
vec4 LabelsColor(uint id) {
  if (u_select_mode == 1 && id != u_selected) return vec4(0.0);
  vec4 c = IdColor(id);
  if (u_select_mode == 2 && id != u_selected) c.a *= 0.25;
  return c;
}

bool IsNan(float x) { return (floatBitsToUint(x) & 0x7fffffffu) > 0x7f800000u; }

#if CHANNELS == 1
vec4 FETCH(sampler2D tex, ivec2 t) { return vec4(texelFetch(tex, t, 0).r); }
#elif CHANNELS == 3
vec4 FETCH(sampler2D tex, ivec2 t) {
  return vec4(texelFetch(tex, ivec2(t.x * 3, t.y), 0).r, texelFetch(tex, ivec2(t.x * 3 + 1, t.y), 0).r,
              texelFetch(tex, ivec2(t.x * 3 + 2, t.y), 0).r, 1.0);
}
#else
vec4 FETCH(sampler2D tex, ivec2 t) { return texelFetch(tex, t, 0); }
#endif

bool Owned(ivec2 p) { return all(greaterThanEqual(p, u_core.xy)) && all(lessThan(p, u_core.zw)); }

vec4 Colormap(sampler2D lut, int size, float t) {
  float x = t * float(size - 1);
  int i = min(int(x), size - 2);
  float f = x - float(i);
  return mix(texelFetch(lut, ivec2(i, 0), 0), texelFetch(lut, ivec2(i + 1, 0), 0), f);
}

// Where this fragment samples, decided once for every plane: the texel (nearest), or the footprint
// and its bilinear weights (linear).
ivec2 g_t0, g_t1;
vec4 g_w;

// The footprint's four texels: a (t0.x, t0.y), b (t1.x, t0.y), c (t0.x, t1.y), d (t1.x, t1.y). t1 is
// t0 or t0 + 1 (clamped at the image's edges); t0 + 1 lies in the tile or its gutter.
void Footprint(sampler2D tex, out vec4 a, out vec4 b, out vec4 c, out vec4 d) {
#if GATHER && CHANNELS != 4
  // A gather at the corner shared by texels (i, j) and (i + 1, j + 1) returns (i, j + 1) in .x,
  // (i + 1, j + 1) in .y, (i + 1, j) in .z and (i, j) in .w (the position is a texel corner, half a
  // texel from any other choice, so every rasterizer picks the same four).
  vec2 inv = 1.0 / vec2(textureSize(tex, 0));
#if CHANNELS == 1
  vec4 g = textureGather(tex, vec2(g_t0 + 1) * inv);
  a = vec4(g.w), b = vec4(g.z), c = vec4(g.x), d = vec4(g.y);
#else
  // RGB as R8, 3 texels per pixel: at texel 3x + 1 the R and G of pixel x, at 3x + 3 its B and the
  // next pixel's R, at 3x + 5 that one's G and B, each for rows y and y + 1.
  vec2 uv = vec2(float(g_t0.x * 3 + 1), float(g_t0.y + 1)) * inv;
  vec4 g0 = textureGather(tex, uv), g1 = textureGather(tex, vec2(uv.x + 2.0 * inv.x, uv.y)),
       g2 = textureGather(tex, vec2(uv.x + 4.0 * inv.x, uv.y));
  a = vec4(g0.w, g0.z, g1.w, 1.0), b = vec4(g1.z, g2.w, g2.z, 1.0);
  c = vec4(g0.x, g0.y, g1.x, 1.0), d = vec4(g1.y, g2.x, g2.y, 1.0);
#endif
  if (g_t1.x == g_t0.x) b = a, d = c;  // clamped at an edge: the edge texel again
  if (g_t1.y == g_t0.y) c = a, d = b;
#else
  a = FETCH(tex, g_t0), b = FETCH(tex, ivec2(g_t1.x, g_t0.y)), c = FETCH(tex, ivec2(g_t0.x, g_t1.y));
  d = FETCH(tex, g_t1);
#endif
}

// The sampled data value (normalised; alpha in .a for CHANNELS 4) of one plane's tile; false where
// the sample is NaN (float data), which is transparent.
bool Sample(sampler2D tex, out vec4 v) {
#if !LINEAR
  v = FETCH(tex, g_t0);
  return !(FLOAT == 1 && IsNan(v.r));
#else
  vec4 a, b, c, d;
  Footprint(tex, a, b, c, d);
#if FLOAT
  // A NaN that carries weight makes the sample NaN; one with zero weight is ignored.
  if ((IsNan(a.r) && g_w.x > 0.0) || (IsNan(b.r) && g_w.y > 0.0) || (IsNan(c.r) && g_w.z > 0.0) ||
      (IsNan(d.r) && g_w.w > 0.0)) {
    return false;
  }
  // Texels without weight are skipped, not multiplied by 0: inf * 0 would be NaN.
  v = vec4(0.0);
  if (g_w.x > 0.0) v += a * g_w.x;
  if (g_w.y > 0.0) v += b * g_w.y;
  if (g_w.z > 0.0) v += c * g_w.z;
  if (g_w.w > 0.0) v += d * g_w.w;
  return !IsNan(v.r);  // +inf and -inf both with weight
#else
  // Finite values: a texel without weight adds exactly 0 (a gutter texel without weight may never
  // have been filled, but a normalised texel is finite whatever it holds).
  v = a * g_w.x + b * g_w.y + c * g_w.z + d * g_w.w;
  return true;
#endif
#endif
}

#if PLANES > 1
// Plane j's premultiplied color in whole 1/255 steps, as the RGBA8 target would store it.
vec4 PlaneSteps(sampler2D tex, sampler2D lut, int lut_size, float lo, float range, float gamma, float opacity) {
  vec4 v;
  if (!Sample(tex, v)) return vec4(0.0);
  float t = clamp((v.r * u_scale - lo) / range, 0.0, 1.0);
  if (gamma != 1.0) t = pow(t, gamma);
  vec4 color = Colormap(lut, lut_size, t);
  float alpha = color.a * opacity;
  return roundEven(clamp(vec4(color.rgb * alpha, alpha), 0.0, 1.0) * 255.0);
}
#define PLANE_STEPS(j) PlaneSteps(u_ptex[j], u_plut[j], u_plut_size[j], u_plo[j], u_prange[j], u_pgamma[j], u_popacity[j])
#endif

#if !(IDS || CONTOUR == 1)
// A straight color (alpha: coverage x opacity) written for the layer's blending.
void Emit(vec4 color) {
  float alpha = color.a * u_opacity;
  if (u_blend == 2) {
    o_color = vec4(color.rgb, 1.0);
  } else if (u_blend == 3) {
    // Minimum: a faint layer pulls toward white, i.e. changes little.
    o_color = vec4(1.0 - alpha * (1.0 - color.rgb), alpha);
  } else {
    o_color = vec4(color.rgb * alpha, alpha);  // premultiplied
  }
}
#endif

#if CONTOUR
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  ivec2 size = textureSize(u_ids, 0);
#if CONTOUR == 1
  uint lo = 0xFFFFFFFFu, hi = 0u;
  for (int x = max(p.x - u_width, 0); x <= min(p.x + u_width, size.x - 1); ++x) {
    uint id = texelFetch(u_ids, ivec2(x, p.y), 0).r;
    lo = min(lo, id);
    hi = max(hi, id);
  }
  o_id = uvec4(lo, hi, 0u, 0u);
#else
  uint id = texelFetch(u_ids, p, 0).r;
  if (id == 0u) discard;
  uint lo = id, hi = id;
  for (int y = max(p.y - u_width, 0); y <= min(p.y + u_width, size.y - 1); ++y) {
    uvec2 m = texelFetch(u_minmax, ivec2(p.x, y), 0).rg;
    lo = min(lo, m.x);
    hi = max(hi, m.y);
  }
  if (lo == hi) discard;  // only this object around: inside it
  vec4 color = LabelsColor(id);
  if (color.a == 0.0) discard;
  Emit(color);
#endif
}
#else
void main() {
  vec2 screen = vec2(gl_FragCoord.x, u_out_height - gl_FragCoord.y);
  vec2 local = u_m * (screen - u_half) + u_c_frac;  // level texels, relative to u_c_int
  // Outside the image: the background shows.
  if (any(lessThan(local, u_inside_lo)) || any(greaterThanEqual(local, u_inside_hi))) {
    discard;
  }
#if !LINEAR
  // Clamped: a floor-sized level (a file's own) may end inside the image's last texel.
  ivec2 pix = clamp(u_c_int + ivec2(floor(local)), ivec2(0), u_level_size - 1);
  if (!Owned(pix)) discard;
  g_t0 = pix - u_core.xy;
#else
  // Bilinear between pixel centers, clamped to the edge pixels inside the image.
  vec2 q = local - 0.5;
  vec2 fq = floor(q);
  vec2 f = q - fq;
  ivec2 p0 = u_c_int + ivec2(fq);
  ivec2 lo = clamp(p0, ivec2(0), u_level_size - 1);
  if (!Owned(lo)) discard;
  g_t0 = lo - u_core.xy;
  g_t1 = clamp(p0 + 1, ivec2(0), u_level_size - 1) - u_core.xy;  // maybe the gutter
  g_w = vec4((1.0 - f.x) * (1.0 - f.y), f.x * (1.0 - f.y), (1.0 - f.x) * f.y, f.x * f.y);
#endif

#if PLANES > 1
  vec4 steps = PLANE_STEPS(0) + PLANE_STEPS(1);
#if PLANES > 2
  steps += PLANE_STEPS(2);
#endif
#if PLANES > 3
  steps += PLANE_STEPS(3);
#endif
  // Blended additively onto what is there: the same saturating sum as one layer at a time.
  o_color = min(steps, 255.0) / 255.0;
#else
#if LABELS
  // Object ids: 0 (and for float data anything below 1, NaN included) is no object.
  uint id;
#if FLOAT
  float f = texelFetch(u_tex, g_t0, 0).r;
  if (!(f >= 1.0)) discard;
  id = uint(f);
#else
  id = texelFetch(u_tex, g_t0, 0).r;
  if (id == 0u) discard;
#endif
#if IDS
  o_id = uvec4(id, 0u, 0u, 0u);
#else
  vec4 color = LabelsColor(id);
  if (color.a == 0.0) discard;
  Emit(color);
#endif
#else
  vec4 v;
  if (!Sample(u_tex, v)) discard;
#if VALUES
  // The value pass of viewport auto-contrast: the data value this pixel shows, and coverage.
  float value = v.r * u_scale;
#if !FLOAT && !LINEAR
  value = round(value);  // a normalised integer texel back to its integer exactly
#endif
  o_color = vec4(value, 1.0, 0.0, 0.0);
  return;
#endif

  vec4 color;
#if CHANNELS == 1
  float t = clamp((v.r * u_scale - u_lo.x) / u_range.x, 0.0, 1.0);
  if (u_gamma.x != 1.0) t = pow(t, u_gamma.x);
  color = Colormap(u_lut, u_lut_size, t);
#else
  vec3 t = clamp((v.rgb * u_scale - u_lo) / u_range, 0.0, 1.0);
  if (u_gamma != vec3(1.0)) t = pow(t, u_gamma);
  color = vec4(t, CHANNELS == 4 ? v.a : 1.0);
#endif
  Emit(color);
#endif
#endif
}
#endif
