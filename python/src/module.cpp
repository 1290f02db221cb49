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
#include "amgrad/kernel/reference.hpp"
#include "amgrad/multiplier/builtin.hpp"
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
torch::Tensor bias_or_zeros(const std::optional<torch::Tensor>& bias, std::int64_t out) {
  const auto b = opt(bias);
  return b.defined() ? b : torch::zeros({out}, torch::kFloat32);
}

void check_cpu_float(const torch::Tensor& t, const char* where, const char* what) {
  amgrad::detail::require_cpu_float(t, where, what);
}

amgrad::quant::params weight_params(const py_backend& b, const torch::Tensor& w) {
  const auto wc = w.detach().contiguous();
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
                     float hi) {
  const char* where = "amgrad.nn.ApproxLinear";
  check_cpu_float(x, where, "the input");
  check_cpu_float(w, where, "the weight");
  if (opt(bias).defined()) check_cpu_float(*bias, where, "the bias");
  amgrad::require(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1), where, "input ",
                  x.sizes(), " does not fit weight ", w.sizes(), " (expected [..., ", w.size(1),
                  "])");
  py::gil_scoped_release release;
  const auto xq = b.be->activation_params(lo, hi);
  const auto wq = weight_params(b, w);
  return amgrad::nn::linear_function::apply(x, w, bias_or_zeros(bias, w.size(0)), b.be, xq, wq);
}

torch::Tensor conv2d(const torch::Tensor& x, const torch::Tensor& w,
                     const std::optional<torch::Tensor>& bias, const py_backend& b, float lo,
                     float hi, std::pair<int, int> stride, std::pair<int, int> padding,
                     std::pair<int, int> dilation) {
  const char* where = "amgrad.nn.ApproxConv2d";
  check_cpu_float(x, where, "the input");
  check_cpu_float(w, where, "the weight");
  if (opt(bias).defined()) check_cpu_float(*bias, where, "the bias");
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
  return amgrad::nn::conv2d_function::apply(x, w, bias_or_zeros(bias, w.size(0)), b.be, xq, wq, g);
}

template <class T>
torch::Tensor vec_tensor(const std::vector<T>& v, at::IntArrayRef shape, torch::ScalarType type) {
  return torch::from_blob(const_cast<T*>(v.data()), shape, type).clone();
}

// The state of ops::linear_forward, for tests: codes, clipping masks, the integer accumulator.
py::dict linear_state(const py_backend& b, const torch::Tensor& x, const torch::Tensor& w,
                      const std::optional<torch::Tensor>& bias, float lo, float hi) {
  const char* where = "amgrad._C.linear_state";
  check_cpu_float(x, where, "x");
  check_cpu_float(w, where, "w");
  amgrad::require(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1), where, "x ", x.sizes(),
                  " does not fit w ", w.sizes());
  const auto xc = x.contiguous(), wc = w.contiguous();
  const auto bc = opt(bias).defined() ? bias->contiguous() : torch::Tensor();
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

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "amgrad's C++ core (pybind11 + LibTorch)";
  // amgrad::error -> amgrad.Error (a RuntimeError), with the C++ message.
  py::register_exception<amgrad::error>(m, "Error", PyExc_RuntimeError);

  m.attr("min_bits") = amgrad::min_bits;
  m.attr("max_bits") = amgrad::max_bits;
  m.attr("cuda") = false;  // this build's modules run on the CPU (no AMGRAD_ENABLE_CUDA here)

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
              const std::string& boundary) {
             py::gil_scoped_release release;
             const auto g = amgrad::python::scheme_tables(t.t, {scheme, hws, rule, boundary});
             return std::make_pair(float_table_tensor(g.da), float_table_tensor(g.db));
           },
           py::arg("scheme"), py::arg("hws") = -1, py::arg("rule") = "signed_range",
           py::arg("boundary") = "eq6")
      .def("__eq__", [](const py_table& a, const py_table& b) { return a.t == b.t; });

  py::class_<py_backend>(m, "Backend")
      .def(py::init([](const py_table& t, const std::string& scheme, int hws,
                       const std::string& rule, const std::string& boundary,
                       const std::string& label) {
             py::gil_scoped_release release;  // builds the gradient tables
             return py_backend{amgrad::python::make_backend(t.t, {scheme, hws, rule, boundary}, label)};
           }),
           py::arg("table"), py::arg("scheme"), py::arg("hws") = -1,
           py::arg("rule") = "signed_range", py::arg("boundary") = "eq6", py::arg("label") = "table")
      .def_property_readonly("name", [](const py_backend& b) { return b.be->name(); })
      .def_property_readonly("bits", [](const py_backend& b) { return b.be->bits(); })
      .def("activation_params",
           [](const py_backend& b, float lo, float hi) {
             return params_tuple(b.be->activation_params(lo, hi));
           })
      .def("weight_params", [](const py_backend& b, const torch::Tensor& w) {
        check_cpu_float(w, "amgrad.Backend.weight_params", "the weight");
        return params_tuple(weight_params(b, w));
      });

  m.def("check_module_tensors",
        [](const char* where, const torch::Tensor& x, const torch::Tensor& w,
           const std::optional<torch::Tensor>& bias, const torch::Tensor& range) {
          amgrad::detail::require_module_tensors(where, x, w, opt(bias), range);
        });
  m.def("linear", &linear, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("backend"),
        py::arg("lo"), py::arg("hi"));
  m.def("conv2d", &conv2d, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("backend"),
        py::arg("lo"), py::arg("hi"), py::arg("stride"), py::arg("padding"), py::arg("dilation"));
  m.def("linear_state", &linear_state);
  m.def("reference_forward", &reference_forward);
  m.def("cpp_module_run", &cpp_module_run);
  m.def("bench_cpp_conv2d_step", &bench_cpp_conv2d_step, py::arg("backend"), py::arg("batch"),
        py::arg("cin"), py::arg("cout"), py::arg("kernel"), py::arg("hw"), py::arg("padding"),
        py::arg("steps"), py::arg("warmup") = 2);
}
