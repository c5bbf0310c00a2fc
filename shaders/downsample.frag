// Builds one texel of pyramid level L+1 from a 2x2 block of level L: the mean (NaN-aware for float
// data). Drawn once per level-L tile, scissored to the texels whose block starts in that tile's core.
// The block's second row/column may lie in the tile's gutter, which holds the neighbour's pixels.
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
  ivec2 s1 = min(s0 + 1, u_src_size - 1);
  ivec2 t0 = s0 - u_src_origin, t1 = s1 - u_src_origin;
#if CHANNELS == 3
  t0.x = t0.x * 3 + channel;
  t1.x = t1.x * 3 + channel;
#endif
  vec4 a = texelFetch(u_src, t0, 0), b = texelFetch(u_src, ivec2(t1.x, t0.y), 0),
       c = texelFetch(u_src, ivec2(t0.x, t1.y), 0), d = texelFetch(u_src, t1, 0);
  if (u_float) {
    float sum = 0.0, n = 0.0;
    if (!IsNan(a.r)) { sum += a.r; n += 1.0; }
    if (!IsNan(b.r)) { sum += b.r; n += 1.0; }
    if (!IsNan(c.r)) { sum += c.r; n += 1.0; }
    if (!IsNan(d.r)) { sum += d.r; n += 1.0; }
    o_color = vec4(n > 0.0 ? sum / n : uintBitsToFloat(0x7fc00000u));
  } else {
    o_color = (a + b + c + d) * 0.25;
  }
}
