// amgrad-lut: the first thing to run on a multiplier design's truth table.
//
//   amgrad-lut info FILE [--json]                 error metrics
//   amgrad-lut grad FILE --scheme S -o OUT        DATE'25 file with x16 gradient sections
//   amgrad-lut convert IN OUT --to FORMAT         between date, approxtorch and tfapprox
//   amgrad-lut make MODEL [PARAMS] --bits B -o OUT  the table of a built-in model
//   amgrad-lut make --blif FILE | --verilog FILE -o OUT  the simulated table of a netlist
//   amgrad-lut hws FILE [--json]                  a LUT-2D half window from the table alone
//   amgrad-lut rank FILE [--json]                 the low-rank LUT-2D rank for an error budget
//
// Exit codes: 0 success, 1 runtime error (bad file...), 2 usage error.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "amgrad/amgrad.hpp"
#include "amgrad/gradient/hws.hpp"
#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/netlist/netlist.hpp"
#include "amgrad/table/io.hpp"
#include "amgrad/table/metrics.hpp"
#include "command_line.hpp"

namespace amgrad_lut {
namespace {

constexpr const char* usage_text =
    "usage:\n"
    "  amgrad-lut info FILE [--json] [INPUT OPTIONS]\n"
    "  amgrad-lut grad FILE --scheme {ste,lut2d,lut1d,lut2d_lowrank} [--hws N] [--compat]\n"
    "             [--rule {signed_range,secant,lut2d_mean,least_squares}]\n"
    "             [--rank R | --rank-tol X] [INPUT OPTIONS] -o OUT\n"
    "  amgrad-lut convert IN OUT --to {date,approxtorch,tfapprox} [INPUT OPTIONS]\n"
    "  amgrad-lut make MODEL[:PARAMS] [PARAMS...] --bits B [--signed] [--to FORMAT] -o OUT\n"
    "  amgrad-lut make {--blif FILE | --verilog FILE} [--top MODULE] [--port-a P] [--port-b P]\n"
    "             [--port-out P] [--swap] [--signed] [--to FORMAT] -o OUT\n"
    "             (a combinational netlist simulated exhaustively; operands a, b: the first two\n"
    "             input ports, or --port-a/--port-b; --swap exchanges them; the product: the\n"
    "             only output port, or --port-out; --signed: two's complement ports)\n"
    "  amgrad-lut hws FILE [--max-roughness R] [--json] [INPUT OPTIONS]   (proposed HWS last)\n"
    "  amgrad-lut rank FILE [--hws N] [--compat] [--rank-tol X] [--max-rank K] [--json]\n"
    "             [INPUT OPTIONS]   (relative error of the LUT-2D gradients per rank; the rank\n"
    "             within X, default 0.01, last)\n"
    "INPUT OPTIONS: --format {date,approxtorch,tfapprox} (default: detected from the content),\n"
    "               --bits B (TFApprox files are 256x256, 8-bit, unless B says otherwise;\n"
    "               other formats say their width, and B must agree),\n"
    "               --signed | --unsigned (ApproxTorch files do not say; default: signed iff\n"
    "               an entry is negative)\n"
    "OUT ending in .gz is written gzip-compressed.\n"
    "grad writes the DATE'25 text format; --compat reproduces the published tables' boundary\n"
    "rule (boundary_rule::published) instead of Eq. 6. lut2d_lowrank writes the rank-R LUT-2D\n"
    "tables (truncated SVD): R fixed by --rank, or the smallest within the relative Frobenius\n"
    "error --rank-tol (default 0.01), per gradient.\n";

// ---- built-in models ----------------------------------------------------------------------

// The model list of the usage text, from the library's one list.
std::string models_text() {
  std::string out = "MODEL: " + amgrad::builtin_model_usage() + "\n       unsigned only:";
  amgrad::for_each_type(amgrad::builtin_models{}, [&](auto t) {
    using Model = typename decltype(t)::type;
    if (!Model::supports_signed) out += std::string(" ") + Model::name;
  });
  return out + "\n";
}

// The table of a built-in model. What the command line got wrong (name, arity, --signed on an
// unsigned-only design) is a usage error; a value the model refuses is the model's own error.
amgrad::product_table make_builtin_table(const amgrad::model_spec& spec,
                                         amgrad::operand_format format) {
  if (!amgrad::is_builtin_model(spec.name))
    usage_fail("unknown model '", spec.name, "' (built-in models: ", amgrad::builtin_model_usage(),
               ")");
  amgrad::for_each_type(amgrad::builtin_models{}, [&](auto t) {
    using Model = typename decltype(t)::type;
    if (spec.name != Model::name) return;
    if (spec.parameters.size() != Model::parameters.size())
      usage_fail("model ", spec.name, " takes ", Model::parameters.size(), " parameter(s) (",
                 amgrad::model_usage<Model>(), "), got ", spec.parameters.size());
    if (format.is_signed && !Model::supports_signed)
      usage_fail("model ", spec.name, " has no signed definition; drop --signed");
  });
  return amgrad::make_product_table(spec, format);
}

// ---- shared helpers -----------------------------------------------------------------------

struct input_options {
  std::optional<amgrad::table_format> format;
  std::optional<bool> is_signed;
  std::optional<int> bits;  // TFApprox files are 8-bit unless told otherwise
};

input_options input_options_of(const command_line& cl) {
  input_options in;
  if (auto f = cl.value("--format")) {
    try {
      in.format = amgrad::parse_table_format(*f);
    } catch (const amgrad::error& e) {
      usage_fail(e.what());
    }
  }
  if (cl.flag("--signed") && cl.flag("--unsigned")) usage_fail("--signed and --unsigned exclude each other");
  if (cl.flag("--signed")) in.is_signed = true;
  if (cl.flag("--unsigned")) in.is_signed = false;
  if (auto b = cl.value("--bits")) in.bits = parse_int(*b, "--bits");
  return in;
}

amgrad::table_format output_format_of(const command_line& cl, const char* option,
                                      amgrad::table_format fallback) {
  const auto f = cl.value(option);
  if (!f) return fallback;
  try {
    return amgrad::parse_table_format(*f);
  } catch (const amgrad::error& e) {
    usage_fail(e.what());
  }
}

void expect_positional(const command_line& cl, std::size_t n, const char* what) {
  if (cl.positional().size() != n) usage_fail("expected ", what, ", got ", cl.positional().size(), " argument(s)");
}

std::string number(double x) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, x);
  return std::string(buffer, result.ptr);
}

