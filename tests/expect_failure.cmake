# cmake -DCOMMAND=prog -DARGS="a;b" -DEXPECT=text -P expect_failure.cmake
# Passes when the command exits non-zero and its output contains EXPECT.
execute_process(COMMAND ${COMMAND} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "expected a failure, got exit 0:\n${out}${err}")
endif()
string(FIND "${out}${err}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "expected output containing '${EXPECT}', got:\n${out}${err}")
endif()
message(STATUS "failed as expected: ${err}")
