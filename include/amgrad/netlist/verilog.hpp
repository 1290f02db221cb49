#pragma once
// Structural Verilog reader: the subset EvoApproxLib and GenMul write.
//   modules (port lists, or ANSI headers), input/output/wire declarations with ranges,
//   `assign` over ~ & | ^ ~^ and parentheses, constants (1'b0, 8'hff, 0, 1), bit selects,
//   slices (R1[11:4]), concatenations {a, b}, instances with positional or named (.P(x)) port
//   connections, whole-vector connections, gate primitives (and or xor nand nor xnor not buf),
//   // and /* */ comments, (* attributes *), `directives.
// Widths follow Verilog: an operand narrower than the other or than the target is zero-extended,
// a wider one truncated. The top module is `top` when given, else the one no other module
// instantiates (when several are, the only one of them that instantiates modules: GenMul files
// carry unused library cells). reg/always/initial (sequential logic), parameters, arithmetic
// and anything else is an error naming the file and line.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/netlist/circuit.hpp"

namespace amgrad::netlist {

namespace detail {

struct vtoken {
  enum kind_t { ident, number, symbol, end } kind = end;
  std::string text;
  int line = 0;
};

struct vexpr {
  enum kind_t { name, bit, slice, constant, concat, unary, binary } kind = name;
  std::string id;      // name, bit, slice
  int hi = 0, lo = 0;  // bit (hi), slice
  std::vector<bool> value;  // constant, LSB first
  std::string op;      // unary "~"; binary "&" "|" "^" "~^"
  std::vector<vexpr> args;
  int line = 0;
};

struct vdecl {
  int msb = 0, lsb = 0;
  bool ranged = false;
  int line = 0;
  int dir = 0;  // 0 wire, 1 input, 2 output
};

struct vinstance {
  std::string module, instance;
  bool named = false;
  std::vector<std::pair<std::string, std::unique_ptr<vexpr>>> connections;  // name empty if positional
  int line = 0;
};

struct vassign {
  vexpr lhs, rhs;
  int line = 0;
};

struct vmodule {
  std::string name;
  int line = 0;
  std::vector<std::string> ports;
  std::map<std::string, vdecl> decls;
  std::vector<vassign> assigns;
  std::vector<vinstance> instances;
};

class verilog_parser {
 public:
  verilog_parser(const std::string& text, std::string file) : file_(std::move(file)) {
    tokenize(text);
    while (peek().kind != vtoken::end) parse_module();
    if (modules_.empty()) amgrad::fail(where, file_, ": no module");
  }

  circuit elaborate(const std::string& top_name) {
    const vmodule& top = find_top(top_name);
    circuit c;
    c.name = top.name;
    c.file = file_;
    std::map<std::string, signal> scope;
    declare(c, top, "", scope);
    for (const auto& p : top.ports) {
      const vdecl& d = top.decls.at(p);
      port out{p, scope.at(p).nets, d.line};
      if (d.dir == 1) {
        for (int n : out.bits) {
          c.nodes[static_cast<std::size_t>(n)].kind = op::input;
          c.nodes[static_cast<std::size_t>(n)].driver_line = d.line;
        }
        c.inputs.push_back(std::move(out));
      } else {
        c.outputs.push_back(std::move(out));
      }
    }
    std::set<std::string> active;
    body(c, top, "", scope, active);
    return c;
  }

 private:
  static constexpr const char* where = "amgrad::netlist::read_verilog";

  struct signal {
    int msb = 0, lsb = 0;
    std::vector<int> nets;  // LSB first
    // position of index i in nets
    int position(int i) const { return msb >= lsb ? i - lsb : lsb - i; }
    bool has(int i) const { return msb >= lsb ? (i >= lsb && i <= msb) : (i >= msb && i <= lsb); }
  };

  template <class... Parts>
  [[noreturn]] void error(int line, Parts&&... parts) const {
    amgrad::fail(where, file_, ":", line, ": ", std::forward<Parts>(parts)...);
  }

