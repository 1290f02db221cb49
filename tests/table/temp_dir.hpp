#pragma once
// A fresh temporary directory per test case, removed at the end, and small file helpers.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace amgrad::test {

class temp_dir {
 public:
  temp_dir() {
    std::random_device entropy;
    path_ = std::filesystem::temp_directory_path() /
            ("amgrad-test-" + std::to_string(entropy()) + std::to_string(entropy()));
    std::filesystem::create_directories(path_);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string write_text(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace amgrad::test
