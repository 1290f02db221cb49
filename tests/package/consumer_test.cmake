# Builds and runs tests/package/consumer. Modes:
#   MODE=find_package: installs the configured amgrad build into a fresh prefix, then consumes it.
#   MODE=add_subdirectory: consumes the source tree directly.
# Inputs: MODE, AMGRAD_SOURCE_DIR, AMGRAD_BINARY_DIR, WORK_DIR.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}")
  endif()
endfunction()

set(consumer_args -S ${AMGRAD_SOURCE_DIR}/tests/package/consumer -B ${WORK_DIR}/build
    -DCMAKE_BUILD_TYPE=Release)
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${AMGRAD_BINARY_DIR} --prefix ${WORK_DIR}/prefix)
  if(NOT EXISTS ${WORK_DIR}/prefix/lib/cmake/amgrad/amgradConfigVersion.cmake)
    message(FATAL_ERROR "install did not produce amgradConfigVersion.cmake")
  endif()
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
elseif(MODE STREQUAL "add_subdirectory")
  list(APPEND consumer_args -DAMGRAD_SOURCE_DIR=${AMGRAD_SOURCE_DIR}
       -DAMGRAD_BUILD_TESTS=OFF -DAMGRAD_BUILD_EXAMPLES=OFF)
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
run(${CMAKE_COMMAND} ${consumer_args})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
run(${WORK_DIR}/build/consumer)
