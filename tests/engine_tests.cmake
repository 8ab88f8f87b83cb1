# The engine's tests as one static executable, for a cross build (tools/test-aarch64.sh runs it
# under qemu-user: the NEON kernels against their scalar twins, the quant formats, the stories260K
# reference, the architecture references). Static, because this qemu-user hangs starting threads in
# dynamically linked binaries. Not part of `all`, so packaging does not build it.
set(engine_test_headers ${CMAKE_BINARY_DIR}/engine-test-include)
# The header-only test dependencies of the build machine, without the rest of its /usr/include.
file(MAKE_DIRECTORY ${engine_test_headers})
file(CREATE_LINK /usr/include/doctest ${engine_test_headers}/doctest SYMBOLIC)
file(CREATE_LINK /usr/include/nlohmann ${engine_test_headers}/nlohmann SYMBOLIC)
set(engine_tests test_main test_support test_ggml_type test_gguf test_gguf_hostile test_quant test_kernels test_interleaved
    test_sampler test_llama_forward test_architectures test_bert_encoder)
list(TRANSFORM engine_tests REPLACE "(.+)" "${CMAKE_CURRENT_LIST_DIR}/\\1.cpp")
add_executable(rockllm_engine_tests EXCLUDE_FROM_ALL ${engine_tests})
# doctest's implementation and main come first, alone (tests/CMakeLists.txt says why).
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/test_main.cpp PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
target_include_directories(rockllm_engine_tests SYSTEM PRIVATE ${engine_test_headers})
target_link_libraries(rockllm_engine_tests PRIVATE rockllm_llm)
target_link_options(rockllm_engine_tests PRIVATE -static)
target_compile_definitions(rockllm_engine_tests PRIVATE ROCKLLM_TESTDATA_DIR="${ROCKLLM_TESTDATA_DIR}")
target_compile_options(rockllm_engine_tests PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