// A finite number for a command-line option; its range is the caller's to check.
double parse_double(const std::string& text, const char* option) {
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(x)) usage_fail(option, " must be a number, got '", text, "'");
  return x;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + '"';
}

// ---- commands -----------------------------------------------------------------------------

int run_info(const std::vector<std::string>& args) {
  const command_line cl(args, {"--format", "--bits"}, {"--json", "--signed", "--unsigned"});
  expect_positional(cl, 1, "one FILE");
  const std::string& path = cl.positional()[0];
  const auto in = input_options_of(cl);
  const auto format = in.format ? *in.format : amgrad::detect_format(path);  // detect only if not given
  const auto lut = amgrad::read_product_table(path, format, in.is_signed, in.bits);
  const auto m = amgrad::metrics(lut);
  const auto f = lut.format();
  // Two NMEDs, named by their denominators: the usual one divides MED by the largest |a*b| of
  // the operand format ((2^B-1)^2 unsigned, 2^(2B-2) signed); DATE'25 divides by 2^(2B).
  if (cl.flag("--json")) {
    std::cout << "{\"file\": " << json_string(path) << ", \"format\": \"" << amgrad::to_string(format)
              << "\", \"bits\": " << f.bits << ", \"signed\": " << (f.is_signed ? "true" : "false")
              << ", \"er\": " << number(m.error_rate) << ", \"med\": " << number(m.med)
              << ", \"max_product\": " << m.max_product
              << ", \"nmed_over_max_product\": " << number(m.nmed_over_max_product)
              << ", \"nmed_over_2_pow_2b\": " << number(m.nmed_over_2_pow_2b)
              << ", \"mred\": " << number(m.mred) << ", \"wce\": " << m.wce
              << ", \"bias\": " << number(m.bias) << ", \"mse\": " << number(m.mse)
              << ", \"pairs\": " << m.pairs << ", \"mred_pairs\": " << m.mred_pairs << "}\n";
  } else {
    std::cout << "file    " << path << " (" << amgrad::to_string(format) << ", "
              << amgrad::to_string(f) << ")\n"
              << "ER      " << number(100 * m.error_rate) << " %\n"
              << "MED     " << number(m.med) << "\n"
              << "NMED    " << number(100 * m.nmed_over_max_product) << " % (MED / " << m.max_product
              << ", the largest |a*b| of " << amgrad::to_string(f) << ": nmed_over_max_product)\n"
              << "NMED    " << number(100 * m.nmed_over_2_pow_2b) << " % (MED / 2^" << 2 * f.bits
              << ", as DATE'25 prints it: nmed_over_2_pow_2b)\n"
              << "MRED    " << number(100 * m.mred) << " % (over the " << m.mred_pairs
              << " pairs with a nonzero product)\n"
              << "WCE     " << m.wce << "\n"
              << "bias    " << number(m.bias) << " (mean signed error)\n"
              << "MSE     " << number(m.mse) << "\n";
  }
  return 0;
}