  // ---- tokens ----
  void tokenize(const std::string& s) {
    int line = 1;
    std::size_t i = 0;
    const auto n = s.size();
    while (i < n) {
      const char ch = s[i];
      if (ch == '\n') { ++line; ++i; continue; }
      if (std::isspace(static_cast<unsigned char>(ch))) { ++i; continue; }
      if (ch == '/' && i + 1 < n && s[i + 1] == '/') {
        while (i < n && s[i] != '\n') ++i;
        continue;
      }
      if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
        const int open = line;
        i += 2;
        while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/')) {
          if (s[i] == '\n') ++line;
          ++i;
        }
        if (i + 1 >= n) error(open, "unterminated /* comment");
        i += 2;
        continue;
      }
      if (ch == '(' && i + 1 < n && s[i + 1] == '*' && !(i + 2 < n && s[i + 2] == ')')) {
        const int open = line;
        i += 2;
        while (i + 1 < n && !(s[i] == '*' && s[i + 1] == ')')) {
          if (s[i] == '\n') ++line;
          ++i;
        }
        if (i + 1 >= n) error(open, "unterminated (* attribute");
        i += 2;
        continue;
      }
      if (ch == '`') {  // compiler directive: skip the line
        while (i < n && s[i] != '\n') ++i;
        continue;
      }
      if (std::isalpha(static_cast<unsigned char>(ch)) || ch == '_') {
        std::size_t j = i;
        while (j < n && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '$')) ++j;
        tokens_.push_back({vtoken::ident, s.substr(i, j - i), line});
        i = j;
        continue;
      }
      if (ch == '\\') {  // escaped identifier
        std::size_t j = i + 1;
        while (j < n && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
        tokens_.push_back({vtoken::ident, s.substr(i + 1, j - i - 1), line});
        i = j;
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(ch)) || ch == '\'') {
        std::size_t j = i;
        while (j < n && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
        if (j < n && s[j] == '\'') {
          ++j;
          if (j < n && (s[j] == 's' || s[j] == 'S')) ++j;
          if (j < n && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
          while (j < n && std::isspace(static_cast<unsigned char>(s[j])) && s[j] != '\n') ++j;
          while (j < n && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '?')) ++j;
        }
        tokens_.push_back({vtoken::number, s.substr(i, j - i), line});
        i = j;
        continue;
      }
      static const char* const two[] = {"~^", "^~", "~&", "~|", "&&", "||", "==", "!=", "<=", ">=", "<<", ">>"};
      bool matched = false;
      for (const char* t : two)
        if (i + 1 < n && s[i] == t[0] && s[i + 1] == t[1]) {
          tokens_.push_back({vtoken::symbol, t, line});
          i += 2;
          matched = true;
          break;
        }
      if (matched) continue;
      tokens_.push_back({vtoken::symbol, std::string(1, ch), line});
      ++i;
    }
    tokens_.push_back({vtoken::end, "", line});
  }

