# glad is generated at build time from Debian's python3-glad (bundled Khronos specs, works offline) and
# never committed. Only the extensions the code uses are generated, to keep the compiled C small.
find_program(GLAD_PROGRAM glad HINTS /usr/bin REQUIRED)

set(GLAD_OUT ${CMAKE_BINARY_DIR}/glad)
set(GLAD_EXTENSIONS
  EGL_EXT_platform_base EGL_EXT_platform_device EGL_EXT_device_base EGL_EXT_device_enumeration
  EGL_EXT_device_query EGL_EXT_device_drm EGL_NV_device_cuda EGL_MESA_platform_surfaceless
  EGL_KHR_surfaceless_context EGL_KHR_no_config_context GL_KHR_debug)
list(JOIN GLAD_EXTENSIONS "," GLAD_EXTENSIONS_ARG)

add_custom_command(
  OUTPUT ${GLAD_OUT}/src/egl.c ${GLAD_OUT}/src/gl.c
         ${GLAD_OUT}/include/glad/egl.h ${GLAD_OUT}/include/glad/gl.h
  # /usr/bin/glad runs under /usr/bin/python3, which has the module (another python3 on PATH may not).
  COMMAND ${GLAD_PROGRAM} --quiet --reproducible --api egl=1.5,gl:core=4.5
          --extensions ${GLAD_EXTENSIONS_ARG} --out-path ${GLAD_OUT} c --loader
  COMMENT "Generating glad (EGL 1.5, GL 4.5 core)"
  VERBATIM)

add_library(glad STATIC ${GLAD_OUT}/src/egl.c ${GLAD_OUT}/src/gl.c)
target_include_directories(glad SYSTEM PUBLIC ${GLAD_OUT}/include)
target_link_libraries(glad PUBLIC ${CMAKE_DL_LIBS})
set_target_properties(glad PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 99)
