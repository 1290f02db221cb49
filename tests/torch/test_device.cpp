// The Torch layer's device path (torch/device.hpp) on a machine without a GPU: a factory that
// emulates a device with the host kernels stands in for device_gemm.cuh's, so that what the
// backends do with an nn::execution is checked here: the AM-GEMMs go to the device's
// gemm_kernels, on the caller's stream, made once per device and backend, with results
// bit-identical to the host path; and without a device path the call says how to get one.
// (The real device kernels are checked against the host reference in tests/torch/device/.)
#include <doctest/doctest.h>

#include <boost/hana.hpp>
#include <map>
#include <random>
#include <variant>
#include <vector>

#include "amgrad/kernel/host/backward.hpp"
#include "amgrad/kernel/host/forward.hpp"
#include "amgrad/torch/torch.hpp"

// LibTorch redefines CHECK glog-style (see test_torch.cpp); the tests mean doctest's.
#undef CHECK
#define CHECK DOCTEST_CHECK

using namespace amgrad;
namespace hana = boost::hana;

namespace {

// What the emulated devices saw.
struct device_log {
  std::map<int, int> made;  // device -> gemm_kernels made there
  std::map<int, int> calls;
  std::vector<std::uintptr_t> streams;
};
device_log emulated;

class emulated_gemm final : public nn::gemm_kernels {
 public:
  using table_kernel = kernel::host::backward_table_kernel;
  using separable_kernel = kernel::host::backward_separable_kernel;
  emulated_gemm(const product_table& lut, const nn::kernel_gradients& g, int device)
      : device_(device),
        forward_(lut),
        backward_(nn::make_backward_kernel<table_kernel, separable_kernel>(g)) {}

  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<std::int32_t> y, std::uintptr_t stream) const override {
    seen(stream);
    forward_(a, b, y);
  }
  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da,
                   std::uintptr_t stream) const override {
    seen(stream);
    std::visit([&](const auto& k) { k.da(a, b, dy, da); }, backward_);
  }
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db,
                   std::uintptr_t stream) const override {
    seen(stream);
    std::visit([&](const auto& k) { k.db(a, b, dy, db); }, backward_);
  }

 private:
  void seen(std::uintptr_t stream) const {
    ++emulated.calls[device_];
    emulated.streams.push_back(stream);
  }

  int device_;
  kernel::host::forward_kernel forward_;
  nn::backward_kernel_for<table_kernel, separable_kernel> backward_;
};

std::unique_ptr<const nn::gemm_kernels> make_emulated(const product_table& lut,
                                                      const nn::kernel_gradients& g, int device) {
  ++emulated.made[device];
  return std::make_unique<const emulated_gemm>(lut, g, device);
}

// Installs the emulated device path for a scope, and clears the log.
struct emulated_devices {
  emulated_devices() : previous(nn::set_device_gemm_factory(&make_emulated)) { emulated = {}; }
  ~emulated_devices() { nn::set_device_gemm_factory(previous); }
  nn::device_gemm_factory previous;
};

std::mt19937 rng{2026};
std::vector<float> random_floats(std::size_t n) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}
std::pair<float, float> min_max(const std::vector<float>& v) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return {*lo, *hi};
}

// Forward and backward of one linear and one conv2d layer at `where`.
struct layer_results {
  std::vector<float> y_linear, y_conv;
  ops::linear_grads g_linear;
  ops::conv2d_grads g_conv;
};

struct layer_inputs {
  ops::linear_shape shape{7, 33, 5};
  ops::conv2d_geometry geometry{2, 3, 9, 8, 4, 3, 3, 2, 1, 1, 1, 1, 1};
  std::vector<float> x = random_floats(7 * 33), w = random_floats(5 * 33), bias = random_floats(5);
  std::vector<float> dy = random_floats(7 * 5);
  std::vector<float> cx = random_floats(geometry.input_size()),
                     cw = random_floats(geometry.weight_size()), cbias = random_floats(4);
  std::vector<float> cdy = random_floats(geometry.output_size());
};