amgrad::rate_rule parse_rule(const std::string& s) {
  if (s == "signed_range") return amgrad::rate_rule::signed_range;
  if (s == "secant") return amgrad::rate_rule::secant;
  if (s == "lut2d_mean") return amgrad::rate_rule::lut2d_mean;
  if (s == "least_squares") return amgrad::rate_rule::least_squares;
  usage_fail("unknown --rule '", s, "' (expected signed_range, secant, lut2d_mean or least_squares)");
}

// --hws N (>= 0), or auto_hws (the width's default) when it is not given.
int hws_of(const command_line& cl) {
  const auto text = cl.value("--hws");
  if (!text) return amgrad::auto_hws;
  const int hws = parse_int(*text, "--hws");
  if (hws < 0) usage_fail("--hws must be >= 0, got ", hws);
  return hws;
}

// --compat: the published tables' boundary rule instead of Eq. 6.
amgrad::boundary_rule boundary_of(const command_line& cl) {
  return cl.flag("--compat") ? amgrad::boundary_rule::published : amgrad::boundary_rule::eq6;
}

// ---- low-rank LUT-2D (amgrad::lut2d_lowrank) -----------------------------------------------

// --hws and --compat as for lut2d; --rank R fixes the rank of both gradients; --rank-tol X
// (default 0.01) picks, per gradient, the smallest rank whose relative Frobenius error is <= X.
amgrad::lut2d_lowrank<> low_rank_scheme_of(const command_line& cl) {
  amgrad::lut2d_lowrank<> s;
  s.hws = hws_of(cl);
  s.boundary = boundary_of(cl);
  const auto rank = cl.value("--rank");
  const auto tolerance = cl.value("--rank-tol");
  if (rank && tolerance) usage_fail("--rank and --rank-tol exclude each other");
  if (rank) {
    s.rank = parse_int(*rank, "--rank");
    if (s.rank < 1) usage_fail("--rank must be >= 1, got ", s.rank);
  }
  if (tolerance) {
    s.tolerance = parse_double(*tolerance, "--rank-tol");
    if (s.tolerance < 0 || s.tolerance >= 1) usage_fail("--rank-tol must be in [0, 1), got '", *tolerance, "'");
  }
  return s;
}

