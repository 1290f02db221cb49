# Flags for the project's own tests, examples and benchmarks (never imposed on consumers).
add_library(amgrad_project_flags INTERFACE)
target_compile_options(amgrad_project_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wconversion -Wno-sign-conversion>)
# GCC 12 reports impossible std::string overlaps (-Wrestrict, GCC bug 105329) when string
# concatenation is inlined; the diagnostic is noise there.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(amgrad_project_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
endif()
