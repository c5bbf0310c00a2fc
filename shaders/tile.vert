// One tile's quad: four corners in clip space, computed on the CPU in double precision, drawn as a
// triangle strip with no vertex buffer. The fragment shader decides which pixels the tile owns.
uniform vec2 u_corners[4];

void main() {
  gl_Position = vec4(u_corners[gl_VertexID], 0.0, 1.0);
}