  const vtoken& peek(std::size_t k = 0) const { return tokens_[std::min(pos_ + k, tokens_.size() - 1)]; }
  vtoken next() {
    const vtoken t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool accept(const char* text) {
    if (peek().kind != vtoken::end && peek().text == text && peek().kind != vtoken::number) {
      next();
      return true;
    }
    return false;
  }
  void expect(const char* text) {
    if (!accept(text))
      error(peek().line, "expected '", text, "', got '", peek().kind == vtoken::end ? "end of file" : peek().text, "'");
  }
  std::string identifier(const char* what) {
    if (peek().kind != vtoken::ident) error(peek().line, "expected ", what, ", got '", peek().text, "'");
    return next().text;
  }
  int integer() {
    const vtoken t = next();
    if (t.kind != vtoken::number || t.text.find('\'') != std::string::npos)
      error(t.line, "expected an integer, got '", t.text, "'");
    return std::stoi(t.text);
  }

  // ---- modules ----
  static bool is_keyword(const std::string& s) {
    static const std::set<std::string> k = {"module", "endmodule", "input", "output", "inout", "wire",
                                            "assign", "reg", "always", "initial", "parameter",
                                            "localparam", "signed", "tri", "supply0", "supply1"};
    return k.count(s) != 0;
  }

  void parse_range(vdecl& d) {
    if (accept("[")) {
      d.msb = integer();
      expect(":");
      d.lsb = integer();
      expect("]");
      d.ranged = true;
    }
  }

  void declare_names(vmodule& m, int dir, const vdecl& proto, bool ansi) {
    do {
      const vtoken t = peek();
      const std::string id = identifier("a signal name");
      vdecl d = proto;
      d.dir = dir;
      d.line = t.line;
      auto it = m.decls.find(id);
      if (it == m.decls.end()) {
        m.decls.emplace(id, d);
      } else {
        vdecl& old = it->second;
        if (d.ranged && old.ranged && (d.msb != old.msb || d.lsb != old.lsb))
          error(t.line, "'", id, "' is redeclared with another range");
        if (d.ranged && !old.ranged) { old.msb = d.msb; old.lsb = d.lsb; old.ranged = true; }
        if (dir != 0) {
          if (old.dir != 0 && old.dir != dir) error(t.line, "'", id, "' is declared input and output");
          old.dir = dir;
          old.line = t.line;
        }
      }
      if (ansi) m.ports.push_back(id);
      if (!ansi && peek().text == "=") {
        if (dir != 0) error(peek().line, "an initialised port declaration is outside the subset");
        const int line = next().line;
        vexpr lhs;
        lhs.kind = vexpr::name;
        lhs.id = id;
        lhs.line = line;
        m.assigns.push_back({std::move(lhs), expression(), line});
      }
      if (ansi && peek().text == "," &&
          (peek(1).text == "input" || peek(1).text == "output" || peek(1).text == "inout"))
        return;  // the next ANSI declaration: the header loop takes the comma
    } while (accept(","));
  }

  // input/output/inout [wire] [signed] [range] names
  void declaration(vmodule& m, bool ansi) {
    const vtoken kw = next();
    int dir = kw.text == "input" ? 1 : kw.text == "output" ? 2 : 0;
    if (kw.text == "inout") error(kw.line, "inout ports are outside the subset");
    if (peek().text == "reg") error(peek().line, "'reg' (sequential logic) is outside the combinational subset");
    accept("wire");
    accept("signed");
    vdecl proto;
    parse_range(proto);
    declare_names(m, dir, proto, ansi);
  }

  void parse_module() {
    const vtoken kw = next();
    if (kw.text != "module")
      error(kw.line, "expected 'module', got '", kw.text, "'");
    vmodule m;
    m.line = kw.line;
    m.name = identifier("a module name");
    if (peek().text == "#") error(peek().line, "module parameters are outside the subset");
    if (accept("(")) {
      if (!accept(")")) {
        if (peek().text == "input" || peek().text == "output" || peek().text == "inout") {
          while (peek().text == "input" || peek().text == "output" || peek().text == "inout") {
            declaration(m, true);
            if (!accept(",")) break;
          }
        } else {
          do m.ports.push_back(identifier("a port name"));
          while (accept(","));
        }
        expect(")");
      }
    }
    expect(";");
    for (;;) {
      const vtoken t = peek();
      if (t.kind == vtoken::end) error(m.line, "module '", m.name, "' has no endmodule");
      if (t.text == "endmodule") { next(); break; }
      if (t.kind != vtoken::ident) error(t.line, "unexpected '", t.text, "'");
      if (t.text == "input" || t.text == "output" || t.text == "inout" || t.text == "wire") {
        declaration(m, false);
        expect(";");
      } else if (t.text == "assign") {
        next();
        do {
          const int line = peek().line;
          vexpr lhs = expression();
          expect("=");
          m.assigns.push_back({std::move(lhs), expression(), line});
        } while (accept(","));
        expect(";");
      } else if (t.text == "reg" || t.text == "always" || t.text == "initial") {
        error(t.line, "'", t.text, "' (procedural or sequential logic) is outside the combinational subset");
      } else if (is_keyword(t.text)) {
        error(t.line, "'", t.text, "' is outside the supported subset");
      } else {
        instance(m);
      }
    }
    for (const auto& p : m.ports) {
      auto it = m.decls.find(p);
      if (it == m.decls.end() || it->second.dir == 0)
        error(m.line, "port '", p, "' of module '", m.name, "' has no input/output declaration");
    }
    for (const auto& x : modules_)
      if (x.name == m.name) error(m.line, "module '", m.name, "' is defined twice");
    modules_.push_back(std::move(m));
  }

  void instance(vmodule& m) {
    vinstance in;
    const vtoken t = next();
    in.module = t.text;
    in.line = t.line;
    if (peek().text == "#") error(peek().line, "instance parameters are outside the subset");
    if (peek().kind == vtoken::ident) in.instance = next().text;
    if (peek().text == "[") error(peek().line, "instance arrays are outside the subset");
    if (peek().text != "(")
      error(t.line, "'", t.text, "' is neither a supported keyword nor a module instance");
    expect("(");
    if (!accept(")")) {
      in.named = peek().text == ".";
      do {
        if (in.named) {
          expect(".");
          std::string formal = identifier("a port name");
          expect("(");
          std::unique_ptr<vexpr> e;
          if (!accept(")")) {
            e = std::make_unique<vexpr>(expression());
            expect(")");
          }
          in.connections.emplace_back(std::move(formal), std::move(e));
        } else {
          if (peek().text == "," || peek().text == ")") in.connections.emplace_back("", nullptr);
          else in.connections.emplace_back("", std::make_unique<vexpr>(expression()));
        }
      } while (accept(","));
      expect(")");
    }
    expect(";");
    m.instances.push_back(std::move(in));
  }

  // ---- expressions: | lowest, then ^ ~^, then &, then unary ~ ----
  vexpr expression() { return binary_level(0); }
  vexpr binary_level(int level) {
    static const std::vector<std::vector<std::string>> ops = {{"|"}, {"^", "~^", "^~"}, {"&"}};
    if (level == 3) return unary();
    vexpr left = binary_level(level + 1);
    for (;;) {
      const vtoken t = peek();
      bool is_op = false;
      for (const auto& o : ops[static_cast<std::size_t>(level)])
        if (t.kind == vtoken::symbol && t.text == o) is_op = true;
      if (!is_op) return left;
      next();
      vexpr e;
      e.kind = vexpr::binary;
      e.op = t.text == "^~" ? "~^" : t.text;
      e.line = t.line;
      e.args.push_back(std::move(left));
      e.args.push_back(binary_level(level + 1));
      left = std::move(e);
    }
  }
  vexpr unary() {
    const vtoken t = peek();
    if (t.kind == vtoken::symbol && t.text == "~") {
      next();
      vexpr e;
      e.kind = vexpr::unary;
      e.op = "~";
      e.line = t.line;
      e.args.push_back(unary());
      return e;
    }
    if (t.kind == vtoken::symbol && t.text == "(") {
      next();
      vexpr e = expression();
      expect(")");
      return e;
    }
    if (t.kind == vtoken::symbol && t.text == "{") {
      next();
      vexpr e;
      e.kind = vexpr::concat;
      e.line = t.line;
      do e.args.push_back(expression());
      while (accept(","));
      expect("}");
      return e;
    }
    if (t.kind == vtoken::number) return constant(next());
    if (t.kind == vtoken::ident && !is_keyword(t.text)) {
      next();
      vexpr e;
      e.kind = vexpr::name;
      e.id = t.text;
      e.line = t.line;
      if (accept("[")) {
        e.hi = integer();
        e.kind = vexpr::bit;
        if (accept(":")) {
          e.lo = integer();
          e.kind = vexpr::slice;
        }
        expect("]");
      }
      return e;
    }
    error(t.line, "'", t.kind == vtoken::end ? "end of file" : t.text,
          "' is outside the supported expression subset (~ & | ^ ~^, parentheses, {...}, constants)");
  }
  vexpr constant(const vtoken& t) {
    vexpr e;
    e.kind = vexpr::constant;
    e.line = t.line;
    std::string s;
    for (char ch : t.text)
      if (ch != '_' && !std::isspace(static_cast<unsigned char>(ch))) s += ch;
    const auto q = s.find('\'');
    int width = -1, base = 10;
    std::string digits = s;
    if (q != std::string::npos) {
      if (q > 0) width = std::stoi(s.substr(0, q));
      std::size_t k = q + 1;
      if (k < s.size() && (s[k] == 's' || s[k] == 'S')) ++k;
      const char b = k < s.size() ? static_cast<char>(std::tolower(static_cast<unsigned char>(s[k]))) : '?';
      base = b == 'b' ? 2 : b == 'o' ? 8 : b == 'd' ? 10 : b == 'h' ? 16 : 0;
      if (base == 0) error(t.line, "bad constant '", t.text, "'");
      digits = s.substr(k + 1);
    }
    if (digits.empty()) error(t.line, "bad constant '", t.text, "'");
    std::vector<bool> v;  // LSB first
    if (base == 10) {
      unsigned long long x = 0;
      for (char ch : digits) {
        if (!std::isdigit(static_cast<unsigned char>(ch))) error(t.line, "'", t.text, "': x and z values are outside the subset");
        x = x * 10 + static_cast<unsigned>(ch - '0');
      }
      do { v.push_back(x & 1u); x >>= 1; } while (x);
    } else {
      const int per = base == 2 ? 1 : base == 8 ? 3 : 4;
      for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        const char ch = static_cast<char>(std::tolower(static_cast<unsigned char>(*it)));
        int d = std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
        if (d < 0 || d >= base) error(t.line, "'", t.text, "': x and z values and bad digits are outside the subset");
        for (int b = 0; b < per; ++b) v.push_back((d >> b) & 1);
      }
    }
    if (width > 0) v.resize(static_cast<std::size_t>(width), false);
    e.value = std::move(v);
    return e;
  }

