// amgrad._C: the Python binding of amgrad (pybind11 + LibTorch). Everything numeric runs in the
// C++ library: truth tables (built-in models, the three file formats), gradient tables, metrics,
// quantizer parameters, and the autograd functions of amgrad::nn (ops::linear / ops::conv2d through
// the AppMult engine). The Python package (python/amgrad/) adds the modules, the activation-range
// EMA and the converter on top. Kernels run with the GIL released.
#include <torch/extension.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "amgrad/gradient/builtin.hpp"
#include "amgrad/gradient/hws.hpp"
#include "amgrad/kernel/reference.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/quant/alignment.hpp"
#include "amgrad/table/io.hpp"
#include "amgrad/table/metrics.hpp"
#include "amgrad/torch/torch.hpp"
#include "backends.hpp"

namespace py = pybind11;
using amgrad::product_table;

namespace {

// A truth table held by Python. (Wrapped: pybind11's signature descriptors of amgrad types would
// find amgrad::concat by argument-dependent lookup.)
struct py_table {
  product_table t;
};

// A backend held by Python (the library's backends are immutable and shared).
struct py_backend {
  std::shared_ptr<const amgrad::nn::backend> be;
};

// A quantizer estimator held by Python (amgrad.quant.ste() ...): the library's run-time choice.
struct py_estimator {
  amgrad::quant::estimator_choice e;
};

py_estimator make_estimator(const std::string& name, std::optional<double> t) {
  namespace q = amgrad::quant;
  constexpr const char* where = "amgrad.quant.estimator";
  amgrad::require(!t || name == "htge", where, "only htge takes a sharpness t, not ", name);
  if (name == "ste") return {q::ste{}};
  if (name == "pwl") return {q::pwl{}};
  if (name == "mad") return {q::mad{}};
  if (name == "htge") {
    amgrad::require(t.has_value(), where, "htge needs its sharpness t (code units, per bin)");
    return {q::htge_runtime(*t)};
  }
  amgrad::fail(where, "unknown quantizer estimator '", name, "' (expected ste, pwl, htge or mad)");
}

amgrad::quant::estimator_pair estimator_pair(const py_estimator& w, const py_estimator& a) {
  return {w.e, a.e};
}

amgrad::operand_format format_of(int bits, bool is_signed) {
  amgrad::operand_format f{bits, is_signed};
  f.validate("amgrad");
  return f;
}

// A [2^B, 2^B] int32 tensor of a product table (by code).
torch::Tensor table_tensor(const product_table& lut) {
  const auto n = static_cast<std::int64_t>(lut.side());
  return torch::from_blob(const_cast<std::int32_t*>(lut.data()), {n, n}, torch::kInt32).clone();
}
torch::Tensor float_table_tensor(const amgrad::gradient_table& g) {
  const auto n = static_cast<std::int64_t>(g.side());
  return torch::from_blob(const_cast<float*>(g.data()), {n, n}, torch::kFloat32).clone();
}

product_table table_from_tensor(const torch::Tensor& t, bool is_signed) {
  constexpr const char* where = "amgrad.Table.from_tensor";
  amgrad::require(t.device().is_cpu(), where, "the table is on ", t.device().str(),
                  ", expected a CPU tensor");
  amgrad::require(!t.is_floating_point() && !t.is_complex() && t.scalar_type() != torch::kBool,
                  where, "the table is ", c10::toString(t.scalar_type()),
                  ", expected an integer tensor");
  amgrad::require(t.dim() == 2 && t.size(0) == t.size(1), where, "the table is ", t.sizes(),
                  ", expected a square [2^B, 2^B] tensor");
  int bits = 0;
  while ((std::int64_t{1} << bits) < t.size(0)) ++bits;
  amgrad::require((std::int64_t{1} << bits) == t.size(0), where, "the table side ", t.size(0),
                  " is not a power of two");
  const auto f = format_of(bits, is_signed);
  const auto c = t.to(torch::kInt64).contiguous();
  std::vector<std::int32_t> values(static_cast<std::size_t>(c.numel()));
  const auto* p = c.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    amgrad::require(p[i] >= INT32_MIN && p[i] <= INT32_MAX, where, "entry ", i, " = ", p[i],
                    " does not fit int32");
    values[i] = static_cast<std::int32_t>(p[i]);
  }
  return product_table(f, std::move(values));
}