std::string rank_text(const amgrad::low_rank_gradients& g) {
  return amgrad::concat("rank_a=", g.da.rank, " (relative error ", number(g.da.relative_error()),
                        "), rank_b=", g.db.rank, " (relative error ", number(g.db.relative_error()), ")");
}

int run_grad(const std::vector<std::string>& args) {
  const command_line cl(args, {"--format", "--bits", "--scheme", "--hws", "--rule", "--rank", "--rank-tol", "-o"},
                        {"--compat", "--signed", "--unsigned"});
  expect_positional(cl, 1, "one FILE");
  const std::string& path = cl.positional()[0];
  const std::string scheme = cl.required("--scheme");
  const std::string out_path = cl.required("-o");
  const bool hws_given = cl.value("--hws").has_value();
  const int hws = hws_of(cl);
  const auto rule_text = cl.value("--rule");
  const bool lut2d_family = scheme == "lut2d" || scheme == "lut2d_lowrank";
  if (cl.flag("--compat") && !lut2d_family) usage_fail("--compat applies to --scheme lut2d or lut2d_lowrank only");
  if (rule_text && scheme != "lut1d") usage_fail("--rule applies to --scheme lut1d only");
  if ((cl.value("--rank") || cl.value("--rank-tol")) && scheme != "lut2d_lowrank")
    usage_fail("--rank and --rank-tol apply to --scheme lut2d_lowrank only");
  const auto boundary = boundary_of(cl);
  const auto in = input_options_of(cl);
  const auto lut = amgrad::read_product_table(path, in.format, in.is_signed, in.bits);
  const auto f = lut.format();

  amgrad::gradient_tables g;
  std::string description;
  if (scheme == "ste") {
    if (hws_given) usage_fail("--hws does not apply to --scheme ste");
    g = amgrad::ste{}.tables(lut);
    description = "scheme=ste";
  } else if (scheme == "lut2d") {
    const amgrad::lut2d s{hws, boundary};
    g = s.tables(lut);
    const int h = s.resolved_hws(f);
    description = amgrad::concat("scheme=lut2d, half_ws_a=", h, ", half_ws_b=", h,
                                         ", boundary=", cl.flag("--compat") ? "published" : "eq6");
  } else if (scheme == "lut1d") {
    const amgrad::rate_rule rule = rule_text ? parse_rule(*rule_text) : amgrad::rate_rule::signed_range;
    if (hws_given && rule != amgrad::rate_rule::lut2d_mean)
      usage_fail("--hws applies to lut1d only with --rule lut2d_mean");
    const amgrad::lut1d s{rule, hws};
    g = s.tables(lut);
    description = amgrad::concat("scheme=lut1d, rule=", rule_text.value_or("signed_range"));
    if (rule == amgrad::rate_rule::lut2d_mean)
      description += amgrad::concat(", hws=", amgrad::lut2d{hws}.resolved_hws(f));
  } else if (scheme == "lut2d_lowrank") {
    const auto s = low_rank_scheme_of(cl);
    const auto factors = s.low_rank(lut);
    g = factors.expand();
    description = amgrad::concat("scheme=lut2d_lowrank, half_ws=", amgrad::lut2d{hws}.resolved_hws(f),
                                 ", boundary=", cl.flag("--compat") ? "published" : "eq6", ", ",
                                 rank_text(factors));
    std::cout << rank_text(factors) << "\n";
  } else {
    usage_fail("unknown --scheme '", scheme, "' (expected ste, lut2d, lut1d or lut2d_lowrank)");
  }
  amgrad::date_table_file file;
  file.info = {amgrad::concat("file_name=", path, ", QUANTIZATION_BIT=", f.bits,
                                      ", signed=", f.is_signed ? 1 : 0),
               amgrad::concat("gradients by amgrad-lut ", AMGRAD_VERSION_STRING, ": ",
                                      description, ", stored as round(16 * g)")};
  file.lut = lut;
  file.grad_a_x16 = amgrad::to_fixed_point(g.da, 16.0);
  file.grad_b_x16 = amgrad::to_fixed_point(g.db, 16.0);
  amgrad::write_date(out_path, file);
  return 0;
}

