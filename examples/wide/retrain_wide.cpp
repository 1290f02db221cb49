// retrain_wide: LeNet-5 on Fashion-MNIST with a 9..16-bit AppMult (amgrad::wide) in every conv
// and linear layer, retrained with STE, LUT-1D and the coarse 2-D (LUT-2D) estimate; the protocol
// of the 8-bit LeNet grid (examples/libtorch, docs/results.md): float LeNet-5 pretrained on all
// 60000 images, quantized (activations per tensor with a zero point, weights per output
// channel), calibrated by one pass over the training subset, retrained 3 epochs on 4000 images,
// Adam 1e-3 halved after a third and two thirds, batch 64, paired seeds, test on 4000 images.
//
//   retrain_wide --bits 12 --model drum:3 --schemes ste,lut1d,lut2d_coarse --seeds 3
//   retrain_wide --bits 12 --model truncated:14,drum:3,bam:8,8 --epochs 0   (before only)
//
// Outputs in --out (default retrain-results/wide): <prefix>.md/.json/.tsv (examples/libtorch's
// report), and the float weights cache lenet5_float.pt.
#include <malloc.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "data.hpp"
#include "report.hpp"
#include "train.hpp"
#include "wide_net.hpp"

namespace fs = std::filesystem;
using amgrad::concat;
using namespace retrain;
using retrain_wide::WideLeNet;