// None arrives as nullopt or as an undefined tensor, depending on the caster.
torch::Tensor opt(const std::optional<torch::Tensor>& t) { return t ? *t : torch::Tensor(); }

// The bias passed to the autograd functions: LibTorch 1.13's Function::apply cannot take an
// undefined tensor input (VariableInfo reads its device), so "no bias" is a zero bias that needs
// no gradient (y + 0.0f is y, bit for bit).
torch::Tensor bias_or_zeros(const std::optional<torch::Tensor>& bias, std::int64_t out,
                            const torch::Device& device) {
  const auto b = opt(bias);
  return b.defined() ? b : torch::zeros({out}, torch::TensorOptions(torch::kFloat32).device(device));
}

// float32 on the CPU, or on a CUDA device where the build has the device path.
void check_float(const torch::Tensor& t, const char* where, const char* what) {
  amgrad::detail::require_float(t, where, what);
}

amgrad::quant::params weight_params(const py_backend& b, const torch::Tensor& w) {
  const auto wc = amgrad::detail::host_contiguous(w.detach(), "the weight");
  return b.be->weight_params(amgrad::detail::floats(wc), static_cast<std::size_t>(wc.size(0)));
}

py::tuple params_tuple(const amgrad::quant::params& p) {
  return py::make_tuple(torch::tensor(p.scale, torch::kFloat32),
                        torch::tensor(std::vector<std::int64_t>(p.zero_point.begin(), p.zero_point.end()),
                                      torch::kInt64));
}


// y = linear(x, w, bias) through the backend (x: [batch, in]); autograd records the C++ function.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w,
                     const std::optional<torch::Tensor>& bias, const py_backend& b, float lo,
                     float hi, const py_estimator& we, const py_estimator& ae,
                     std::uintptr_t stream) {
  const char* where = "amgrad.nn.ApproxLinear";
  check_float(x, where, "the input");
  check_float(w, where, "the weight");
  if (opt(bias).defined()) check_float(*bias, where, "the bias");
  amgrad::require(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1), where, "input ",
                  x.sizes(), " does not fit weight ", w.sizes(), " (expected [..., ", w.size(1),
                  "])");
  py::gil_scoped_release release;
  const auto xq = b.be->activation_params(lo, hi);
  const auto wq = weight_params(b, w);
  return amgrad::nn::linear_function::apply(x, w, bias_or_zeros(bias, w.size(0), w.device()), b.be, xq, wq,
                                            estimator_pair(we, ae), stream);
}

torch::Tensor conv2d(const torch::Tensor& x, const torch::Tensor& w,
                     const std::optional<torch::Tensor>& bias, const py_backend& b, float lo,
                     float hi, std::pair<int, int> stride, std::pair<int, int> padding,
                     std::pair<int, int> dilation, const py_estimator& we, const py_estimator& ae,
                     std::uintptr_t stream) {
  const char* where = "amgrad.nn.ApproxConv2d";
  check_float(x, where, "the input");
  check_float(w, where, "the weight");
  if (opt(bias).defined()) check_float(*bias, where, "the bias");
  amgrad::require(x.dim() == 4 && w.dim() == 4 && x.size(1) == w.size(1), where, "input ",
                  x.sizes(), " does not fit weight ", w.sizes(), " (expected NCHW with C = ",
                  w.size(1), ")");
  amgrad::require(stride.first > 0 && stride.second > 0 && dilation.first > 0 &&
                      dilation.second > 0 && padding.first >= 0 && padding.second >= 0,
                  where, "stride and dilation must be positive and padding non-negative");
  py::gil_scoped_release release;
  const auto xq = b.be->activation_params(lo, hi);
  const auto wq = weight_params(b, w);
  amgrad::ops::conv2d_geometry g;
  g.stride_h = static_cast<std::size_t>(stride.first);
  g.stride_w = static_cast<std::size_t>(stride.second);
  g.pad_h = static_cast<std::size_t>(padding.first);
  g.pad_w = static_cast<std::size_t>(padding.second);
  g.dilation_h = static_cast<std::size_t>(dilation.first);
  g.dilation_w = static_cast<std::size_t>(dilation.second);
  return amgrad::nn::conv2d_function::apply(x, w, bias_or_zeros(bias, w.size(0), w.device()), b.be, xq, wq, g,
                                            estimator_pair(we, ae), stream);
}

