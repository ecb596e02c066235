# tools/llamacpp/bench-only.cmake — injected by `tools/llamacpp/build --bench-only` through
# CMAKE_PROJECT_llama.cpp_INCLUDE (no edit of the vendored sources).
#
# llama-bench links llama-common, the harness library (argument parsing, chat templates, JSON,
# model downloads); the linker pulls nearly all of its ~50 files into llama-bench, and they are
# half of the CPU time of a cold build (nlohmann/json and jinja headers parsed ~50 times). None of
# it runs in llama-bench's timed loop. With BORA_COMMON_UNITY=ON that one target is compiled as a
# CMake unity build (batches of 16, like upstream's own UNITY_BUILD for libllama's model files),
# still -O3 Release; libllama, ggml-base and ggml-cpu keep exactly the upstream flags and sources.
# common/json.cpp redeclares a name other files declare, so it stays out of the unity batches.
include_guard(GLOBAL)

function(_bora_bench_only_common_unity)
  if(NOT TARGET llama-common)
    return()
  endif()
  if(BORA_COMMON_UNITY)
    set_target_properties(llama-common PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 16)
    get_target_property(_dir llama-common SOURCE_DIR)
    set_source_files_properties("${_dir}/json.cpp" TARGET_DIRECTORY llama-common
                                PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
    message(STATUS "bora bench-only: llama-common as a unity build (batch 16, json.cpp separate)")
  else()
    set_target_properties(llama-common PROPERTIES UNITY_BUILD OFF)
    message(STATUS "bora bench-only: llama-common as a plain build")
  endif()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _bora_bench_only_common_unity)
