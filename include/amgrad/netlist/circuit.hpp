#pragma once
// A flat combinational gate network (what the BLIF and Verilog readers produce), and its
// exhaustive bit-parallel simulation into a product table.
//
// Every net has at most one driver: an input, a constant, or a 1- or 2-input gate over other
// nets. Hierarchy is flattened by the readers (instance nets are named "inst.net").
// simulate() evaluates the cone of the product port for all 2^(2B) operand pairs, 64 patterns
// per machine word and 8 words per block (loops the compiler vectorises, AVX-512 with
// -march=native), and reports an undriven net or a combinational loop in that cone with the file
// and line where the net was declared.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/operand.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad::netlist {

enum class op : std::uint8_t { undriven, input, const0, const1, buf, not_, and_, or_, xor_ };

struct node {
  op kind = op::undriven;
  int a = -1, b = -1;  // fan-ins (buf/not: a; and/or/xor: a, b)
  std::string name;    // hierarchical net name
  int line = 0;        // where the net was declared or first used
  int driver_line = 0; // where it was driven
};

// A port: its name and its nets, bit 0 (the LSB) first.
struct port {
  std::string name;
  std::vector<int> bits;
  int line = 0;
};

class circuit {
 public:
  std::string name;  // the top module / model
  std::string file;  // for messages
  std::vector<node> nodes;
  std::vector<port> inputs, outputs;  // in declaration order

  int add_net(std::string net_name, int line) {
    nodes.push_back(node{op::undriven, -1, -1, std::move(net_name), line, 0});
    return static_cast<int>(nodes.size()) - 1;
  }
  // Drives `net`; a second driver is an error.
  void drive(int net, op kind, int a, int b, int line) {
    node& n = nodes[static_cast<std::size_t>(net)];
    if (n.kind != op::undriven)
      amgrad::fail("amgrad::netlist", file, ":", line, ": net '", n.name,
                   "' has a second driver (the first is at line ", n.driver_line, ")");
    n.kind = kind;
    n.a = a;
    n.b = b;
    n.driver_line = line;
  }
  // A new net driven by a gate.
  int gate(op kind, int a, int b, int line, const char* tag = "$g") {
    const int n = add_net(amgrad::concat(tag, nodes.size()), line);
    drive(n, kind, a, b, line);
    return n;
  }
  int constant(bool one) {
    int& c = one ? const1_ : const0_;
    if (c < 0) {
      c = add_net(one ? "$true" : "$false", 0);
      nodes[static_cast<std::size_t>(c)].kind = one ? op::const1 : op::const0;
    }
    return c;
  }
  const port* find_input(const std::string& n) const { return find(inputs, n); }
  const port* find_output(const std::string& n) const { return find(outputs, n); }

  std::size_t gate_count() const {
    std::size_t g = 0;
    for (const auto& n : nodes)
      if (n.kind >= op::not_) ++g;
    return g;
  }

 private:
  static const port* find(const std::vector<port>& ports, const std::string& n) {
    for (const auto& p : ports)
      if (p.name == n) return &p;
    return nullptr;
  }
  int const0_ = -1, const1_ = -1;
};

// How ports map onto the table. Empty names: the first two input ports in declaration order are
// a (the first table index) and b, and the only output port is the product.
struct port_map {
  std::string a, b, product;
  bool swap = false;       // a <-> b after the choice above
  bool is_signed = false;  // operands and product in two's complement
};

namespace detail {

inline std::string port_names(const std::vector<port>& ports) {
  std::string s;
  for (const auto& p : ports) s += (s.empty() ? "" : ", ") + p.name + "[" + std::to_string(p.bits.size()) + "]";
  return s.empty() ? "none" : s;
}

struct compiled_op {
  op kind;
  int dst, a, b;  // slots
};

}  // namespace detail