template <class T>
torch::Tensor vec_tensor(const std::vector<T>& v, at::IntArrayRef shape, torch::ScalarType type) {
  return torch::from_blob(const_cast<T*>(v.data()), shape, type).clone();
}

// The state of ops::linear_forward, for tests: codes, clipping masks, the integer accumulator.
py::dict linear_state(const py_backend& b, const torch::Tensor& x, const torch::Tensor& w,
                      const std::optional<torch::Tensor>& bias, float lo, float hi) {
  const char* where = "amgrad._C.linear_state";
  check_float(x, where, "x");
  check_float(w, where, "w");
  amgrad::require(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1), where, "x ", x.sizes(),
                  " does not fit w ", w.sizes());
  const auto xc = amgrad::detail::host_contiguous(x, "x"),
             wc = amgrad::detail::host_contiguous(w, "w");
  const auto bc = opt(bias).defined() ? amgrad::detail::host_contiguous(*bias, "bias") : torch::Tensor();
  const auto xq = b.be->activation_params(lo, hi);
  const auto wq = weight_params(b, w);
  const std::int64_t m = x.size(0), k = x.size(1), n = w.size(0);
  auto y = torch::empty({m, n}, torch::kFloat32);
  amgrad::ops::linear_state s;
  {
    py::gil_scoped_release release;
    s = b.be->linear_forward(amgrad::detail::floats(xc), amgrad::detail::floats(wc),
                             bc.defined() ? amgrad::detail::floats(bc) : std::span<const float>{},
                             {std::size_t(m), std::size_t(k), std::size_t(n)}, xq, wq,
                             amgrad::detail::mutable_floats(y));
  }
  py::dict d;
  d["y"] = y;
  d["x_codes"] = vec_tensor(s.x_codes, {m, k}, torch::kUInt8);
  d["w_codes"] = vec_tensor(s.w_codes, {k, n}, torch::kUInt8);  // B layout [in][out]
  d["x_inside"] = vec_tensor(s.x_inside, {m, k}, torch::kUInt8).to(torch::kBool);
  d["w_inside"] = vec_tensor(s.w_inside, {n, k}, torch::kUInt8).to(torch::kBool);
  d["acc"] = vec_tensor(s.acc, {m, n}, torch::kInt32);
  d["x_params"] = params_tuple(s.xq);
  d["w_params"] = params_tuple(s.wq);
  return d;
}

// Y = sum_k AM(A, B) by amgrad::kernel::reference::forward (int64), A [M][K], B [K][N] codes.
torch::Tensor reference_forward(const py_table& table, const torch::Tensor& a,
                                const torch::Tensor& b) {
  const char* where = "amgrad._C.reference_forward";
  amgrad::require(a.device().is_cpu() && b.device().is_cpu() && a.scalar_type() == torch::kUInt8 &&
                      b.scalar_type() == torch::kUInt8 && a.dim() == 2 && b.dim() == 2,
                  where, "expected two 2-D uint8 CPU tensors of codes");
  const auto ac = a.contiguous(), bc = b.contiguous();
  auto y = torch::empty({a.size(0), b.size(1)}, torch::kInt64);
  py::gil_scoped_release release;
  amgrad::kernel::reference::forward(
      table.t, amgrad::row_major<const amgrad::code_t>(ac.data_ptr<std::uint8_t>(), ac.size(0), ac.size(1)),
      amgrad::row_major<const amgrad::code_t>(bc.data_ptr<std::uint8_t>(), bc.size(0), bc.size(1)),
      amgrad::row_major(y.data_ptr<std::int64_t>(), y.size(0), y.size(1)));
  return y;
}

