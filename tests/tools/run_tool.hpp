#pragma once
// Runs the built amgrad-lut (path from the AMGRAD_LUT_EXE compile definition) and captures its
// exit code, stdout and stderr.
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "../table/temp_dir.hpp"

namespace amgrad::test {

struct tool_result {
  int exit_code;
  std::string out, err;
};

inline tool_result run_lut_tool(const temp_dir& dir, const std::string& arguments) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string command = std::string("'") + AMGRAD_LUT_EXE + "' " + arguments + " > '" + out +
                              "' 2> '" + err + "'";
  const int status = std::system(command.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return {code, read_bytes(out), read_bytes(err)};
}

}  // namespace amgrad::test