  // ---- elaboration ----
  const vmodule* module_named(const std::string& n) const {
    for (const auto& m : modules_)
      if (m.name == n) return &m;
    return nullptr;
  }
  const vmodule& find_top(const std::string& name) const {
    if (!name.empty()) {
      const auto* m = module_named(name);
      if (!m) amgrad::fail(where, file_, ": no module named '", name, "'");
      return *m;
    }
    std::set<std::string> used;
    for (const auto& m : modules_)
      for (const auto& i : m.instances) used.insert(i.module);
    std::vector<const vmodule*> tops;
    for (const auto& m : modules_)
      if (!used.count(m.name)) tops.push_back(&m);
    if (tops.size() > 1) {  // GenMul files carry unused library cells: prefer a module with instances
      std::vector<const vmodule*> hierarchical;
      for (const auto* m : tops)
        if (!m->instances.empty()) hierarchical.push_back(m);
      if (!hierarchical.empty()) tops = hierarchical;
    }
    if (tops.size() == 1) return *tops[0];
    std::string names;
    for (const auto* m : tops) names += (names.empty() ? "" : ", ") + m->name;
    amgrad::fail(where, file_, ": ", tops.empty() ? "every module is instantiated by another" :
                 amgrad::concat("several modules are instantiated by none (", names, ")"),
                 "; name the top module");
  }