py::dict metrics_dict(const product_table& lut) {
  const auto m = amgrad::metrics(lut);
  py::dict d;
  d["bits"] = m.format.bits;
  d["signed"] = m.format.is_signed;
  d["pairs"] = m.pairs;
  d["error_rate"] = m.error_rate;
  d["med"] = m.med;
  d["nmed"] = m.nmed_over_max_product;
  d["nmed_over_2_pow_2b"] = m.nmed_over_2_pow_2b;
  d["mred"] = m.mred;
  d["mred_pairs"] = m.mred_pairs;
  d["wce"] = m.wce;
  d["bias"] = m.bias;
  d["mse"] = m.mse;
  d["max_product"] = m.max_product;
  return d;
}

// Per-step time of the C++ ApproxConv2d training step (forward, backward, SGD), for the benchmark
// that compares it with the same step from Python in the same process.
double bench_cpp_conv2d_step(const py_backend& b, int batch, int cin, int cout, int kernel, int hw,
                             int padding, int steps, int warmup) {
  py::gil_scoped_release release;
  torch::manual_seed(0);
  amgrad::nn::ApproxConv2d conv(
      amgrad::nn::ApproxConv2dOptions(cin, cout, kernel).padding(padding), b.be);
  torch::optim::SGD opt(conv->parameters(), torch::optim::SGDOptions(0.01));
  const auto x = torch::randn({batch, cin, hw, hw});
  auto step = [&] {
    opt.zero_grad();
    conv(x).square().mean().backward();
    opt.step();
  };
  for (int i = 0; i < warmup; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
}

// Runs the C++ module (amgrad::nn::ApproxLinear, or ApproxConv2d with square stride / padding /
// dilation) with the given parameters over batches, each in training or eval mode; returns the
// outputs and the activation_range buffer. For the tests that hold the Python modules to the C++
// recipe.
py::tuple cpp_module_run(const py_backend& b, const torch::Tensor& weight, const torch::Tensor& bias,
                         const std::vector<torch::Tensor>& xs, const std::vector<bool>& training,
                         int stride, int padding, int dilation) {
  amgrad::require(xs.size() == training.size(), "amgrad._C.cpp_module_run", "one mode per batch");
  torch::NoGradGuard no_grad;
  std::shared_ptr<torch::nn::Module> m;
  std::function<torch::Tensor(const torch::Tensor&)> run;
  if (weight.dim() == 2) {
    auto lin = amgrad::nn::ApproxLinear(weight.size(1), weight.size(0), b.be);
    lin->weight.copy_(weight);
    lin->bias.copy_(bias);
    m = lin.ptr();
    run = [lin](const torch::Tensor& x) mutable { return lin(x); };
  } else {
    auto conv = amgrad::nn::ApproxConv2d(
        amgrad::nn::ApproxConv2dOptions(weight.size(1), weight.size(0), weight.size(2))
            .stride(stride).padding(padding).dilation(dilation), b.be);
    conv->weight.copy_(weight);
    conv->bias.copy_(bias);
    m = conv.ptr();
    run = [conv](const torch::Tensor& x) mutable { return conv(x); };
  }
  py::list ys;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    m->train(training[i]);
    ys.append(run(xs[i]));
  }
  return py::make_tuple(ys, m->named_buffers()["activation_range"].clone());
}

// ---- quantizer estimators, α, M and the alignment metrics (amgrad::quant), vectorised ---------

// f(v) of every element of a real tensor, as float64 in the tensor's shape.
template <class F>
torch::Tensor map_double(const torch::Tensor& v, const char* where, F&& f) {
  amgrad::require(v.device().is_cpu() && v.is_floating_point(), where,
                  "expected a floating-point CPU tensor, got ", c10::toString(v.scalar_type()),
                  " on ", v.device().str());
  const auto in = v.to(torch::kFloat64).contiguous();
  auto out = torch::empty_like(in);
  const double* p = in.data_ptr<double>();
  double* o = out.data_ptr<double>();
  for (std::int64_t i = 0; i < in.numel(); ++i) o[i] = f(p[i]);
  return out;
}

