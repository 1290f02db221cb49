# cmake -DFUZZER=... -DSEEDS=dir -DREGRESSIONS=dir -DSCRATCH=dir -DSECONDS=n -P run_fuzzer.cmake
# Runs one libFuzzer harness for SECONDS on copies of the seed and regression corpora in
# SCRATCH (the checked-in folders are never written). Fails on any crash, leak, timeout (10 s
# per input) or out-of-memory (2 GB); the input that caused it is left in SCRATCH/artifacts/.
foreach(var FUZZER SEEDS REGRESSIONS SCRATCH SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${SCRATCH})
file(MAKE_DIRECTORY ${SCRATCH}/corpus ${SCRATCH}/regressions ${SCRATCH}/artifacts)
foreach(pair "${SEEDS};corpus" "${REGRESSIONS};regressions")
  list(GET pair 0 from)
  list(GET pair 1 to)
  if(IS_DIRECTORY ${from})
    file(GLOB inputs LIST_DIRECTORIES false ${from}/*)
    list(FILTER inputs EXCLUDE REGEX "/README[^/]*$")
    if(inputs)
      file(COPY ${inputs} DESTINATION ${SCRATCH}/${to})
    endif()
  endif()
endforeach()

get_filename_component(here ${CMAKE_CURRENT_LIST_FILE} DIRECTORY)
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10
          -dict=${here}/table.dict -print_final_stats=1 -artifact_prefix=${SCRATCH}/artifacts/
          ${SCRATCH}/corpus ${SCRATCH}/regressions
  WORKING_DIRECTORY ${SCRATCH}
  RESULT_VARIABLE status
  OUTPUT_VARIABLE log
  ERROR_VARIABLE log)
file(WRITE ${SCRATCH}/fuzz.log "${log}")
file(GLOB corpus_after ${SCRATCH}/corpus/*)
list(LENGTH corpus_after corpus_size)
# The summary: libFuzzer's "Done N runs in S second(s)" and its final stats.
string(REGEX MATCHALL "(Done [0-9]+ runs[^\n]*|stat::[a-z_]+: *[0-9]+)" summary "${log}")
string(REPLACE ";" "\n  " summary "${summary}")
message("${FUZZER}: exit status ${status}, corpus ${corpus_size} inputs (log: ${SCRATCH}/fuzz.log)\n  ${summary}")
if(NOT status EQUAL 0)
  string(LENGTH "${log}" length)
  if(length GREATER 6000)
    math(EXPR start "${length} - 6000")
    string(SUBSTRING "${log}" ${start} -1 log)
  endif()
  file(GLOB artifacts ${SCRATCH}/artifacts/*)
  message(FATAL_ERROR "${log}\n${FUZZER} failed (exit status ${status}); input(s): ${artifacts}\n"
                      "Fix it, then add the input to tests/fuzz/regressions/<reader>/ (docs/fuzzing.md).")
endif()