// The exhaustive truth table of `c` as a product table (row a, column b, by code).
inline product_table simulate(const circuit& c, const port_map& map = {}) {
  constexpr const char* where = "amgrad::netlist::simulate";
  const auto in = [&](const std::string& n) -> const port& {
    const port* p = c.find_input(n);
    if (!p) amgrad::fail(where, c.file, ": '", c.name, "' has no input port '", n, "' (inputs: ",
                         detail::port_names(c.inputs), ")");
    return *p;
  };
  const port* pa = nullptr;
  const port* pb = nullptr;
  if (!map.a.empty()) pa = &in(map.a);
  if (!map.b.empty()) pb = &in(map.b);
  for (const auto& p : c.inputs) {
    if (!pa && &p != pb) pa = &p;
    else if (!pb && &p != pa) pb = &p;
  }
  amgrad::require(pa && pb, where, c.file, ": '", c.name, "' needs two input ports, it has ",
                  detail::port_names(c.inputs));
  if (map.a.empty() && map.b.empty())
    amgrad::require(c.inputs.size() == 2, where, c.file, ": '", c.name, "' has ", c.inputs.size(),
                    " input ports (", detail::port_names(c.inputs),
                    "); name the operands (a and b)");
  if (map.swap) std::swap(pa, pb);
  const port* po = nullptr;
  if (!map.product.empty()) {
    po = c.find_output(map.product);
    amgrad::require(po != nullptr, where, c.file, ": '", c.name, "' has no output port '",
                    map.product, "' (outputs: ", detail::port_names(c.outputs), ")");
  } else {
    amgrad::require(c.outputs.size() == 1, where, c.file, ": '", c.name, "' has ", c.outputs.size(),
                    " output ports (", detail::port_names(c.outputs), "); name the product");
    po = &c.outputs[0];
  }
  const int bits = static_cast<int>(pa->bits.size());
  amgrad::require(pb->bits.size() == pa->bits.size(), where, c.file, ": the operand ports ",
                  pa->name, " (", pa->bits.size(), " bits) and ", pb->name, " (", pb->bits.size(),
                  " bits) differ in width; a product table is square");
  const operand_format format{bits, map.is_signed};
  amgrad::require(bits >= min_bits && bits <= max_bits, where, c.file, ": the operands are ", bits,
                  " bits wide; tables hold ", min_bits, " to ", max_bits, " bits");
  const int out_bits = static_cast<int>(po->bits.size());
  amgrad::require(out_bits >= 1 && out_bits <= (map.is_signed ? 32 : 31), where, c.file,
                  ": the product port ", po->name, " has ", out_bits, " bits; at most ",
                  map.is_signed ? 32 : 31, " fit an int32 table entry");

  // Slots: pattern index p = (a_raw << bits) | b_raw; b's bits are the low bits of p.
  const int n = static_cast<int>(c.nodes.size());
  std::vector<int> slot(static_cast<std::size_t>(n), -1);
  std::vector<int> operand_bit(static_cast<std::size_t>(n), -1);  // input net -> bit of p
  for (int k = 0; k < bits; ++k) {
    operand_bit[static_cast<std::size_t>(pb->bits[static_cast<std::size_t>(k)])] = k;
    operand_bit[static_cast<std::size_t>(pa->bits[static_cast<std::size_t>(k)])] = k + bits;
  }
  // Topological order of the product's cone (iterative DFS: deep adders must not overflow the
  // stack); state 1 = on the path (a revisit is a loop), 2 = done.
  std::vector<std::uint8_t> state(static_cast<std::size_t>(n), 0);
  std::vector<detail::compiled_op> program;
  int slots = 0;
  std::vector<std::pair<int, int>> stack;
  for (int root : po->bits) {
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [v, stage] = stack.back();
      const node& nd = c.nodes[static_cast<std::size_t>(v)];
      if (stage == 0) {
        if (state[static_cast<std::size_t>(v)] == 2) { stack.pop_back(); continue; }
        if (state[static_cast<std::size_t>(v)] == 1)
          amgrad::fail(where, c.file, ":", nd.driver_line, ": combinational loop through net '",
                       nd.name, "'");
        state[static_cast<std::size_t>(v)] = 1;
        stage = 1;
        if (nd.kind == op::undriven)
          amgrad::fail(where, c.file, ":", nd.line, ": net '", nd.name,
                       "' is undriven and reaches the product ", po->name);
        if (nd.kind == op::input && operand_bit[static_cast<std::size_t>(v)] < 0)
          amgrad::fail(where, c.file, ":", nd.line, ": input '", nd.name,
                       "' reaches the product but is not an operand bit (operands: ", pa->name,
                       ", ", pb->name, ")");
        const int fa = nd.a, fb = nd.b;
        if (fb >= 0 && state[static_cast<std::size_t>(fb)] != 2) stack.push_back({fb, 0});
        if (fa >= 0 && state[static_cast<std::size_t>(fa)] != 2) stack.push_back({fa, 0});
        continue;
      }
      // stage 1: fan-ins done (a fan-in still on the path means a loop)
      for (int f : {nd.a, nd.b})
        if (f >= 0 && state[static_cast<std::size_t>(f)] != 2)
          amgrad::fail(where, c.file, ":", nd.driver_line, ": combinational loop through net '",
                       nd.name, "'");
      state[static_cast<std::size_t>(v)] = 2;
      slot[static_cast<std::size_t>(v)] = slots++;
      program.push_back({nd.kind, slot[static_cast<std::size_t>(v)],
                         nd.a >= 0 ? slot[static_cast<std::size_t>(nd.a)] : -1,
                         nd.kind == op::input ? operand_bit[static_cast<std::size_t>(v)]
                         : nd.b >= 0          ? slot[static_cast<std::size_t>(nd.b)]
                                              : -1});
      stack.pop_back();
    }
  }

  constexpr int lanes = 8;  // words per block: 512 patterns
  const std::uint64_t patterns = std::uint64_t{1} << (2 * bits);
  const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
  std::vector<std::uint64_t> value(static_cast<std::size_t>(slots) * lanes);
  std::vector<std::uint32_t> raw(patterns, 0);  // raw product bits per pattern
  static constexpr std::uint64_t low_masks[6] = {
      0xAAAAAAAAAAAAAAAAull, 0xCCCCCCCCCCCCCCCCull, 0xF0F0F0F0F0F0F0F0ull,
      0xFF00FF00FF00FF00ull, 0xFFFF0000FFFF0000ull, 0xFFFFFFFF00000000ull};
  for (std::uint64_t start = 0; start < patterns; start += 64 * lanes) {
    for (const auto& o : program) {
      std::uint64_t* d = &value[static_cast<std::size_t>(o.dst) * lanes];
      const std::uint64_t* x = o.a >= 0 ? &value[static_cast<std::size_t>(o.a) * lanes] : nullptr;
      const std::uint64_t* y =
          o.kind != op::input && o.b >= 0 ? &value[static_cast<std::size_t>(o.b) * lanes] : nullptr;
      switch (o.kind) {
        case op::input:
          for (int l = 0; l < lanes; ++l) {
            const std::uint64_t base = start + 64u * static_cast<unsigned>(l);
            d[l] = o.b < 6 ? low_masks[o.b] : (((base >> o.b) & 1u) ? ~std::uint64_t{0} : 0);
          }
          break;
        case op::const0: for (int l = 0; l < lanes; ++l) d[l] = 0; break;
        case op::const1: for (int l = 0; l < lanes; ++l) d[l] = ~std::uint64_t{0}; break;
        case op::buf: for (int l = 0; l < lanes; ++l) d[l] = x[l]; break;
        case op::not_: for (int l = 0; l < lanes; ++l) d[l] = ~x[l]; break;
        case op::and_: for (int l = 0; l < lanes; ++l) d[l] = x[l] & y[l]; break;
        case op::or_: for (int l = 0; l < lanes; ++l) d[l] = x[l] | y[l]; break;
        case op::xor_: for (int l = 0; l < lanes; ++l) d[l] = x[l] ^ y[l]; break;
        case op::undriven: break;  // rejected above
      }
    }
    const std::uint64_t count = std::min<std::uint64_t>(64 * lanes, patterns - start);
    for (int i = 0; i < out_bits; ++i) {
      const std::uint64_t* w = &value[static_cast<std::size_t>(
                                          slot[static_cast<std::size_t>(po->bits[static_cast<std::size_t>(i)])]) *
                                      lanes];
      for (std::uint64_t j = 0; j < count; ++j)
        raw[start + j] |= static_cast<std::uint32_t>((w[j >> 6] >> (j & 63)) & 1u) << i;
    }
  }

  product_table out(format);
  const int side = format.size();
  for (int ca = 0; ca < side; ++ca)
    for (int cb = 0; cb < side; ++cb) {
      const std::uint64_t ra = static_cast<std::uint64_t>(format.value(ca)) & mask;
      const std::uint64_t rb = static_cast<std::uint64_t>(format.value(cb)) & mask;
      std::uint32_t r = raw[(ra << bits) | rb];
      std::int64_t v = r;
      if (map.is_signed && out_bits < 64 && ((r >> (out_bits - 1)) & 1u))
        v -= std::int64_t{1} << out_bits;
      out(ca, cb) = static_cast<std::int32_t>(v);
    }
  return out;
}

}  // namespace amgrad::netlist