// A float32 copy of a CPU tensor's values (the library's metrics take floats).
std::vector<float> float_values(const torch::Tensor& t, const char* where, const char* what) {
  amgrad::require(t.device().is_cpu() && t.is_floating_point(), where, what,
                  " must be a floating-point CPU tensor");
  const auto c = t.detach().to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// Params from a scale and a zero point, each a number or a 1-D tensor (one per channel); a
// single zero point goes with every scale.
amgrad::quant::params params_of(const torch::Tensor& scale, const torch::Tensor& zero_point) {
  amgrad::quant::params p;
  const auto s = scale.detach().to(torch::kFloat32).contiguous().reshape({-1});
  auto z = zero_point.detach().to(torch::kInt64).contiguous().reshape({-1});
  if (z.numel() == 1 && s.numel() > 1) z = z.expand({s.numel()}).contiguous();
  p.scale.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
  for (std::int64_t i = 0; i < z.numel(); ++i)
    p.zero_point.push_back(static_cast<int>(z.data_ptr<std::int64_t>()[i]));
  return p;
}

// Calls f(Operand{}) for the operand type of (bits, signed).
template <class F>
void with_format(int bits, bool is_signed, F&& f) {
  amgrad::with_operand(format_of(bits, is_signed), [&](auto op) { f(typename decltype(op)::type{}); });
}

// The channel count of a weight tensor for params p: its first dimension when p is per channel.
std::size_t channels_of(const torch::Tensor& w, const amgrad::quant::params& p) {
  return p.channels() == 1 ? 1 : static_cast<std::size_t>(w.dim() > 0 ? w.size(0) : 1);
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "amgrad's C++ core (pybind11 + LibTorch)";
  // amgrad::error -> amgrad.Error (a RuntimeError), with the C++ message.
  py::register_exception<amgrad::error>(m, "Error", PyExc_RuntimeError);

  m.attr("min_bits") = amgrad::min_bits;
  m.attr("max_bits") = amgrad::max_bits;

  // Every built-in model, from amgrad::builtin_models: (name, parameter names, supports_signed).
  m.def("builtin_models", [] {
    py::list out;
    amgrad::for_each_type(amgrad::builtin_models{}, [&](auto t) {
      using Model = typename decltype(t)::type;
      py::list params;
      for (const char* p : Model::parameters) params.append(p);
      out.append(py::make_tuple(Model::name, params, Model::supports_signed));
    });
    return out;
  });
  m.def("builtin_schemes", [] {
    py::list out;
    amgrad::for_each_type(amgrad::builtin_schemes{},
                          [&](auto t) { out.append(decltype(t)::type::name); });
    return out;
  });

  py::class_<py_table>(m, "Table")
      .def_static(
          "from_spec",
          [](const std::string& spec, int bits, bool is_signed) {
            return py_table{amgrad::make_product_table(amgrad::parse_model_spec(spec),
                                                       format_of(bits, is_signed))};
          },
          py::arg("spec"), py::arg("bits") = 8, py::arg("signed") = false)
      .def_static(
          "read",
          [](const std::string& path, std::optional<std::string> format,
             std::optional<bool> is_signed, std::optional<int> bits) {
            std::optional<amgrad::table_format> f;
            if (format) f = amgrad::parse_table_format(*format);
            py::gil_scoped_release release;
            return py_table{amgrad::read_product_table(path, f, is_signed, bits)};
          },
          py::arg("path"), py::arg("format") = py::none(), py::arg("signed") = py::none(),
          py::arg("bits") = py::none())
      .def_static("from_tensor", [](const torch::Tensor& t, bool s) { return py_table{table_from_tensor(t, s)}; }, py::arg("table"), py::arg("signed") = false)
      .def("write",
           [](const py_table& t, const std::string& path, const std::string& format) {
             amgrad::write_product_table(path, t.t, amgrad::parse_table_format(format));
           },
           py::arg("path"), py::arg("format") = "date")
      .def_property_readonly("bits", [](const py_table& t) { return t.t.format().bits; })
      .def_property_readonly("signed", [](const py_table& t) { return t.t.format().is_signed; })
      .def("tensor", [](const py_table& t) { return table_tensor(t.t); })
      .def("metrics", [](const py_table& t) { return metrics_dict(t.t); })
      .def("gradients",
           [](const py_table& t, const std::string& scheme, int hws, const std::string& rule,
              const std::string& boundary, int rank, double rank_tolerance) {
             py::gil_scoped_release release;
             const auto g = amgrad::python::scheme_tables(
                 t.t, {scheme, hws, rule, boundary, rank, rank_tolerance});
             return std::make_pair(float_table_tensor(g.da), float_table_tensor(g.db));
           },
           py::arg("scheme"), py::arg("hws") = -1, py::arg("rule") = "signed_range",
           py::arg("boundary") = "eq6", py::arg("rank") = 0, py::arg("rank_tolerance") = 0.01)
      .def("propose_hws",
           [](const py_table& t, double max_roughness) {
             amgrad::hws_options options;
             options.max_roughness = max_roughness;
             amgrad::hws_proposal p;
             {
               py::gil_scoped_release release;
               p = amgrad::propose_hws(t.t, options);
             }
             py::list ladder;
             for (const auto& c : p.ladder)
               ladder.append(py::make_tuple(c.hws, c.roughness, c.roughness_a, c.roughness_b));
             py::dict out;
             out["hws"] = p.hws;
             out["hws_a"] = p.hws_a;
             out["hws_b"] = p.hws_b;
             out["ladder"] = ladder;
             return out;
           },
           py::arg("max_roughness") = 1.0 / 16)
      .def("low_rank",
           [](const py_table& t, int hws, const std::string& boundary, int rank, double rank_tolerance) {
             amgrad::low_rank_gradients g;
             {
               py::gil_scoped_release release;
               g = amgrad::python::scheme_low_rank(t.t, {"lut2d_lowrank", hws, "signed_range", boundary,
                                                        rank, rank_tolerance});
             }
             auto describe = [](const amgrad::low_rank_table& f) {
               const auto n = static_cast<std::int64_t>(f.singular_values.size());
               auto sv = torch::empty({n}, torch::kFloat64);
               auto err = torch::empty({n + 1}, torch::kFloat64);
               for (std::int64_t i = 0; i < n; ++i) sv[i] = f.singular_values[i];
               for (std::int64_t r = 0; r <= n; ++r) err[r] = f.relative_error(static_cast<int>(r));
               py::dict d;
               d["rank"] = f.rank;
               d["singular_values"] = sv;
               d["relative_error"] = err;
               return d;
             };
             return py::make_tuple(describe(g.da), describe(g.db));
           },
           py::arg("hws") = -1, py::arg("boundary") = "eq6", py::arg("rank") = 0,
           py::arg("rank_tolerance") = 0.01)
      .def("__eq__", [](const py_table& a, const py_table& b) { return a.t == b.t; });

  py::class_<py_backend>(m, "Backend")
      .def(py::init([](const py_table& t, const std::string& scheme, int hws,
                       const std::string& rule, const std::string& boundary,
                       const std::string& label, int rank, double rank_tolerance) {
             py::gil_scoped_release release;  // builds the gradient tables
             return py_backend{amgrad::python::make_backend(
                 t.t, {scheme, hws, rule, boundary, rank, rank_tolerance}, label)};
           }),
           py::arg("table"), py::arg("scheme"), py::arg("hws") = -1,
           py::arg("rule") = "signed_range", py::arg("boundary") = "eq6", py::arg("label") = "table",
           py::arg("rank") = 0, py::arg("rank_tolerance") = 0.01)
      .def_property_readonly("name", [](const py_backend& b) { return b.be->name(); })
      .def_property_readonly("bits", [](const py_backend& b) { return b.be->bits(); })
      .def("activation_params",
           [](const py_backend& b, float lo, float hi) {
             return params_tuple(b.be->activation_params(lo, hi));
           })
      .def("weight_params", [](const py_backend& b, const torch::Tensor& w) {
        check_float(w, "amgrad.Backend.weight_params", "the weight");
        return params_tuple(weight_params(b, w));
      });

  py::class_<py_estimator>(m, "Estimator",
                           "A quantizer estimator Q̂' (amgrad::quant): ste, pwl, htge(t), mad")
      .def(py::init(&make_estimator), py::arg("name"), py::arg("t") = py::none())
      .def_property_readonly("name", [](const py_estimator& e) {
        return std::visit([](const auto& x) { return std::string(x.name); }, e.e);
      })
      .def_property_readonly("sharpness", [](const py_estimator& e) -> std::optional<double> {
        if (const auto* h = std::get_if<amgrad::quant::htge_runtime>(&e.e)) return h->sharpness;
        return std::nullopt;
      })
      .def("__repr__", [](const py_estimator& e) {
        return "amgrad.quant." + amgrad::quant::to_string(e.e);
      })
      .def("__eq__", [](const py_estimator& a, const py_estimator& b) {
        return amgrad::quant::to_string(a.e) == amgrad::quant::to_string(b.e);
      })
      .def("__hash__", [](const py_estimator& e) {
        return std::hash<std::string>{}(amgrad::quant::to_string(e.e));
      })
      .def(py::pickle(
          [](const py_estimator& e) {
            const auto* h = std::get_if<amgrad::quant::htge_runtime>(&e.e);
            return py::make_tuple(std::visit([](const auto& x) { return std::string(x.name); }, e.e),
                                  h ? py::cast(h->sharpness) : py::none());
          },
          [](const py::tuple& t) {
            return make_estimator(t[0].cast<std::string>(), t[1].cast<std::optional<double>>());
          }))
      // Q̂'(v), Q̂(v) of a tensor of code-unit positions v = x/s + Z (float64 out). zero_point:
      // where the estimator uses it (mad); None: the window's centre.
      .def("derivative",
           [](const py_estimator& e, const torch::Tensor& v, double lo, double hi,
              std::optional<double> z) {
             return std::visit([&](const auto& x) {
               return map_double(v, "amgrad.quant.derivative", [&](double u) {
                 return z ? amgrad::detail::estimator_derivative(x, u, lo, hi, *z)
                          : x.derivative(u, lo, hi);
               });
             }, e.e);
           },
           py::arg("v"), py::arg("lo"), py::arg("hi"), py::arg("zero_point") = py::none())
      .def("surrogate",
           [](const py_estimator& e, const torch::Tensor& v, double lo, double hi,
              std::optional<double> z) {
             return std::visit([&](const auto& x) {
               return map_double(v, "amgrad.quant.surrogate", [&](double u) {
                 return z ? amgrad::detail::estimator_surrogate(x, u, lo, hi, *z)
                          : x.surrogate(u, lo, hi);
               });
             }, e.e);
           },
           py::arg("v"), py::arg("lo"), py::arg("hi"), py::arg("zero_point") = py::none())
      // α (Eq. 4) on the code range [lo, hi]: (value, quadrature error estimate).
      .def("alpha",
           [](const py_estimator& e, double lo, double hi, double z) {
             const auto a = std::visit([&](const auto& x) { return amgrad::quant::alpha(x, lo, hi, z); }, e.e);
             return std::make_pair(a.value, a.error);
           },
           py::arg("lo"), py::arg("hi"), py::arg("zero_point") = 0.0)
      // M(v) in code units of a tensor of positions (α computed once).
      .def("remap_code",
           [](const py_estimator& e, const torch::Tensor& v, double lo, double hi, double z) {
             return std::visit([&](const auto& x) {
               const double a = amgrad::quant::alpha(x, lo, hi, z).value;
               return map_double(v, "amgrad.quant.remap_code", [&](double u) {
                 return amgrad::quant::remap_code(x, u, lo, hi, z, a);
               });
             }, e.e);
           },
           py::arg("v"), py::arg("lo"), py::arg("hi"), py::arg("zero_point") = 0.0)
      // M in weight units of a weight tensor (channel-major) quantized with (scale, zero_point)
      // on the (bits, signed) operand; float32 out, w's shape.
      .def("remap",
           [](const py_estimator& e, const torch::Tensor& w, const torch::Tensor& scale,
              const torch::Tensor& zero_point, int bits, bool is_signed) {
             const auto p = params_of(scale, zero_point);
             const auto values = float_values(w, "amgrad.quant.remap", "w");
             std::vector<float> out;
             with_format(bits, is_signed, [&](auto op) {
               using Operand = decltype(op);
               std::visit([&](const auto& x) {
                 out = amgrad::quant::remap<Operand>(x, values, p, channels_of(w, p));
               }, e.e);
             });
             return torch::from_blob(out.data(), w.sizes(), torch::kFloat32).clone();
           },
           py::arg("w"), py::arg("scale"), py::arg("zero_point"), py::arg("bits"),
           py::arg("signed") = true);

  // Ē (section 6.2) as a fraction: mean |a - b| over range_length, or per channel over the
  // representable range s (hi - lo) of the (bits, signed) operand.
  m.def("alignment_error",
        [](const torch::Tensor& a, const torch::Tensor& b, double range_length) {
          const auto va = float_values(a, "amgrad.quant.alignment_error", "a"),
                     vb = float_values(b, "amgrad.quant.alignment_error", "b");
          return amgrad::quant::alignment_error(va, vb, range_length);
        },
        py::arg("a"), py::arg("b"), py::arg("range_length"));
  m.def("alignment_error_params",
        [](const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& scale,
           const torch::Tensor& zero_point, int bits, bool is_signed) {
          const auto p = params_of(scale, zero_point);
          const auto va = float_values(a, "amgrad.quant.alignment_error", "a"),
                     vb = float_values(b, "amgrad.quant.alignment_error", "b");
          double r = 0;
          with_format(bits, is_signed, [&](auto op) {
            r = amgrad::quant::alignment_error<decltype(op)>(va, vb, p, channels_of(a, p));
          });
          return r;
        });
  // Quantized weight agreement: the fraction of equal codes of two weight tensors quantized with
  // the same params.
  m.def("weight_agreement",
        [](const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& scale,
           const torch::Tensor& zero_point, int bits, bool is_signed) {
          const auto p = params_of(scale, zero_point);
          const auto va = float_values(a, "amgrad.quant.weight_agreement", "a"),
                     vb = float_values(b, "amgrad.quant.weight_agreement", "b");
          double r = 0;
          with_format(bits, is_signed, [&](auto op) {
            r = amgrad::quant::weight_agreement<decltype(op)>(va, vb, p, channels_of(a, p));
          });
          return r;
        });

  m.def("has_device_path", &amgrad::nn::has_device_path,
        "Whether this build runs the modules on CUDA tensors (built with AMGRAD_ENABLE_CUDA)");
  m.def("check_module_tensors",
        [](const char* where, const torch::Tensor& x, const torch::Tensor& w,
           const std::optional<torch::Tensor>& bias, const torch::Tensor& range) {
          amgrad::detail::require_module_tensors(where, x, w, opt(bias), range);
        });
  const py_estimator pwl{amgrad::quant::pwl{}};
  m.def("linear", &linear, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("backend"),
        py::arg("lo"), py::arg("hi"), py::arg("weight_estimator") = pwl,
        py::arg("activation_estimator") = pwl, py::arg("stream") = 0);
  m.def("conv2d", &conv2d, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("backend"),
        py::arg("lo"), py::arg("hi"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
        py::arg("weight_estimator") = pwl, py::arg("activation_estimator") = pwl,
        py::arg("stream") = 0);
  m.def("linear_state", &linear_state);
  m.def("reference_forward", &reference_forward);
  m.def("cpp_module_run", &cpp_module_run);
  m.def("bench_cpp_conv2d_step", &bench_cpp_conv2d_step, py::arg("backend"), py::arg("batch"),
        py::arg("cin"), py::arg("cout"), py::arg("kernel"), py::arg("hw"), py::arg("padding"),
        py::arg("steps"), py::arg("warmup") = 2);
}
