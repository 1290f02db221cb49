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

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The last non-empty line of a command's output (where the tools print their one answer).
inline std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

}  // namespace amgrad::test