layer_results run_layers(const nn::backend& be, const layer_inputs& in,
                         const quant::estimator_pair& est, const nn::execution& where) {
  layer_results r;
  r.y_linear.resize(in.shape.batch * in.shape.out);
  const auto [lo, hi] = min_max(in.x);
  const auto xq = be.activation_params(lo * 0.8f, hi * 0.8f);  // some clipped inputs
  const auto s = be.linear_forward(in.x, in.w, in.bias, in.shape, xq,
                                   be.weight_params(in.w, in.shape.out), r.y_linear, est, where);
  r.g_linear = be.linear_backward(s, in.dy, true, est, where);

  r.y_conv.resize(in.geometry.output_size());
  const auto [clo, chi] = min_max(in.cx);
  const auto cs = be.conv2d_forward(in.cx, in.cw, in.cbias, in.geometry,
                                    be.activation_params(clo, chi),
                                    be.weight_params(in.cw, in.geometry.out_channels), r.y_conv,
                                    est, where);
  r.g_conv = be.conv2d_backward(cs, in.cdy, true, est, where);
  return r;
}

void check_identical(const layer_results& a, const layer_results& b) {
  CHECK(a.y_linear == b.y_linear);
  CHECK(a.g_linear.dx == b.g_linear.dx);
  CHECK(a.g_linear.dw == b.g_linear.dw);
  CHECK(a.g_linear.dbias == b.g_linear.dbias);
  CHECK(a.y_conv == b.y_conv);
  CHECK(a.g_conv.dx == b.g_conv.dx);
  CHECK(a.g_conv.dw == b.g_conv.dw);
  CHECK(a.g_conv.dbias == b.g_conv.dbias);
}

}  // namespace

TEST_CASE("on a device execution the backend's AM-GEMMs run there, on its stream, same values") {
  // A table scheme (LUT-2D), a separable one (LUT-1D: factors, not tables, go to the device), STE;
  // signed and unsigned operands.
  const auto backends = hana::make_tuple(
      [] { return std::make_unique<nn::backend_for<truncated, u8, lut2d>>(truncated{6}); },
      [] { return std::make_unique<nn::backend_for<truncated, s8, lut1d>>(truncated{5}); },
      [] { return std::make_unique<nn::backend_for<drum, u7, ste>>(drum{3}); });
  hana::for_each(backends, [](auto make) {
    const auto owned = make();
    const auto& be = *owned;
    CAPTURE(be.name());
    const emulated_devices devices;
    const layer_inputs in;
    const quant::estimator_pair est{quant::pwl{}, quant::htge_runtime(3.0)};
    const auto host = run_layers(be, in, est, {});
    CHECK(emulated.calls.empty());  // the host path never touches a device

    const std::uintptr_t stream0 = 0x5eed, stream1 = 0xcafe;
    const auto on0 = run_layers(be, in, est, {0, stream0});
    check_identical(host, on0);
    CHECK(emulated.calls[0] == 6);  // linear + conv2d: forward, dA, dB each
    check_identical(host, run_layers(be, in, est, {0, stream0}));
    const auto on1 = run_layers(be, in, est, {1, stream1});
    check_identical(host, on1);
    CHECK(emulated.calls[1] == 6);
    // The tables went to each device once, however many layers and calls used them.
    CHECK(emulated.made == std::map<int, int>{{0, 1}, {1, 1}});
    REQUIRE(emulated.streams.size() == 18);
    for (std::size_t i = 0; i < 12; ++i) CHECK(emulated.streams[i] == stream0);
    for (std::size_t i = 12; i < 18; ++i) CHECK(emulated.streams[i] == stream1);
  });
}

TEST_CASE("without a device path a device execution says how to get one; the host path runs") {
  const auto previous = nn::set_device_gemm_factory(nullptr);
  CHECK_FALSE(nn::has_device_path());
  const nn::backend_for<truncated, u8, lut2d> be(truncated{6});
  const layer_inputs in;
  CHECK_THROWS_WITH_AS(run_layers(be, in, {}, {0, 0}), doctest::Contains("AMGRAD_ENABLE_CUDA=ON"),
                       amgrad::error);
  CHECK_NOTHROW(run_layers(be, in, {}, {}));
  nn::set_device_gemm_factory(previous);
}
