#pragma once
// Untrusted text (image ids, paths, query values) made safe for log lines and status messages:
// control characters replaced (no forged log lines), cut to a length with the original size said
// (no message past gRPC's metadata limit, no 50 KB log lines).

#include <string>
#include <string_view>

namespace tilerender::server {

inline std::string Printable(std::string_view s, size_t max = 200) {
  std::string out;
  for (char c : s.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace tilerender::server