int run_convert(const std::vector<std::string>& args) {
  const command_line cl(args, {"--format", "--bits", "--to"}, {"--signed", "--unsigned"});
  expect_positional(cl, 2, "IN and OUT");
  const std::string& in_path = cl.positional()[0];
  const std::string& out_path = cl.positional()[1];
  const auto to = output_format_of(cl, "--to", amgrad::table_format::date);
  if (!cl.value("--to")) usage_fail("missing required option --to");
  const auto in = input_options_of(cl);
  const auto from = in.format ? *in.format : amgrad::detect_format(in_path);  // detect only if not given
  if (from == amgrad::table_format::date) {
    auto file = amgrad::read_date(in_path);
    amgrad::require(!in.is_signed || *in.is_signed == file.lut.format().is_signed,
                            "amgrad-lut", in_path, ": the operands are ",
                            amgrad::to_string(file.lut.format()));
    if (to == amgrad::table_format::date) {
      amgrad::write_date(out_path, file);  // INFO lines and gradient sections kept
      return 0;
    }
    if (file.grad_a_x16 || file.grad_b_x16)
      std::cerr << "amgrad-lut: note: the gradient sections of " << in_path << " have no place in the "
                << amgrad::to_string(to) << " format and are not written\n";
    amgrad::write_product_table(out_path, file.lut, to);
    return 0;
  }
  amgrad::write_product_table(out_path, amgrad::read_product_table(in_path, from, in.is_signed, in.bits), to);
  return 0;
}

// make --blif/--verilog: the product table of a gate-level netlist (amgrad::netlist).
int run_make_netlist(const command_line& cl) {
  const auto blif = cl.value("--blif");
  const auto verilog = cl.value("--verilog");
  if (blif && verilog) usage_fail("--blif and --verilog exclude each other");
  if (!cl.positional().empty()) usage_fail("--blif/--verilog take no MODEL");
  if (cl.value("--bits")) usage_fail("--bits does not apply to a netlist: its operand ports say the width");
  const std::string out_path = cl.required("-o");
  const auto to = output_format_of(cl, "--to", amgrad::table_format::date);
  amgrad::netlist::port_map ports;
  ports.a = cl.value("--port-a").value_or("");
  ports.b = cl.value("--port-b").value_or("");
  ports.product = cl.value("--port-out").value_or("");
  ports.swap = cl.flag("--swap");
  ports.is_signed = cl.flag("--signed");
  const std::string path = blif ? *blif : *verilog;
  const auto circuit = blif ? amgrad::netlist::read_blif(path, cl.value("--top").value_or(""))
                            : amgrad::netlist::read_verilog(path, cl.value("--top").value_or(""));
  auto lut = amgrad::netlist::simulate(circuit, ports);
  const auto format = lut.format();
  if (to == amgrad::table_format::date) {
    amgrad::write_date(out_path, {{amgrad::concat("netlist=", path, ", top=", circuit.name,
                                                  ", QUANTIZATION_BIT=", format.bits,
                                                  ", signed=", format.is_signed ? 1 : 0,
                                                  ", simulated by amgrad-lut ", AMGRAD_VERSION_STRING)},
                                   std::move(lut), {}, {}});
  } else {
    amgrad::write_product_table(out_path, lut, to);
  }
  return 0;
}

