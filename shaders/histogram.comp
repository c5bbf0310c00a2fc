// Viewport auto-contrast's histograms (DESIGN §3): exact percentiles by radix selection on the GPU.
// Each covered, finite sample of the value pass (RG32F: value, coverage) becomes an order-preserving
// 32-bit key (the float's bits, sign-flipped so unsigned order is numeric order). PASS 1 counts the
// keys by their high 16 bits (65536 bins); the CPU finds the bins holding the ranks it needs. PASS 2
// counts, for up to four such bins, the keys in them by their low 16 bits: the rank's key, hence its
// value, exactly. Two passes over the pixels, 256 KiB (then up to 1 MiB) read back instead of 8
// bytes a pixel; the order statistics are the same as sorting, so the limits equal numpy's.
layout(local_size_x = 16, local_size_y = 16) in;

uniform sampler2D u_values;
uniform ivec2 u_size;
uniform uint u_bins[4];  // PASS 2: the high halves refined
uniform int u_nbins;

layout(std430, binding = 0) buffer Counts { uint counts[]; };

void main() {
  ivec2 p = ivec2(gl_GlobalInvocationID.xy);
  if (p.x >= u_size.x || p.y >= u_size.y) return;
  vec2 s = texelFetch(u_values, p, 0).rg;
  uint bits = floatBitsToUint(s.r);
  // Uncovered, NaN and +-inf left out (the exponent all ones: not finite).
  if (s.g < 0.5 || (bits & 0x7F800000u) == 0x7F800000u) return;
  uint key = (bits & 0x80000000u) != 0u ? ~bits : (bits | 0x80000000u);
#if PASS == 1
  atomicAdd(counts[key >> 16], 1u);
#else
  for (int j = 0; j < u_nbins; ++j) {
    if ((key >> 16) == u_bins[j]) atomicAdd(counts[uint(j) * 65536u + (key & 0xFFFFu)], 1u);
  }
#endif
}