  void declare(circuit& c, const vmodule& m, const std::string& prefix,
               std::map<std::string, signal>& scope) {
    for (const auto& [id, d] : m.decls) {
      signal s{d.msb, d.lsb, {}};
      const int width = (d.msb >= d.lsb ? d.msb - d.lsb : d.lsb - d.msb) + 1;
      for (int k = 0; k < width; ++k) {
        const int index = d.msb >= d.lsb ? d.lsb + k : d.lsb - k;
        s.nets.push_back(c.add_net(d.ranged ? amgrad::concat(prefix, id, "[", index, "]") : prefix + id, d.line));
      }
      scope.emplace(id, std::move(s));
    }
  }

  // The nets of an expression, LSB first. `lvalue`: only names, selects and concatenations;
  // undeclared names become implicit 1-bit wires there (as in Verilog).
  std::vector<int> nets(circuit& c, const vexpr& e, const std::string& prefix,
                        std::map<std::string, signal>& scope, bool lvalue) {
    switch (e.kind) {
      case vexpr::name:
      case vexpr::bit:
      case vexpr::slice: {
        auto it = scope.find(e.id);
        if (it == scope.end()) {
          if (e.kind != vexpr::name) error(e.line, "'", e.id, "' is not declared");
          it = scope.emplace(e.id, signal{0, 0, {c.add_net(prefix + e.id, e.line)}}).first;
        }
        const signal& s = it->second;
        if (e.kind == vexpr::name) return s.nets;
        if (e.kind == vexpr::bit) {
          if (!s.has(e.hi)) error(e.line, "'", e.id, "[", e.hi, "]' is outside its range [", s.msb, ":", s.lsb, "]");
          return {s.nets[static_cast<std::size_t>(s.position(e.hi))]};
        }
        if (!s.has(e.hi) || !s.has(e.lo))
          error(e.line, "'", e.id, "[", e.hi, ":", e.lo, "]' is outside its range [", s.msb, ":", s.lsb, "]");
        const int ph = s.position(e.hi), pl = s.position(e.lo);
        if (ph < pl) error(e.line, "'", e.id, "[", e.hi, ":", e.lo, "]' runs against the declared direction");
        return std::vector<int>(s.nets.begin() + pl, s.nets.begin() + ph + 1);
      }
      case vexpr::concat: {
        std::vector<int> out;  // {msb part, ..., lsb part}
        for (auto it = e.args.rbegin(); it != e.args.rend(); ++it) {
          auto part = nets(c, *it, prefix, scope, lvalue);
          out.insert(out.end(), part.begin(), part.end());
        }
        return out;
      }
      default: break;
    }
    if (lvalue) error(e.line, "the target of an assignment or an output connection must be a net, a select or a concatenation");
    if (e.kind == vexpr::constant) {
      std::vector<int> out;
      for (bool b : e.value) out.push_back(c.constant(b));
      return out;
    }
    if (e.kind == vexpr::unary) {
      auto x = nets(c, e.args[0], prefix, scope, false);
      for (int& n : x) n = c.gate(op::not_, n, -1, e.line);
      return x;
    }
    auto x = nets(c, e.args[0], prefix, scope, false);
    auto y = nets(c, e.args[1], prefix, scope, false);
    const std::size_t w = std::max(x.size(), y.size());
    x.resize(w, c.constant(false));
    y.resize(w, c.constant(false));
    const op k = e.op == "&" ? op::and_ : e.op == "|" ? op::or_ : op::xor_;
    std::vector<int> out(w);
    for (std::size_t i = 0; i < w; ++i) {
      out[i] = c.gate(k, x[i], y[i], e.line);
      if (e.op == "~^") out[i] = c.gate(op::not_, out[i], -1, e.line);
    }
    return out;
  }

