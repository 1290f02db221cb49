// The layering of include/amgrad, checked on the real include graph. Layers, lowest first:
//   0 config, error, type_list, backend   1 operand   2 matrix   3 table/   4 concepts
//   5 multiplier/, gradient/, quant/      6 kernel/   7 dispatch  8 appmult  9 ops/
//   10 wide/ (its layers, wide/ops.hpp, reuse ops/ and quant/), torch/   11 amgrad.hpp (umbrella)
// An include may go to a lower layer, or stay inside its own folder; anything else (a higher
// layer, or a sibling folder of the same layer such as multiplier/ <-> gradient/) is a back edge.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct layer {
  int rank;
  std::string folder;  // the top-level folder ("kernel"), or the file itself for root headers
};

std::optional<layer> layer_of(const std::string& path) {
  const auto slash = path.find('/');
  const std::string top = path.substr(0, slash);
  if (slash == std::string::npos) {
    static const std::vector<std::pair<std::string, int>> root = {
        {"config.hpp", 0}, {"error.hpp", 0},    {"type_list.hpp", 0}, {"backend.hpp", 0},
        {"operand.hpp", 1}, {"matrix.hpp", 2},  {"concepts.hpp", 4},  {"dispatch.hpp", 7},
        {"appmult.hpp", 8}, {"amgrad.hpp", 11}};
    for (const auto& [name, rank] : root)
      if (name == path) return layer{rank, path};
    return std::nullopt;
  }
  static const std::vector<std::pair<std::string, int>> folders = {
      {"table", 3}, {"multiplier", 5}, {"netlist", 5}, {"gradient", 5}, {"quant", 5},
      {"kernel", 6}, {"ops", 9},        {"wide", 10},      {"torch", 10}};
  for (const auto& [name, rank] : folders)
    if (name == top) return layer{rank, top};
  return std::nullopt;
}

// Empty when `from` may include `to`, else why not.
std::string back_edge(const std::string& from, const std::string& to) {
  const auto f = layer_of(from), t = layer_of(to);
  if (!f) return from + " is in no layer (add it to test_layering.cpp)";
  if (!t) return to + " is in no layer (add it to test_layering.cpp)";
  if (f->folder == t->folder || t->rank < f->rank) return {};
  return from + " (layer " + std::to_string(f->rank) + ") includes " + to + " (layer " +
         std::to_string(t->rank) + ")";
}

}  // namespace

TEST_CASE("the layering rule itself rejects the edges it exists for") {
  CHECK(back_edge("table/product_table.hpp", "multiplier/model.hpp") != "");
  CHECK(back_edge("multiplier/table_multiplier.hpp", "table/table.hpp") == "");
  CHECK(back_edge("kernel/host/backward.hpp", "gradient/lut2d.hpp") == "");  // lower: fine
  CHECK(back_edge("gradient/lut2d.hpp", "multiplier/model.hpp") != "");     // sibling folder
  CHECK(back_edge("kernel/host/forward.hpp", "kernel/host/detail/row_table.hpp") == "");
  CHECK(back_edge("ops/linear.hpp", "torch/backend.hpp") != "");
  CHECK(back_edge("table/table.hpp", "appmult.hpp") != "");
  CHECK(back_edge("newfolder/x.hpp", "config.hpp") != "");
}

TEST_CASE("no header of include/amgrad includes one from a higher layer") {
  const fs::path root = AMGRAD_INCLUDE_DIR;
  REQUIRE(fs::is_directory(root));
  const std::regex include_line(R"(^\s*#\s*include\s*"amgrad/([^"]+)\")");
  int headers = 0, edges = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const std::string from = fs::relative(entry.path(), root).generic_string();
    ++headers;
    std::ifstream in(entry.path());
    int line_number = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_number;
      std::smatch m;
      if (!std::regex_search(line, m, include_line)) continue;
      ++edges;
      const std::string to = m[1];
      CAPTURE(line_number);
      CHECK_MESSAGE(back_edge(from, to) == "", back_edge(from, to));
      CHECK_MESSAGE(fs::exists(root / to), from << " includes a missing header " << to);
    }
  }
  CHECK(headers > 40);  // the walk really saw the library
  CHECK(edges > 100);
}
