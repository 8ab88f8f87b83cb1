# Run by CTest after the doctest cases are discovered: gives each case its file's suite
# (TEST_SUITE_BEGIN) as its CTest label. doctest's own ADD_LABELS asks the binary once per case with
# the case's name as a filter, which fails for the names that contain commas.
foreach(label IN ITEMS unit unit-threads serve npu npu-threads clients)
  execute_process(COMMAND "${ROCKLLM_TEST_BINARY}" --list-test-cases "--test-suite=${label}"
                  OUTPUT_VARIABLE listing RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "listing the ${label} tests failed: ${status}")
  endif()
  string(REPLACE "\n" ";" lines "${listing}")
  foreach(line IN LISTS lines)
    if(line STREQUAL "" OR line MATCHES "^===" OR line MATCHES "^\\[doctest\\] ")
      continue()
    endif()
    set_tests_properties("${line}" PROPERTIES LABELS "${label}")
  endforeach()
endforeach()
