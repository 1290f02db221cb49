#pragma once
// BLIF reader: the combinational subset that Yosys (write_blif) and ABC write.
//   .model .inputs .outputs .names (single-output SOP covers over 0 1 -, ON-set or OFF-set)
//   .subckt (hierarchy, formal=actual, flattened) .end; '#' comments, '\' continuations.
// Constant drivers: `.names x` with no cube is 0, with the cube `1` is 1. Yosys's implicit
// constant nets `$false`, `$true` (write_blif -impltf) are 0 and 1; `$undef` is 0, as ABC
// reads an undriven net. The top model is `top` when given, else the one no other model
// instantiates (the first such). Port vectors come from bit names `A[0] A[1] ...`, grouped by
// base name in order of first appearance. Anything else (.latch, .gate, ...) is an error that
// names the file and line.
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/netlist/circuit.hpp"

namespace amgrad::netlist {

namespace detail {

struct blif_names {
  std::vector<std::string> nets;  // inputs..., output last
  std::vector<std::string> cubes;
  char value = '1';
  int line = 0;
};
struct blif_subckt {
  std::string model;
  std::vector<std::pair<std::string, std::string>> bindings;  // formal, actual
  int line = 0;
};
struct blif_model {
  std::string name;
  int line = 0;
  std::vector<std::pair<std::string, int>> inputs, outputs;
  std::vector<blif_names> names;
  std::vector<blif_subckt> subckts;
};

// Splits "A[12]" into ("A", 12); a name without an index is its own 1-bit port.
inline std::pair<std::string, int> split_bit_name(const std::string& s) {
  if (s.size() >= 3 && s.back() == ']') {
    const auto open = s.rfind('[');
    if (open != std::string::npos && open > 0 && open + 2 < s.size()) {
      int v = 0;
      bool ok = true;
      for (std::size_t i = open + 1; i + 1 < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') { ok = false; break; }
        v = v * 10 + (s[i] - '0');
      }
      if (ok) return {s.substr(0, open), v};
    }
  }
  return {s, -1};
}

// Groups bit names into ports, LSB first.
inline std::vector<port> group_ports(const std::vector<std::pair<std::string, int>>& bits,
                                     const std::map<std::string, int>& net_of,
                                     const std::string& file) {
  std::vector<port> ports;
  std::map<std::string, std::map<int, int>> index;  // base -> bit -> net
  std::map<std::string, std::size_t> order;
  for (const auto& [name, line] : bits) {
    auto [base, bit] = split_bit_name(name);
    if (!order.count(base)) {
      order[base] = ports.size();
      ports.push_back(port{base, {}, line});
    }
    auto& m = index[base];
    if (bit < 0 && !m.empty())
      amgrad::fail("amgrad::netlist::read_blif", file, ":", line, ": port '", base,
                   "' is both a scalar and a vector");
    if (!m.emplace(bit < 0 ? 0 : bit, net_of.at(name)).second)
      amgrad::fail("amgrad::netlist::read_blif", file, ":", line, ": port bit '", name,
                   "' is listed twice");
  }
  for (auto& p : ports) {
    const auto& m = index[p.name];
    int expect = 0;
    for (const auto& [bit, net] : m) {
      amgrad::require(bit == expect, "amgrad::netlist::read_blif", file, ":", p.line, ": port '",
                      p.name, "' lacks bit ", expect, " (bits must be 0..n-1)");
      p.bits.push_back(net);
      ++expect;
    }
  }
  return ports;
}

class blif_parser {
 public:
  blif_parser(std::istream& in, std::string file) : file_(std::move(file)) { parse(in); }

  circuit elaborate(const std::string& top_name) {
    const blif_model& top = find_top(top_name);
    circuit c;
    c.name = top.name;
    c.file = file_;
    std::map<std::string, int> scope;
    for (const auto& [name, line] : top.inputs) {
      const int n = net(c, scope, "", name, line);
      c.nodes[static_cast<std::size_t>(n)].kind = op::input;
      c.nodes[static_cast<std::size_t>(n)].driver_line = line;
    }
    std::set<std::string> active;
    body(c, top, "", scope, active);
    for (const auto& [name, line] : top.outputs) net(c, scope, "", name, line);
    c.inputs = group_ports(top.inputs, scope, file_);
    c.outputs = group_ports(top.outputs, scope, file_);
    return c;
  }