namespace {

struct options {
  int bits = 12;
  std::vector<std::string> models{"drum:3"};
  std::vector<std::string> schemes{"ste", "lut1d", "lut2d_coarse"};
  int epochs = 3, seeds = 3, pretrain_epochs = 4;
  std::int64_t train_subset = 4000, test_subset = 4000, max_batches = 0;
  int hws = amgrad::auto_hws;
  double lr = 1e-3;
  int threads = 1;
  fs::path data = AMGRAD_FASHION_MNIST_DIR;
  fs::path out = "retrain-results/wide";
  std::string prefix = "results";
  fs::path cache;  // default <out>/lenet5_float.pt
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// "bam:8,8,drum:3": a bare number continues the previous spec's parameters.
std::vector<std::string> split_specs(const std::string& s) {
  std::vector<std::string> out;
  for (const auto& item : split(s)) {
    if (item.find_first_not_of("0123456789") == std::string::npos && !out.empty())
      out.back() += "," + item;
    else
      out.push_back(item);
  }
  return out;
}

long to_long(const std::string& option, const std::string& v) {
  std::size_t used = 0;
  long x = 0;
  try {
    x = std::stol(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  amgrad::require(!v.empty() && used == v.size(), "retrain_wide", option, " ", v,
                  ": not an integer");
  return x;
}

void usage() {
  std::cout << R"(usage: retrain_wide [options]
  --bits 12|16            operand width (unsigned codes; default 12)
  --model a,b,...         built-in models (default drum:3): )"
            << amgrad::builtin_model_usage() << R"(
  --schemes a,b,...       ste, lut1d, lut2d_coarse (default: all three)
  --epochs N              retraining epochs (default 3; 0: accuracy before retraining only)
  --seeds N               paired seeds (default 3)
  --train-subset N        training images (default 4000)   --test-subset N (default 4000)
  --hws N|auto            the 2-D estimate's half window in codes (default auto: 2^(B-3))
  --lr X                  Adam's initial learning rate (default 1e-3)
  --pretrain-epochs N     float pretraining epochs on all 60000 images when no cache (default 4)
  --cache FILE            float weights (default <out>/lenet5_float.pt)
  --threads N             torch and amgrad threads (default 1)
  --max-batches N         at most N batches per epoch and calibration (quick tests)
  --data DIR  --out DIR  --prefix NAME
)";
}

options parse(int argc, char** argv, std::string& command) {
  options o;
  command = "retrain_wide";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    command += " " + a;
    const auto value = [&]() -> std::string {
      amgrad::require(i + 1 < argc, "retrain_wide", a, " needs a value");
      command += std::string(" ") + argv[i + 1];
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else if (a == "--bits") o.bits = static_cast<int>(to_long(a, value()));
    else if (a == "--model") o.models = split_specs(value());
    else if (a == "--schemes") o.schemes = split(value());
    else if (a == "--epochs") o.epochs = static_cast<int>(to_long(a, value()));
    else if (a == "--seeds") o.seeds = static_cast<int>(to_long(a, value()));
    else if (a == "--train-subset") o.train_subset = to_long(a, value());
    else if (a == "--test-subset") o.test_subset = to_long(a, value());
    else if (a == "--max-batches") o.max_batches = to_long(a, value());
    else if (a == "--pretrain-epochs") o.pretrain_epochs = static_cast<int>(to_long(a, value()));
    else if (a == "--hws") {
      const auto v = value();
      o.hws = v == "auto" ? amgrad::auto_hws : static_cast<int>(to_long(a, v));
    } else if (a == "--lr") o.lr = std::stod(value());
    else if (a == "--threads") o.threads = static_cast<int>(to_long(a, value()));
    else if (a == "--data") o.data = value();
    else if (a == "--out") o.out = value();
    else if (a == "--prefix") o.prefix = value();
    else if (a == "--cache") o.cache = value();
    else amgrad::fail("retrain_wide", "unknown option ", a, " (see --help)");
  }
  amgrad::require(o.epochs >= 0 && o.seeds > 0 && o.threads > 0 && !o.models.empty(),
                  "retrain_wide", "epochs (>= 0), seeds, threads and --model must be given");
  for (const auto& s : o.schemes) (void)amgrad::wide::parse_scheme(s);  // throws for a bad name
  if (o.cache.empty()) o.cache = o.out / "lenet5_float.pt";
  return o;
}

double nmed_percent(const std::string& spec, int bits) {
  double sum = 0, count = 0;
  amgrad::with_builtin_model(amgrad::parse_model_spec(spec), [&](const auto& model) {
    const std::int64_t n = std::int64_t{1} << bits;
    const auto one = [&](std::int64_t a, std::int64_t b) {
      sum += static_cast<double>(std::abs(amgrad::wide::multiply_bits(model, bits, false, static_cast<int>(a), static_cast<int>(b)) - a * b));
      count += 1;
    };
    if (bits <= 12) {
      for (std::int64_t a = 0; a < n; ++a)
        for (std::int64_t b = 0; b < n; ++b) one(a, b);
    } else {
      std::mt19937_64 r(7);
      std::uniform_int_distribution<std::int64_t> d(0, n - 1);
      for (int t = 0; t < (1 << 24); ++t) one(d(r), d(r));
    }
  });
  const double max_product = std::ldexp(1.0, bits) - 1.0;
  return 100.0 * sum / count / (max_product * max_product);
}

}  // namespace

int main(int argc, char** argv) try {
  const auto start = std::chrono::steady_clock::now();
  std::string command;
  const options o = parse(argc, argv, command);
  fs::create_directories(o.out);
  // The per-batch buffers are MiB-sized; keep glibc from returning them to the OS each batch
  // (examples/libtorch/retrain.cpp measured the page faults costing more than the GEMMs).
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  torch::set_num_threads(o.threads);
  const auto threads = static_cast<unsigned>(o.threads);
  const auto backend = [&](const std::string& spec, const std::string& scheme) {
    return retrain_wide::make_backend(
        spec, o.bits, {amgrad::wide::parse_scheme(scheme), amgrad::rate_rule::signed_range, o.hws, 256, threads});
  };
  for (const auto& m : o.models) (void)backend(m, "ste");  // every spec checked before any work

  const dataset full_train = load_split(o.data, "train");
  const dataset train = head(full_train, o.train_subset);
  const dataset test = head(load_split(o.data, "t10k"), o.test_subset);

  records rec;
  rec.commands.push_back(command);
  setting_record setting;
  setting.key = concat("lenet5/all/u", o.bits, "/e", o.epochs, "/n", train.size());
  {
    std::ostringstream s;
    s << "LeNet-5, " << o.bits << "-bit unsigned AppMult (amgrad::wide, int64 accumulators) in "
      << "every conv and linear layer; activations per tensor (zero point, EMA range), weights per "
         "output channel; calibrated by one pass over the training subset; Adam, lr";
    for (int e = 0; e < o.epochs; ++e) s << (e ? ", " : " ") << lr_at(o.lr, o.epochs, e);
    s << " per epoch, batch " << batch_size << "; " << o.epochs << " epoch(s) on " << train.size()
      << " training images, test on " << test.size() << "; " << o.seeds
      << " seed(s); lut2d_coarse: 256x256 coarse LUT-2D, HWS "
      << (o.hws == amgrad::auto_hws ? amgrad::default_hws(o.bits) : o.hws)
      << " codes; LUT-1D rule signed_range; " << o.threads << " thread(s).";
    setting.description = s.str();
  }
  std::cout << setting.key << ": " << setting.description << std::endl;

  // Float LeNet-5: this driver's own cache, or examples/libtorch's pretraining recipe.
  Net float_net(net_spec{"lenet", 16});
  if (fs::exists(o.cache)) {
    torch::load(float_net, o.cache.string());
    std::cout << "float weights loaded from " << o.cache << std::endl;
  } else {
    torch::manual_seed(0);
    float_net = Net(net_spec{"lenet", 16});
    torch::optim::Adam opt(float_net->parameters(), torch::optim::AdamOptions(1e-3));
    std::mt19937_64 rng(0);
    for (int e = 0; e < o.pretrain_epochs; ++e) {
      const auto st = train_epoch(float_net, full_train, opt, rng, o.max_batches);
      std::cout << "[float] epoch " << e + 1 << "/" << o.pretrain_epochs << " loss " << st.loss
                << " (" << st.seconds << " s)" << std::endl;
    }
    fs::create_directories(fs::absolute(o.cache).parent_path());
    torch::save(float_net, o.cache.string());
  }
  setting.float_accuracy = evaluate(float_net, test);
  std::cout << "float accuracy " << setting.float_accuracy << "%" << std::endl;

  const auto calibrated = [&](const std::shared_ptr<const retrain_wide::backend>& be) {
    WideLeNet net;
    copy_state(net->net, float_net);
    net->set_backend(be);
    calibrate(net, train, o.max_batches);
    return net;
  };
  const auto save = [&] {
    rec.settings = {setting};
    rec.walls = {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
    write_all(rec, o.out, o.prefix, false);
  };

  {
    auto net = calibrated(backend("exact", "ste"));
    setting.quantized_exact[o.bits] = evaluate(net, test);
    std::cout << "quantized " << o.bits << "-bit, exact multiplier: "
              << setting.quantized_exact[o.bits] << "%" << std::endl;
  }

  for (const auto& spec : o.models) {
    multiplier_record mr;
    mr.setting = setting.key;
    mr.name = spec;
    mr.bits = o.bits;
    mr.nmed = nmed_percent(spec, o.bits);
    const auto t0 = std::chrono::steady_clock::now();
    WideLeNet base = calibrated(backend(spec, "ste"));
    mr.before = evaluate(base, test);
    rec.multipliers.push_back(mr);
    std::cout << "[" << spec << "/" << o.bits << "b] NMED " << std::setprecision(4) << mr.nmed
              << "%, before retraining " << mr.before << "% (calibration + test "
              << std::setprecision(3)
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
              << " s)" << std::endl;
    if (o.epochs == 0) continue;
    for (const auto& scheme : o.schemes) {
      const auto be = backend(spec, scheme);
      std::cout << "[" << be->name() << "] setup (LUT-1D scan / coarse 2-D build) "
                << std::setprecision(3) << be->setup_seconds() << " s" << std::endl;
      for (int seed = 0; seed < o.seeds; ++seed) {
        WideLeNet run;
        copy_state(run->net, base->net);
        run->set_backend(be);
        torch::manual_seed(static_cast<std::uint64_t>(seed));
        std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(seed));
        torch::optim::Adam opt(run->parameters(), torch::optim::AdamOptions(o.lr));
        const int hws = amgrad::wide::parse_scheme(scheme) == amgrad::wide::scheme::lut2d_coarse
                            ? (o.hws == amgrad::auto_hws ? amgrad::default_hws(o.bits) : o.hws)
                            : 0;
        run_record u{setting.key, spec, o.bits, scheme, hws, seed, {}, {}, {}};
        for (int e = 0; e < o.epochs; ++e) {
          const double lr = lr_at(o.lr, o.epochs, e);
          set_lr(opt, lr);
          const auto st = train_epoch(run, train, opt, rng, o.max_batches);
          u.accuracy.push_back(evaluate(run, test));
          u.loss.push_back(st.loss);
          u.seconds.push_back(st.seconds);
          std::cout << "[" << be->name() << " seed " << seed << "] epoch " << e + 1 << "/"
                    << o.epochs << " lr " << lr << " loss " << std::setprecision(4) << st.loss
                    << " test " << u.accuracy.back() << "% (" << std::setprecision(3)
                    << st.seconds << " s)" << std::endl;
        }
        rec.runs.push_back(std::move(u));
        save();  // after every run, so a long run leaves partial results behind
      }
    }
  }
  save();
  std::cout << "\nresults: " << (o.out / (o.prefix + ".md")).string() << "\n\n"
            << std::ifstream(o.out / (o.prefix + ".md")).rdbuf();
  return 0;
} catch (const std::exception& e) {
  std::cerr << "retrain_wide: " << e.what() << "\n";
  return 1;
}
