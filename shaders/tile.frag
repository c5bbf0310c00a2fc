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
// on a software rasterizer, which runs both sides of a branch).

uniform sampler2D u_tex;     // this tile's texture (and gutters), unit 0
uniform sampler2D u_lut;     // colormap, RGBA32F, u_lut_size x 1, unit 1
uniform int u_lut_size;

uniform float u_out_height;  // H: screen y runs down, gl_FragCoord.y up
uniform vec2 u_half;         // (W/2, H/2)
uniform mat2 u_m;            // screen offset -> level texels: R(-theta) / (zoom * 2^level)
uniform ivec2 u_c_int;       // view center in level texels, integer part
uniform vec2 u_c_frac;       //   and fractional part: positions stay small, hence precise
uniform vec2 u_inside_lo;    // image extent in level texels, minus u_c_int: [lo, hi)
uniform vec2 u_inside_hi;
uniform ivec2 u_level_size;  // level size in pixels
uniform ivec4 u_core;        // this tile [x0, y0, x1, y1) in level pixels; texel (0, 0) is (x0, y0)

uniform bool u_float;        // float32 data: NaN pixels are transparent
uniform float u_scale;       // normalised texel -> data value (255, 65535 or 1)
uniform vec3 u_lo;           // contrast per channel: t = clamp((v - lo) / range, 0, 1) ^ gamma
uniform vec3 u_range;
uniform vec3 u_gamma;
uniform float u_opacity;
uniform int u_blend;         // 0 translucent, 1 additive, 2 opaque, 3 minimum, 4 maximum

out vec4 o_color;

bool IsNan(float x) { return (floatBitsToUint(x) & 0x7fffffffu) > 0x7f800000u; }

#if CHANNELS == 1
vec4 FETCH(ivec2 t) { return vec4(texelFetch(u_tex, t, 0).r); }
#elif CHANNELS == 3
vec4 FETCH(ivec2 t) {
  return vec4(texelFetch(u_tex, ivec2(t.x * 3, t.y), 0).r, texelFetch(u_tex, ivec2(t.x * 3 + 1, t.y), 0).r,
              texelFetch(u_tex, ivec2(t.x * 3 + 2, t.y), 0).r, 1.0);
}
#else
vec4 FETCH(ivec2 t) { return texelFetch(u_tex, t, 0); }
#endif

bool Owned(ivec2 p) { return all(greaterThanEqual(p, u_core.xy)) && all(lessThan(p, u_core.zw)); }

vec4 Colormap(float t) {
  float x = t * float(u_lut_size - 1);
  int i = min(int(x), u_lut_size - 2);
  float f = x - float(i);
  return mix(texelFetch(u_lut, ivec2(i, 0), 0), texelFetch(u_lut, ivec2(i + 1, 0), 0), f);
}

void main() {
  vec2 screen = vec2(gl_FragCoord.x, u_out_height - gl_FragCoord.y);
  vec2 local = u_m * (screen - u_half) + u_c_frac;  // level texels, relative to u_c_int
  // Outside the image: the background shows.
  if (any(lessThan(local, u_inside_lo)) || any(greaterThanEqual(local, u_inside_hi))) {
    discard;
  }
  vec4 v;  // data values (normalised), alpha in .a for CHANNELS 4
#if !LINEAR
  // Clamped: a floor-sized level (a file's own) may end inside the image's last texel.
  ivec2 pix = clamp(u_c_int + ivec2(floor(local)), ivec2(0), u_level_size - 1);
  if (!Owned(pix)) discard;
  v = FETCH(pix - u_core.xy);
  if (u_float && IsNan(v.r)) discard;
#else
  // Bilinear between pixel centers, clamped to the edge pixels inside the image.
  vec2 q = local - 0.5;
  vec2 fq = floor(q);
  vec2 f = q - fq;
  ivec2 p0 = u_c_int + ivec2(fq);
  ivec2 lo = clamp(p0, ivec2(0), u_level_size - 1);
  if (!Owned(lo)) discard;
  ivec2 t0 = lo - u_core.xy, t1 = clamp(p0 + 1, ivec2(0), u_level_size - 1) - u_core.xy;  // t1: maybe the gutter
  vec4 a = FETCH(t0), b = FETCH(ivec2(t1.x, t0.y)), c = FETCH(ivec2(t0.x, t1.y)), d = FETCH(t1);
  float wa = (1.0 - f.x) * (1.0 - f.y), wb = f.x * (1.0 - f.y), wc = (1.0 - f.x) * f.y,
        wd = f.x * f.y;
  if (u_float) {
    // A NaN that carries weight makes the sample NaN; one with zero weight is ignored.
    if ((IsNan(a.r) && wa > 0.0) || (IsNan(b.r) && wb > 0.0) || (IsNan(c.r) && wc > 0.0) ||
        (IsNan(d.r) && wd > 0.0)) {
      discard;
    }
  }
  // Texels without weight are skipped, not multiplied by 0: inf * 0 would be NaN (and a gutter
  // texel without weight may never have been filled).
  v = vec4(0.0);
  if (wa > 0.0) v += a * wa;
  if (wb > 0.0) v += b * wb;
  if (wc > 0.0) v += c * wc;
  if (wd > 0.0) v += d * wd;
  if (u_float && IsNan(v.r)) discard;  // +inf and -inf both with weight
#endif

  vec4 color;
#if CHANNELS == 1
  float t = clamp((v.r * u_scale - u_lo.x) / u_range.x, 0.0, 1.0);
  if (u_gamma.x != 1.0) t = pow(t, u_gamma.x);
  color = Colormap(t);
#else
  vec3 t = clamp((v.rgb * u_scale - u_lo) / u_range, 0.0, 1.0);
  if (u_gamma != vec3(1.0)) t = pow(t, u_gamma);
  color = vec4(t, CHANNELS == 4 ? v.a : 1.0);
#endif

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
