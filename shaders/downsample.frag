// Builds one texel of pyramid level L+1 from level L with the separable binomial kernel
// [1 3 3 1] / 8 over the 4 x 4 pixels around its 2 x 2 block (2x - 1 .. 2x + 2), clamped at the
// level's edges; NaN-aware for float data. A plain 2 x 2 mean (box filter) lets enough of the
// frequencies above the new level's Nyquist through to leave ghost patterns on fine periodic
// detail; the binomial kernel does not. Drawn once per level-L tile, scissored to the texels whose
// block starts in that tile's core; the other taps lie in the core or its two-texel gutter.
//
// CHANNELS: as in tile.frag.

uniform sampler2D u_src;
uniform ivec2 u_src_origin;  // level-L pixel at texel (0, 0) of the source texture
uniform ivec4 u_src_core;    // source tile core, level-L pixels
uniform ivec2 u_src_size;    // level-L size in pixels
uniform ivec2 u_dst_origin;  // level-(L+1) pixel at texel (0, 0) of the destination texture
uniform bool u_float;

out vec4 o_color;

bool IsNan(float x) { return (floatBitsToUint(x) & 0x7fffffffu) > 0x7f800000u; }

void main() {
  ivec2 texel = ivec2(gl_FragCoord.xy);
  int channel = 0;
#if CHANNELS == 3
  channel = texel.x % 3;
  texel.x /= 3;
#endif
  ivec2 s0 = (u_dst_origin + texel) * 2;
  if (any(lessThan(s0, u_src_core.xy)) || any(greaterThanEqual(s0, u_src_core.zw))) discard;
  const float w[4] = float[4](1.0, 3.0, 3.0, 1.0);
  vec4 sum = vec4(0.0);
  float weight = 0.0;
  for (int j = 0; j < 4; ++j) {
    int y = clamp(s0.y - 1 + j, 0, u_src_size.y - 1) - u_src_origin.y;
    for (int i = 0; i < 4; ++i) {
      int x = clamp(s0.x - 1 + i, 0, u_src_size.x - 1) - u_src_origin.x;
#if CHANNELS == 3
      x = x * 3 + channel;
#endif
      vec4 v = texelFetch(u_src, ivec2(x, y), 0);
      float wij = w[i] * w[j];
      if (u_float && IsNan(v.r)) continue;
      sum += v * wij;
      weight += wij;
    }
  }
  if (u_float) {
    o_color = vec4(weight > 0.0 ? sum.r / weight : uintBitsToFloat(0x7fc00000u));
  } else {
    o_color = sum / 64.0;
  }
}
