# Turns shaders/*.glsl into a C++ source holding each file as a string, so the binaries never look
# shaders up at run time. The generated file defines tilerender::shaders::Find(name).
set(EMBED_SHADERS_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_shaders_run.cmake)

function(tilerender_embed_shaders target)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded_shaders.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DFILES=${ARGN}" -P ${EMBED_SHADERS_SCRIPT}
    DEPENDS ${ARGN} ${EMBED_SHADERS_SCRIPT}
    COMMENT "Embedding shaders"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