  // target[i] = buf(source[i]), zero-extended or truncated to the target's width.
  void connect(circuit& c, const std::vector<int>& target, std::vector<int> source, int line) {
    source.resize(target.size(), c.constant(false));
    for (std::size_t i = 0; i < target.size(); ++i) c.drive(target[i], op::buf, source[i], -1, line);
  }

  void body(circuit& c, const vmodule& m, const std::string& prefix,
            std::map<std::string, signal>& scope, std::set<std::string>& active) {
    if (!active.insert(m.name).second) error(m.line, "module '", m.name, "' instantiates itself");
    for (const auto& a : m.assigns) {
      auto target = nets(c, a.lhs, prefix, scope, true);
      connect(c, target, nets(c, a.rhs, prefix, scope, false), a.line);
    }
    for (const auto& in : m.instances) {
      static const std::map<std::string, op> primitives = {
          {"and", op::and_}, {"or", op::or_}, {"xor", op::xor_}, {"nand", op::and_},
          {"nor", op::or_},  {"xnor", op::xor_}, {"not", op::not_}, {"buf", op::buf}};
      if (auto p = primitives.find(in.module); p != primitives.end()) {
        primitive(c, in, p->second, prefix, scope);
        continue;
      }
      const vmodule* child = module_named(in.module);
      if (!child) error(in.line, "instance of an unknown module '", in.module, "'");
      const std::string child_prefix = prefix + (in.instance.empty() ? in.module : in.instance) + ".";
      std::map<std::string, signal> child_scope;
      declare(c, *child, child_prefix, child_scope);
      if (!in.named && in.connections.size() > child->ports.size())
        error(in.line, "'", in.module, "' has ", child->ports.size(), " ports, the instance connects ",
              in.connections.size());
      std::set<std::string> seen;
      for (std::size_t k = 0; k < in.connections.size(); ++k) {
        const auto& [formal_name, actual] = in.connections[k];
        const std::string formal = in.named ? formal_name : child->ports[k];
        if (in.named) {
          bool found = false;
          for (const auto& p : child->ports) found = found || p == formal;
          if (!found) error(in.line, "module '", in.module, "' has no port '", formal, "'");
        }
        if (!seen.insert(formal).second) error(in.line, "port '", formal, "' is connected twice");
        if (!actual) continue;
        const vdecl& d = child->decls.at(formal);
        const auto& child_nets = child_scope.at(formal).nets;
        if (d.dir == 1) connect(c, child_nets, nets(c, *actual, prefix, scope, false), in.line);
        else connect(c, nets(c, *actual, prefix, scope, true), child_nets, in.line);
      }
      body(c, *child, child_prefix, child_scope, active);
    }
    active.erase(m.name);
  }