int run_make(const std::vector<std::string>& args) {
  const command_line cl(args,
                        {"--bits", "--to", "-o", "--blif", "--verilog", "--top", "--port-a",
                         "--port-b", "--port-out"},
                        {"--signed", "--swap"});
  if (cl.value("--blif") || cl.value("--verilog")) return run_make_netlist(cl);
  for (const char* option : {"--top", "--port-a", "--port-b", "--port-out"})
    if (cl.value(option)) usage_fail(option, " applies to --blif/--verilog only");
  if (cl.flag("--swap")) usage_fail("--swap applies to --blif/--verilog only");
  if (cl.positional().empty()) usage_fail("expected MODEL [PARAMS...]");
  // "drum 4" or "drum:4"
  amgrad::model_spec spec;
  try {
    spec = amgrad::parse_model_spec(cl.positional()[0]);
  } catch (const amgrad::error& e) {
    usage_fail(e.what());
  }
  for (std::size_t i = 1; i < cl.positional().size(); ++i)
    spec.parameters.push_back(parse_int(cl.positional()[i], "a model parameter"));
  const amgrad::operand_format format{parse_int(cl.required("--bits"), "--bits"), cl.flag("--signed")};
  if (format.bits < amgrad::min_bits || format.bits > amgrad::max_bits)
    usage_fail("--bits must be between ", amgrad::min_bits, " and ", amgrad::max_bits, ", got ", format.bits);
  const std::string out_path = cl.required("-o");
  const auto to = output_format_of(cl, "--to", amgrad::table_format::date);
  auto lut = make_builtin_table(spec, format);
  if (to == amgrad::table_format::date) {
    std::string call = spec.name;
    for (int p : spec.parameters) call += " " + std::to_string(p);
    amgrad::write_date(out_path, {{amgrad::concat("model=", call, ", QUANTIZATION_BIT=", format.bits,
                                                          ", signed=", format.is_signed ? 1 : 0,
                                                          ", made by amgrad-lut ", AMGRAD_VERSION_STRING)},
                                   std::move(lut), {}, {}});
  } else {
    amgrad::write_product_table(out_path, lut, to);
  }
  return 0;
}

// ---- hws: a LUT-2D half window from the table alone (amgrad::propose_hws) ------------------

int run_hws(const std::vector<std::string>& args) {
  const command_line cl(args, {"--format", "--bits", "--max-roughness"},
                        {"--json", "--signed", "--unsigned"});
  expect_positional(cl, 1, "one FILE");
  const std::string& path = cl.positional()[0];
  const auto in = input_options_of(cl);
  amgrad::hws_options options;
  if (auto r = cl.value("--max-roughness")) {
    options.max_roughness = parse_double(*r, "--max-roughness");
    if (!(options.max_roughness > 0)) usage_fail("--max-roughness must be a positive number, got '", *r, "'");
  }
  const auto lut = amgrad::read_product_table(path, in.format, in.is_signed, in.bits);
  const auto p = amgrad::propose_hws(lut, options);
  if (cl.flag("--json")) {
    std::cout << "{\"file\": " << json_string(path) << ", \"bits\": " << lut.format().bits
              << ", \"max_roughness\": " << number(options.max_roughness) << ", \"ladder\": [";
    for (std::size_t i = 0; i < p.ladder.size(); ++i)
      std::cout << (i ? ", " : "") << "{\"hws\": " << p.ladder[i].hws
                << ", \"roughness\": " << number(p.ladder[i].roughness)
                << ", \"roughness_a\": " << number(p.ladder[i].roughness_a)
                << ", \"roughness_b\": " << number(p.ladder[i].roughness_b) << "}";
    std::cout << "], \"hws_a\": " << p.hws_a << ", \"hws_b\": " << p.hws_b
              << ", \"hws\": " << p.hws << "}\n";
  } else {
    std::cout << "file " << path << " (" << amgrad::to_string(lut.format()) << ")\n"
              << "roughness = RMS code-to-code change of the LUT-2D gradient / RMS gradient;\n"
              << "proposal = smallest HWS with roughness <= " << number(options.max_roughness)
              << "\n  HWS  roughness  (dAM/da  dAM/db)\n";
    for (const auto& c : p.ladder) {
      char line[96];
      std::snprintf(line, sizeof line, "  %3d  %9.4f  (%6.4f  %6.4f)\n", c.hws, c.roughness,
                    c.roughness_a, c.roughness_b);
      std::cout << line;
    }
    std::cout << "per operand: dAM/da " << p.hws_a << ", dAM/db " << p.hws_b << "\n" << p.hws << "\n";
  }
  return 0;
}

