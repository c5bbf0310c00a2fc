// A quad covering the whole viewport, from gl_VertexID alone (triangle strip of 4).
void main() {
  vec2 p = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1)) * 2.0 - 1.0;
  gl_Position = vec4(p, 0.0, 1.0);
}