  void primitive(circuit& c, const vinstance& in, op kind, const std::string& prefix,
                 std::map<std::string, signal>& scope) {
    if (in.named) error(in.line, "gate primitive '", in.module, "' with named connections");
    const std::size_t n = in.connections.size();
    const bool unary = kind == op::not_ || kind == op::buf;
    if (n < 2 || (unary && n != 2) || (!unary && n < 3))
      error(in.line, "gate primitive '", in.module, "' with ", n, " terminals");
    std::vector<int> inputs;
    for (std::size_t k = 1; k < n; ++k) {
      if (!in.connections[k].second) error(in.line, "an unconnected gate terminal");
      auto x = nets(c, *in.connections[k].second, prefix, scope, false);
      if (x.size() != 1) error(in.line, "a gate terminal must be 1 bit wide");
      inputs.push_back(x[0]);
    }
    int v = inputs[0];
    if (unary) v = c.gate(kind, v, -1, in.line);
    for (std::size_t k = 1; k < inputs.size(); ++k) v = c.gate(kind, v, inputs[k], in.line);
    if (in.module == "nand" || in.module == "nor" || in.module == "xnor") v = c.gate(op::not_, v, -1, in.line);
    if (!in.connections[0].second) error(in.line, "an unconnected gate output");
    auto out = nets(c, *in.connections[0].second, prefix, scope, true);
    if (out.size() != 1) error(in.line, "a gate output must be 1 bit wide");
    c.drive(out[0], op::buf, v, -1, in.line);
  }

  std::string file_;
  std::vector<vtoken> tokens_;
  std::size_t pos_ = 0;
  std::vector<vmodule> modules_;
};

}  // namespace detail

inline circuit parse_verilog(const std::string& text, const std::string& file = "<verilog>",
                             const std::string& top = "") {
  return detail::verilog_parser(text, file).elaborate(top);
}

inline circuit read_verilog(const std::string& path, const std::string& top = "") {
  std::ifstream in(path);
  amgrad::require(in.good(), "amgrad::netlist::read_verilog", "cannot open ", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_verilog(buffer.str(), path, top);
}

}  // namespace amgrad::netlist
