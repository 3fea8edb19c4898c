# Compiles GLSL compute shaders to SPIR-V with glslc and embeds them in a static library.
# Each variant is one (source, defines) pair; dependencies on #included .glsl files come
# from glslc's depfile, so editing a header rebuilds exactly the shaders that include it.

set(VKLLM_SHADER_VARIANTS "" CACHE INTERNAL "")

# vkllm_shader(NAME <variant name> SOURCE <file.comp> [DEFINES A=1 B ...])
function(vkllm_shader)
  cmake_parse_arguments(S "" "NAME;SOURCE" "DEFINES" ${ARGN})
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${S_SOURCE})
  set(spv ${CMAKE_CURRENT_BINARY_DIR}/spv/${S_NAME}.spv)
  set(cpp ${CMAKE_CURRENT_BINARY_DIR}/spv/${S_NAME}.cpp)
  set(defs "")
  foreach(d ${S_DEFINES})
    list(APPEND defs "-D${d}")
  endforeach()
  add_custom_command(
    OUTPUT ${spv}
    COMMAND ${GLSLC} --target-env=vulkan1.1 -O -Werror -I ${CMAKE_CURRENT_SOURCE_DIR}
            ${defs} -MD -MF ${spv}.d -o ${spv} ${src}
    DEPENDS ${src}
    DEPFILE ${spv}.d
    COMMENT "glslc ${S_NAME}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${cpp}
    COMMAND ${CMAKE_COMMAND} -DNAME=${S_NAME} -DINPUT=${spv} -DOUTPUT=${cpp}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_spirv.cmake
    DEPENDS ${spv} ${PROJECT_SOURCE_DIR}/cmake/embed_spirv.cmake
    VERBATIM)
  set(VKLLM_SHADER_VARIANTS ${VKLLM_SHADER_VARIANTS} ${S_NAME} CACHE INTERNAL "")
  set_property(GLOBAL APPEND PROPERTY VKLLM_SHADER_SOURCES ${cpp})
endfunction()

# Writes the registry that maps variant names to the embedded words and builds the library.
function(vkllm_shader_library target)
  set(decls "")
  set(entries "")
  foreach(n ${VKLLM_SHADER_VARIANTS})
    string(APPEND decls "extern const uint32_t spv_${n}[]; extern const size_t spv_${n}_words;\n")
    string(APPEND entries "    {\"${n}\", spv_${n}, spv_${n}_words},\n")
  endforeach()
  set(registry ${CMAKE_CURRENT_BINARY_DIR}/spv/registry.cpp)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/shader_registry.cpp.in ${registry} @ONLY)
  get_property(sources GLOBAL PROPERTY VKLLM_SHADER_SOURCES)
  add_library(${target} STATIC ${sources} ${registry})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR})
endfunction()
