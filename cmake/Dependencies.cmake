# Package discovery for the whole project lives here, in one place.
find_package(Threads REQUIRED)
find_package(PNG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(spdlog REQUIRED)
find_package(TIFF REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(pugixml REQUIRED)  # OME-XML
# Zarr codecs (Debian libblosc-dev, liblz4-dev, libzstd-dev).
find_package(PkgConfig REQUIRED)
pkg_check_modules(BLOSC REQUIRED IMPORTED_TARGET blosc)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(OPENSLIDE REQUIRED IMPORTED_TARGET openslide)  # whole-slide formats
# Output encoders (Debian libturbojpeg0-dev, libwebp-dev).
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
pkg_check_modules(WEBP REQUIRED IMPORTED_TARGET libwebp)

if(TILERENDER_BUILD_SERVER)
  find_package(Protobuf REQUIRED)
  find_package(gRPC CONFIG REQUIRED)  # gRPC::grpc++, gRPC::grpc++_reflection, gRPC::grpc_cpp_plugin
  find_package(CLI11 REQUIRED)
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)  # the HTTP front end (IIIF)
  find_package(OpenSSL REQUIRED)  # SHA-256 and constant-time compares of bearer tokens; TLS
endif()

if(TILERENDER_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

if(TILERENDER_BUILD_BENCH)
  option(TILERENDER_BENCH_VIPS "Compare with libvips in the benchmarks" ON)
  if(TILERENDER_BENCH_VIPS)
    pkg_check_modules(VIPS REQUIRED IMPORTED_TARGET vips)
  endif()
endif()