 private:
  static constexpr const char* where = "amgrad::netlist::read_blif";

  template <class... Parts>
  [[noreturn]] void error(int line, Parts&&... parts) const {
    amgrad::fail(where, file_, ":", line, ": ", std::forward<Parts>(parts)...);
  }

  void parse(std::istream& in) {
    std::string raw, line;
    int number = 0, start = 0;
    blif_model* model = nullptr;
    blif_names* cover = nullptr;
    bool ended = true;
    while (std::getline(in, raw)) {
      ++number;
      if (line.empty()) start = number;
      if (auto h = raw.find('#'); h != std::string::npos) raw.erase(h);
      while (!raw.empty() && (raw.back() == '\r' || raw.back() == ' ' || raw.back() == '\t')) raw.pop_back();
      if (!raw.empty() && raw.back() == '\\') {
        raw.pop_back();
        line += raw + " ";
        continue;
      }
      line += raw;
      std::istringstream words(line);
      std::vector<std::string> w;
      for (std::string t; words >> t;) w.push_back(t);
      line.clear();
      if (w.empty()) continue;
      const std::string& d = w[0];
      if (d[0] != '.') {
        if (!cover) error(start, "'", d, "' is not a directive and follows no .names");
        const std::size_t k = cover->nets.size() - 1;
        std::string cube = k == 0 ? "" : w[0];
        const std::string out = k == 0 ? w[0] : (w.size() > 1 ? w[1] : "");
        if (w.size() != (k == 0 ? 1u : 2u) || cube.size() != k || (out != "0" && out != "1"))
          error(start, "a cube of '.names' with ", k, " input(s) must be ", k, " characters of 0 1 - and an output 0 or 1");
        for (char ch : cube)
          if (ch != '0' && ch != '1' && ch != '-') error(start, "'", ch, "' in a cube (expected 0, 1 or -)");
        if (!cover->cubes.empty() && out[0] != cover->value)
          error(start, "a cover mixes ON-set and OFF-set cubes (outputs 1 and 0)");
        cover->value = out[0];
        cover->cubes.push_back(cube);
        continue;
      }
      cover = nullptr;
      if (d == ".model") {
        if (!ended) error(start, ".model inside model '", model->name, "' (missing .end)");
        models_.push_back(blif_model{w.size() > 1 ? w[1] : "", start, {}, {}, {}, {}});
        model = &models_.back();
        ended = false;
        continue;
      }
      if (d == ".end") {
        if (ended) error(start, ".end outside a model");
        ended = true;
        continue;
      }
      if (ended || !model) error(start, d, " outside a model (.model missing)");
      if (d == ".inputs" || d == ".outputs") {
        auto& list = d == ".inputs" ? model->inputs : model->outputs;
        for (std::size_t i = 1; i < w.size(); ++i) list.push_back({w[i], start});
      } else if (d == ".names") {
        if (w.size() < 2) error(start, ".names without an output net");
        model->names.push_back(blif_names{{w.begin() + 1, w.end()}, {}, '1', start});
        cover = &model->names.back();
      } else if (d == ".subckt") {
        if (w.size() < 2) error(start, ".subckt without a model name");
        blif_subckt s{w[1], {}, start};
        for (std::size_t i = 2; i < w.size(); ++i) {
          const auto eq = w[i].find('=');
          if (eq == std::string::npos) error(start, "'", w[i], "' is not formal=actual");
          s.bindings.push_back({w[i].substr(0, eq), w[i].substr(eq + 1)});
        }
        model->subckts.push_back(std::move(s));
      } else if (d == ".latch" || d == ".mlatch" || d == ".clock") {
        error(start, d, ": sequential logic is outside the combinational subset");
      } else if (d == ".default_input_arrival" || d == ".default_output_required" ||
                 d == ".input_arrival" || d == ".output_required" || d == ".attr" ||
                 d == ".cname" || d == ".param" || d == ".wire_load_slope") {
        // timing and attribute annotations: no logic
      } else {
        error(start, "'", d, "' is outside the supported subset (.model .inputs .outputs .names .subckt .end)");
      }
    }
    if (!ended && model) error(number, "model '", model->name, "' has no .end");
    if (models_.empty()) amgrad::fail(where, file_, ": no .model");
  }

  const blif_model* model_named(const std::string& n) const {
    for (const auto& m : models_)
      if (m.name == n) return &m;
    return nullptr;
  }

