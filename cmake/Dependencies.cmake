# Package discovery for the whole project lives here, in one place.
find_package(Threads REQUIRED)
find_package(PNG REQUIRED)
find_package(spdlog REQUIRED)
find_package(TIFF REQUIRED)

if(TILERENDER_BUILD_SERVER)
  find_package(Protobuf REQUIRED)
  find_package(PkgConfig REQUIRED)
  # Debian's gRPC ships pkg-config files; its CMake config is incomplete on bookworm.
  pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++ grpc)
  find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
  find_package(CLI11 REQUIRED)
  find_package(nlohmann_json REQUIRED)
endif()

if(TILERENDER_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
