// amgrad-lut: the first thing to run on a multiplier design's truth table.
//
//   amgrad-lut info FILE [--json]                 error metrics
//   amgrad-lut grad FILE --scheme S -o OUT        DATE'25 file with x16 gradient sections
//   amgrad-lut convert IN OUT --to FORMAT         between date, approxtorch and tfapprox
//   amgrad-lut make MODEL [PARAMS] --bits B -o OUT  the table of a built-in model
//
// Exit codes: 0 success, 1 runtime error (bad file...), 2 usage error.
#include <boost/hana.hpp>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "amgrad/amgrad.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/table/io.hpp"
#include "amgrad/table/metrics.hpp"
#include "command_line.hpp"
#include "operand_dispatch.hpp"

namespace amgrad_lut {
namespace {

constexpr const char* usage_text =
    "usage:\n"
    "  amgrad-lut info FILE [--json] [INPUT OPTIONS]\n"
    "  amgrad-lut grad FILE --scheme {ste,lut2d,lut1d} [--hws N] [--compat]\n"
    "             [--rule {signed_range,secant,lut2d_mean,least_squares}] [INPUT OPTIONS] -o OUT\n"
    "  amgrad-lut convert IN OUT --to {date,approxtorch,tfapprox} [INPUT OPTIONS]\n"
    "  amgrad-lut make MODEL [PARAMS...] --bits B [--signed] [--to FORMAT] -o OUT\n"
    "MODEL [PARAMS]: exact | truncated COLUMNS | bam HBL VBL | drum K | mitchell | kulkarni |\n"
    "                etm K | perforated FIRST COUNT (etm and perforated are unsigned only)\n"
    "INPUT OPTIONS: --format {date,approxtorch,tfapprox} (default: detected from the content),\n"
    "               --signed | --unsigned (ApproxTorch files do not say; default: signed iff\n"
    "               an entry is negative)\n"
    "OUT ending in .gz is written gzip-compressed.\n"
    "grad writes the DATE'25 text format; --compat reproduces the published tables' boundary\n"
    "rule (boundary_rule::published) instead of Eq. 6.\n";

// ---- built-in models ----------------------------------------------------------------------

// A model type and how many integer parameters its constructor takes.
template <class Model, std::size_t Arity>
struct builtin {
  using model = Model;
  static constexpr std::size_t arity = Arity;
  const char* parameters;  // for the usage text
};

inline const auto builtin_models = hana::make_tuple(
    builtin<amgrad::exact, 0>{""}, builtin<amgrad::truncated, 1>{"COLUMNS"},
    builtin<amgrad::bam, 2>{"HBL VBL"}, builtin<amgrad::drum, 1>{"K"}, builtin<amgrad::mitchell, 0>{""},
    builtin<amgrad::kulkarni, 0>{""}, builtin<amgrad::etm, 1>{"K"},
    builtin<amgrad::perforated, 2>{"FIRST COUNT"});

std::string detail_params(const char* names) { return amgrad::detail::concat(" (", names, ")"); }

template <class Model, std::size_t... I>
Model construct(const std::vector<int>& p, std::index_sequence<I...>) {
  return Model{p[I]...};
}

amgrad::product_table make_builtin_table(const std::string& name, const std::vector<int>& params,
                                         amgrad::operand_format format) {
  std::optional<amgrad::product_table> out;
  hana::for_each(builtin_models, [&](const auto& entry) {
    using Entry = std::decay_t<decltype(entry)>;
    using Model = typename Entry::model;
    if (out || name != Model::name) return;
    if (params.size() != Entry::arity)
      usage_fail("model ", name, " takes ", Entry::arity, " parameter(s)",
                 Entry::arity ? detail_params(entry.parameters) : std::string{}, ", got ",
                 params.size());
    const Model model = construct<Model>(params, std::make_index_sequence<Entry::arity>{});
    with_operand(format, [&](auto t) {
      using Operand = typename decltype(t)::type;
      if constexpr (Model::supports_signed || !Operand::is_signed)
        out = amgrad::make_product_table<Operand>(model);
      else
        usage_fail("model ", name, " has no signed definition; drop --signed");
    });
  });
  if (!out) {
    std::string known;
    hana::for_each(builtin_models, [&](const auto& entry) {
      known += known.empty() ? "" : ", ";
      known += std::decay_t<decltype(entry)>::model::name;
    });
    usage_fail("unknown model '", name, "' (built-in models: ", known, ")");
  }
  return std::move(*out);
}

// ---- shared helpers -----------------------------------------------------------------------

struct input_options {
  std::optional<amgrad::table_format> format;
  std::optional<bool> is_signed;
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
  const command_line cl(args, {"--format"}, {"--json", "--signed", "--unsigned"});
  expect_positional(cl, 1, "one FILE");
  const std::string& path = cl.positional()[0];
  const auto in = input_options_of(cl);
  const auto format = in.format.value_or(amgrad::detect_format(path));
  const auto lut = amgrad::read_product_table(path, format, in.is_signed);
  const auto m = amgrad::metrics(lut);
  const auto f = lut.format();
  if (cl.flag("--json")) {
    std::cout << "{\"file\": " << json_string(path) << ", \"format\": \"" << amgrad::to_string(format)
              << "\", \"bits\": " << f.bits << ", \"signed\": " << (f.is_signed ? "true" : "false")
              << ", \"er\": " << number(m.error_rate) << ", \"med\": " << number(m.med)
              << ", \"nmed\": " << number(m.nmed_over_2_pow_2b)
              << ", \"nmed_max_squared\": " << number(m.nmed_over_max_squared)
              << ", \"mred\": " << number(m.mred) << ", \"wce\": " << m.wce
              << ", \"bias\": " << number(m.bias) << ", \"mse\": " << number(m.mse)
              << ", \"pairs\": " << m.pairs << ", \"mred_pairs\": " << m.mred_pairs << "}\n";
  } else {
    const double max = f.size() - 1.0;
    std::cout << "file    " << path << " (" << amgrad::to_string(format) << ", "
              << amgrad::to_string(f) << ")\n"
              << "ER      " << number(100 * m.error_rate) << " %\n"
              << "MED     " << number(m.med) << "\n"
              << "NMED    " << number(100 * m.nmed_over_2_pow_2b) << " % (MED / 2^" << 2 * f.bits << ")\n"
              << "NMED    " << number(100 * m.nmed_over_max_squared) << " % (MED / " << max << "^2)\n"
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

int run_grad(const std::vector<std::string>& args) {
  const command_line cl(args, {"--format", "--scheme", "--hws", "--rule", "-o"},
                        {"--compat", "--signed", "--unsigned"});
  expect_positional(cl, 1, "one FILE");
  const std::string& path = cl.positional()[0];
  const std::string scheme = cl.required("--scheme");
  const std::string out_path = cl.required("-o");
  const auto hws_text = cl.value("--hws");
  const int hws = hws_text ? parse_int(*hws_text, "--hws") : amgrad::auto_hws;
  if (hws_text && hws < 0) usage_fail("--hws must be >= 0, got ", hws);
  const auto rule_text = cl.value("--rule");
  if (cl.flag("--compat") && scheme != "lut2d") usage_fail("--compat applies to --scheme lut2d only");
  if (rule_text && scheme != "lut1d") usage_fail("--rule applies to --scheme lut1d only");
  const auto in = input_options_of(cl);
  const auto lut = amgrad::read_product_table(path, in.format, in.is_signed);
  const auto f = lut.format();

  amgrad::gradient_tables g;
  std::string description;
  if (scheme == "ste") {
    if (hws_text) usage_fail("--hws does not apply to --scheme ste");
    g = amgrad::ste{}.tables(lut);
    description = "scheme=ste";
  } else if (scheme == "lut2d") {
    const amgrad::lut2d<> s{hws, cl.flag("--compat") ? amgrad::boundary_rule::published
                                                     : amgrad::boundary_rule::eq6};
    g = s.tables(lut);
    const int h = s.resolved_hws(f);
    description = amgrad::detail::concat("scheme=lut2d, half_ws_a=", h, ", half_ws_b=", h,
                                         ", boundary=", cl.flag("--compat") ? "published" : "eq6");
  } else if (scheme == "lut1d") {
    const amgrad::rate_rule rule = rule_text ? parse_rule(*rule_text) : amgrad::rate_rule::signed_range;
    if (hws_text && rule != amgrad::rate_rule::lut2d_mean)
      usage_fail("--hws applies to lut1d only with --rule lut2d_mean");
    const amgrad::lut1d s{rule, hws};
    g = s.tables(lut);
    description = amgrad::detail::concat("scheme=lut1d, rule=", rule_text.value_or("signed_range"));
    if (rule == amgrad::rate_rule::lut2d_mean)
      description += amgrad::detail::concat(", hws=", amgrad::lut2d<>{hws}.resolved_hws(f));
  } else {
    usage_fail("unknown --scheme '", scheme, "' (expected ste, lut2d or lut1d)");
  }
  amgrad::date_table_file file;
  file.info = {amgrad::detail::concat("file_name=", path, ", QUANTIZATION_BIT=", f.bits,
                                      ", signed=", f.is_signed ? 1 : 0),
               amgrad::detail::concat("gradients by amgrad-lut ", AMGRAD_VERSION_STRING, ": ",
                                      description, ", stored as round(16 * g)")};
  file.lut = lut;
  file.grad_a_x16 = amgrad::to_fixed_point(g.da, 16.0);
  file.grad_b_x16 = amgrad::to_fixed_point(g.db, 16.0);
  amgrad::write_date(out_path, file);
  return 0;
}

int run_convert(const std::vector<std::string>& args) {
  const command_line cl(args, {"--format", "--to"}, {"--signed", "--unsigned"});
  expect_positional(cl, 2, "IN and OUT");
  const std::string& in_path = cl.positional()[0];
  const std::string& out_path = cl.positional()[1];
  const auto to = output_format_of(cl, "--to", amgrad::table_format::date);
  if (!cl.value("--to")) usage_fail("missing required option --to");
  const auto in = input_options_of(cl);
  const auto from = in.format.value_or(amgrad::detect_format(in_path));
  if (from == amgrad::table_format::date) {
    auto file = amgrad::read_date(in_path);
    amgrad::detail::require(!in.is_signed || *in.is_signed == file.lut.format().is_signed,
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
  amgrad::write_product_table(out_path, amgrad::read_product_table(in_path, from, in.is_signed), to);
  return 0;
}

int run_make(const std::vector<std::string>& args) {
  const command_line cl(args, {"--bits", "--to", "-o"}, {"--signed"});
  if (cl.positional().empty()) usage_fail("expected MODEL [PARAMS...]");
  const std::string model = cl.positional()[0];
  std::vector<int> params;
  for (std::size_t i = 1; i < cl.positional().size(); ++i)
    params.push_back(parse_int(cl.positional()[i], "a model parameter"));
  const amgrad::operand_format format{parse_int(cl.required("--bits"), "--bits"), cl.flag("--signed")};
  if (format.bits < amgrad::min_bits || format.bits > amgrad::max_bits)
    usage_fail("--bits must be between ", amgrad::min_bits, " and ", amgrad::max_bits, ", got ", format.bits);
  const std::string out_path = cl.required("-o");
  const auto to = output_format_of(cl, "--to", amgrad::table_format::date);
  auto lut = make_builtin_table(model, params, format);
  if (to == amgrad::table_format::date) {
    std::string call = model;
    for (int p : params) call += " " + std::to_string(p);
    amgrad::write_date(out_path, {{amgrad::detail::concat("model=", call, ", QUANTIZATION_BIT=", format.bits,
                                                          ", signed=", format.is_signed ? 1 : 0,
                                                          ", made by amgrad-lut ", AMGRAD_VERSION_STRING)},
                                   std::move(lut), {}, {}});
  } else {
    amgrad::write_product_table(out_path, lut, to);
  }
  return 0;
}

int run(const std::vector<std::string>& args) {
  if (args.empty()) usage_fail("no command");
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << usage_text;
    return 0;
  }
  if (command == "info") return run_info(rest);
  if (command == "grad") return run_grad(rest);
  if (command == "convert") return run_convert(rest);
  if (command == "make") return run_make(rest);
  usage_fail("unknown command '", command, "'");
}

}  // namespace
}  // namespace amgrad_lut

int main(int argc, char** argv) {
  try {
    return amgrad_lut::run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const amgrad_lut::usage_error& e) {
    std::cerr << "amgrad-lut: " << e.what() << "\n" << amgrad_lut::usage_text;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "amgrad-lut: " << e.what() << "\n";
    return 1;
  }
}