  const blif_model& find_top(const std::string& name) const {
    if (!name.empty()) {
      const auto* m = model_named(name);
      if (!m) amgrad::fail(where, file_, ": no model named '", name, "'");
      return *m;
    }
    std::set<std::string> used;
    for (const auto& m : models_)
      for (const auto& s : m.subckts) used.insert(s.model);
    for (const auto& m : models_)
      if (!used.count(m.name)) return m;
    amgrad::fail(where, file_, ": every model is instantiated by another; name the top model");
  }

  int net(circuit& c, std::map<std::string, int>& scope, const std::string& prefix,
          const std::string& name, int line) {
    auto it = scope.find(name);
    if (it != scope.end()) return it->second;
    int n;
    if (name == "$false" || name == "$undef") n = c.constant(false);
    else if (name == "$true") n = c.constant(true);
    else n = c.add_net(prefix + name, line);
    scope.emplace(name, n);
    return n;
  }

  void body(circuit& c, const blif_model& m, const std::string& prefix,
            std::map<std::string, int>& scope, std::set<std::string>& active) {
    if (!active.insert(m.name).second) error(m.line, "model '", m.name, "' instantiates itself");
    for (const auto& g : m.names) {
      std::vector<int> in;
      for (std::size_t i = 0; i + 1 < g.nets.size(); ++i) in.push_back(net(c, scope, prefix, g.nets[i], g.line));
      const int out = net(c, scope, prefix, g.nets.back(), g.line);
      if (c.nodes[static_cast<std::size_t>(out)].kind == op::const0 ||
          c.nodes[static_cast<std::size_t>(out)].kind == op::const1)
        error(g.line, "'.names' drives the constant net '", g.nets.back(), "'");
      // OR of cubes, each an AND of literals; an OFF-set cover is complemented.
      int sum = -1;
      for (const auto& cube : g.cubes) {
        int product = -1;
        for (std::size_t i = 0; i < cube.size(); ++i) {
          if (cube[i] == '-') continue;
          const int lit = cube[i] == '1' ? in[i] : c.gate(op::not_, in[i], -1, g.line);
          product = product < 0 ? lit : c.gate(op::and_, product, lit, g.line);
        }
        if (product < 0) product = c.constant(true);
        sum = sum < 0 ? product : c.gate(op::or_, sum, product, g.line);
      }
      if (sum < 0) sum = c.constant(false);  // no cube: the ON-set is empty
      if (g.value == '0') sum = c.gate(op::not_, sum, -1, g.line);
      c.drive(out, op::buf, sum, -1, g.line);
    }
    int instance = 0;
    for (const auto& s : m.subckts) {
      const blif_model* child = model_named(s.model);
      if (!child) error(s.line, ".subckt of an unknown model '", s.model, "'");
      const std::string child_prefix = amgrad::concat(prefix, s.model, "#", instance++, ".");
      std::map<std::string, int> child_scope;
      std::set<std::string> formals_in, formals_out;
      for (const auto& [n, l] : child->inputs) formals_in.insert(n);
      for (const auto& [n, l] : child->outputs) formals_out.insert(n);
      for (const auto& [formal, actual] : s.bindings) {
        const int parent_net = net(c, scope, prefix, actual, s.line);
        const int child_net = net(c, child_scope, child_prefix, formal, s.line);
        if (formals_in.count(formal)) c.drive(child_net, op::buf, parent_net, -1, s.line);
        else if (formals_out.count(formal)) c.drive(parent_net, op::buf, child_net, -1, s.line);
        else error(s.line, "model '", s.model, "' has no port '", formal, "'");
      }
      body(c, *child, child_prefix, child_scope, active);
    }
    active.erase(m.name);
  }

  std::string file_;
  std::vector<blif_model> models_;
};

}  // namespace detail

// Parses BLIF text; `file` names it in messages.
inline circuit parse_blif(std::istream& in, const std::string& file = "<blif>",
                          const std::string& top = "") {
  return detail::blif_parser(in, file).elaborate(top);
}

inline circuit read_blif(const std::string& path, const std::string& top = "") {
  std::ifstream in(path);
  amgrad::require(in.good(), "amgrad::netlist::read_blif", "cannot open ", path);
  return parse_blif(in, path, top);
}

}  // namespace amgrad::netlist