// ---- rank: how many rank-1 terms the LUT-2D gradients need (amgrad::low_rank_of) ----------

int run_rank(const std::vector<std::string>& args) {
  const command_line cl(args, {"--format", "--bits", "--hws", "--rank-tol", "--max-rank"},
                        {"--json", "--compat", "--signed", "--unsigned"});
  expect_positional(cl, 1, "one FILE");
  const std::string& path = cl.positional()[0];
  const auto s = low_rank_scheme_of(cl);
  int max_rank = 32;
  if (auto k = cl.value("--max-rank")) {
    max_rank = parse_int(*k, "--max-rank");
    if (max_rank < 1) usage_fail("--max-rank must be >= 1, got ", max_rank);
  }
  const auto in = input_options_of(cl);
  const auto lut = amgrad::read_product_table(path, in.format, in.is_signed, in.bits);
  const auto g = s.low_rank(lut);
  const int shown = std::min<int>(max_rank, static_cast<int>(g.da.singular_values.size()));
  const int rank = std::max(g.da.rank, g.db.rank);
  if (cl.flag("--json")) {
    std::cout << "{\"file\": " << json_string(path) << ", \"bits\": " << lut.format().bits
              << ", \"hws\": " << amgrad::lut2d{s.hws}.resolved_hws(lut.format())
              << ", \"tolerance\": " << number(s.tolerance) << ", \"relative_error\": [";
    for (int r = 1; r <= shown; ++r)
      std::cout << (r > 1 ? ", " : "") << "{\"rank\": " << r << ", \"da\": " << number(g.da.relative_error(r))
                << ", \"db\": " << number(g.db.relative_error(r)) << "}";
    std::cout << "], \"rank_a\": " << g.da.rank << ", \"rank_b\": " << g.db.rank << ", \"rank\": " << rank
              << "}\n";
  } else {
    std::cout << "file " << path << " (" << amgrad::to_string(lut.format()) << "), LUT-2D HWS "
              << amgrad::lut2d{s.hws}.resolved_hws(lut.format())
              << "\nrelative Frobenius error ||G - G_r|| / ||G|| of the rank-r truncated SVD\n"
              << "  rank  dAM/da    dAM/db\n";
    for (int r = 1; r <= shown; ++r) {
      char line[64];
      std::snprintf(line, sizeof line, "  %4d  %.6f  %.6f\n", r, g.da.relative_error(r), g.db.relative_error(r));
      std::cout << line;
    }
    std::cout << "within " << number(s.tolerance) << ": " << rank_text(g) << "\n" << rank << "\n";
  }
  return 0;
}

int run(const std::vector<std::string>& args) {
  if (args.empty()) usage_fail("no command");
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << usage_text << models_text();
    return 0;
  }
  if (command == "info") return run_info(rest);
  if (command == "grad") return run_grad(rest);
  if (command == "convert") return run_convert(rest);
  if (command == "make") return run_make(rest);
  if (command == "hws") return run_hws(rest);
  if (command == "rank") return run_rank(rest);
  usage_fail("unknown command '", command, "'");
}

}  // namespace
}  // namespace amgrad_lut

int main(int argc, char** argv) {
  try {
    return amgrad_lut::run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const amgrad_lut::usage_error& e) {
    std::cerr << "amgrad-lut: " << e.what() << "\n" << amgrad_lut::usage_text << amgrad_lut::models_text();
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "amgrad-lut: " << e.what() << "\n";
    return 1;
  }
}
