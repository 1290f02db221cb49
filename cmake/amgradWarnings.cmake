# Flags for the project's own tests, examples and benchmarks (never imposed on consumers).
add_library(amgrad_project_flags INTERFACE)
target_compile_options(amgrad_project_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wconversion -Wno-sign-conversion>)
