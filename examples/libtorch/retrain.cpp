// retrain: quantize a LeNet-5-class CNN trained on Fashion-MNIST, run every conv and linear layer
// on an approximate multiplier, and retrain it with STE, LUT-1D and LUT-2D gradients.
//
//   retrain                 short run: one AppMult, three schemes, a couple of epochs on a
//                           subset of the training set (a few minutes on 2 cores)
//   retrain --full          the whole grid (see docs/results.md for what it ran)
//   retrain --help          every option
//
// Outputs (in --out): <prefix>.md (table), <prefix>.json, <prefix>_<multiplier>.png (accuracy
// against epoch per scheme, gnuplot), and one progress line per epoch on stdout.
#include <malloc.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/table/io.hpp"
#include "amgrad/table/metrics.hpp"
#include "amgrad_torch.hpp"

namespace fs = std::filesystem;
namespace hana = boost::hana;
using amgrad::detail::concat;

namespace {

// ---- Fashion-MNIST (IDX, gzip) ------------------------------------------------------------

struct dataset {
  torch::Tensor images;  // [N][1][28][28] float in [0, 1]
  torch::Tensor labels;  // [N] int64
};

std::vector<unsigned char> read_gz(const fs::path& path) {
  constexpr const char* where = "retrain: Fashion-MNIST";
  amgrad::detail::require(fs::exists(path), where, path.string(),
                          " is missing; install it with `apt-get install dataset-fashion-mnist` "
                          "or pass --data DIR");
  gzFile f = gzopen(path.c_str(), "rb");
  amgrad::detail::require(f != nullptr, where, "cannot open ", path.string());
  std::vector<unsigned char> out;
  unsigned char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) out.insert(out.end(), buffer, buffer + n);
  const bool failed = n < 0;
  gzclose(f);
  amgrad::detail::require(!failed, where, "read error in ", path.string());
  return out;
}

std::uint32_t big_endian(const std::vector<unsigned char>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

dataset load_split(const fs::path& dir, const std::string& split) {
  constexpr const char* where = "retrain: Fashion-MNIST";
  const auto img = read_gz(dir / (split + "-images-idx3-ubyte.gz"));
  const auto lab = read_gz(dir / (split + "-labels-idx1-ubyte.gz"));
  amgrad::detail::require(img.size() >= 16 && big_endian(img, 0) == 2051, where, split,
                          " images: not an IDX3 file");
  amgrad::detail::require(lab.size() >= 8 && big_endian(lab, 0) == 2049, where, split,
                          " labels: not an IDX1 file");
  const auto n = big_endian(img, 4), rows = big_endian(img, 8), cols = big_endian(img, 12);
  amgrad::detail::require(rows == 28 && cols == 28 && big_endian(lab, 4) == n &&
                              img.size() == 16 + std::size_t{n} * 784 && lab.size() == 8 + n,
                          where, split, ": unexpected sizes");
  dataset d{torch::empty({static_cast<std::int64_t>(n), 1, 28, 28}, torch::kFloat32),
            torch::empty({static_cast<std::int64_t>(n)}, torch::kInt64)};
  float* px = d.images.data_ptr<float>();
  for (std::size_t i = 0; i < std::size_t{n} * 784; ++i) px[i] = static_cast<float>(img[16 + i]) / 255.0f;
  auto* pl = d.labels.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < n; ++i) pl[i] = lab[8 + i];
  return d;
}

// ---- the network ------------------------------------------------------------------------------

struct LeNet5Impl : torch::nn::Module {
  amgrad::nn::ApproxConv2d conv1{amgrad::nn::ApproxConv2dOptions(1, 6, 5).padding(2)};
  amgrad::nn::ApproxConv2d conv2{amgrad::nn::ApproxConv2dOptions(6, 16, 5)};
  amgrad::nn::ApproxLinear fc1{400, 120}, fc2{120, 84}, fc3{84, 10};

  LeNet5Impl() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("fc3", fc3);
  }
  torch::Tensor forward(torch::Tensor x) {
    namespace F = torch::nn::functional;
    x = F::max_pool2d(torch::relu(conv1(x)), F::MaxPool2dFuncOptions(2));
    x = F::max_pool2d(torch::relu(conv2(x)), F::MaxPool2dFuncOptions(2));
    x = torch::relu(fc1(x.flatten(1)));
    x = torch::relu(fc2(x));
    return fc3(x);
  }
  // The AppMult of every conv and linear layer (nullptr: float).
  void set_backend(const std::shared_ptr<const amgrad::nn::backend>& be) {
    conv1->set_backend(be);
    conv2->set_backend(be);
    fc1->set_backend(be);
    fc2->set_backend(be);
    fc3->set_backend(be);
  }
};
TORCH_MODULE(LeNet5);

// ---- training ---------------------------------------------------------------------------------

struct options {
  bool full = false;
  std::vector<std::string> multipliers{"mitchell"};
  std::vector<std::string> schemes{"ste", "lut1d", "lut2d"};
  std::vector<int> bits{8};
  std::vector<int> exact_bits;  // extra widths evaluated on the exact multiplier only
  int epochs = 2;
  int seeds = 1;
  std::int64_t train_subset = 8000;  // 0: all 60000
  std::int64_t test_subset = 0;      // 0: all 10000
  int pretrain_epochs = 4;
  int hws = amgrad::auto_hws;
  double lr = 1e-3;
  int threads = 1;
  int calibration_batches = 32;
  fs::path data = AMGRAD_FASHION_MNIST_DIR;
  fs::path reference = AMGRAD_REFERENCE_DIR;
  fs::path out = "retrain-results";
  std::string prefix = "results";
  fs::path cache;  // float weights; default <out>/lenet5_float.pt
};

constexpr std::int64_t batch_size = 64;

double evaluate(LeNet5& net, const dataset& test) {
  torch::NoGradGuard no_grad;
  net->eval();
  std::int64_t correct = 0;
  const auto n = test.images.size(0);
  for (std::int64_t i = 0; i < n; i += 1000) {
    const auto end = std::min(n, i + 1000);
    const auto logits = net->forward(test.images.slice(0, i, end));
    correct += logits.argmax(1).eq(test.labels.slice(0, i, end)).sum().item<std::int64_t>();
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(n);
}

struct epoch_stats {
  double loss = 0, seconds = 0;
};

// One epoch over `train` in a seed-dependent order; lr set by the caller.
epoch_stats train_epoch(LeNet5& net, const dataset& train, torch::optim::Adam& opt,
                        std::mt19937_64& rng) {
  net->train();
  const auto n = train.images.size(0);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  const auto index = torch::from_blob(order.data(), {n}, torch::kInt64);
  double loss_sum = 0;
  std::int64_t batches = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i + batch_size <= n; i += batch_size) {  // drop the ragged tail
    const auto idx = index.slice(0, i, i + batch_size);
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net->forward(train.images.index_select(0, idx)),
                                                     train.labels.index_select(0, idx));
    loss.backward();
    opt.step();
    loss_sum += loss.item<double>();
    ++batches;
  }
  const auto t1 = std::chrono::steady_clock::now();
  return {loss_sum / static_cast<double>(std::max<std::int64_t>(batches, 1)),
          std::chrono::duration<double>(t1 - t0).count()};
}

// One pass of training-mode forwards without gradients: sets the activation EMAs.
void calibrate(LeNet5& net, const dataset& train, int batches) {
  torch::NoGradGuard no_grad;
  net->train();
  for (std::int64_t b = 0; b < batches; ++b) {
    const auto i = (b * batch_size) % std::max<std::int64_t>(1, train.images.size(0) - batch_size);
    net->forward(train.images.slice(0, i, i + batch_size));
  }
}

void set_lr(torch::optim::Adam& opt, double lr) {
  for (auto& group : opt.param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

// lr halved twice: at one third and two thirds of the epochs.
double lr_at(const options& o, int epoch) {
  const int halvings = std::min(2, (3 * epoch) / std::max(1, o.epochs));
  return o.lr / static_cast<double>(1 << halvings);
}

void copy_weights(LeNet5& to, const LeNet5& from) {
  torch::NoGradGuard no_grad;
  const auto src = from->named_parameters();
  for (auto& p : to->named_parameters()) p.value().copy_(src[p.key()]);
  const auto bsrc = from->named_buffers();
  for (auto& b : to->named_buffers()) b.value().copy_(bsrc[b.key()]);
}

// ---- multipliers -------------------------------------------------------------------------------

amgrad::product_table load_reference(const options& o, const std::string& stem) {
  for (const auto& e : fs::directory_iterator(o.reference)) {
    const auto name = e.path().filename().string();
    if (name.rfind(stem, 0) == 0 && name.find("_lutfp") != std::string::npos)
      return amgrad::read_product_table(e.path().string());
  }
  amgrad::detail::fail("retrain", "no table ", stem, "_lutfp*.txt.gz in ", o.reference.string(),
                       " (pass --reference DIR)");
}

// Every model the experiment can pick, by name. Published designs are 8-bit tables.
auto make_registry(const options& o) {
  using namespace amgrad;
  return nn::registry(
      hana::tuple_t<u8, u7>, hana::tuple_t<ste, lut1d, lut2d<>>,
      hana::make_tuple(
          nn::entry<exact>("exact", [] { return exact{}; }),
          nn::entry<table_multiplier>(
              "mul8u_17C8", [o] { return table_multiplier(load_reference(o, "mul8u_17C8")); }),
          nn::entry<table_multiplier>(
              "trunc8",  // the published 8-column vertical truncation, read from its table
              [o] {
                return table_multiplier(
                    load_reference(o, "8_8_U_SP_WT_CL_GenMul_vertical_truncation_8cols"));
              }),
          nn::entry<drum>("drum3", [] { return drum{3}; }),
          nn::entry<mitchell>("mitchell", [] { return mitchell{}; })));
}

// ---- reporting ----------------------------------------------------------------------------------

struct stat {
  double mean = 0, std = 0;
};
stat summarize(const std::vector<double>& v) {
  stat s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    for (double x : v) s.std += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(s.std / static_cast<double>(v.size() - 1));
  }
  return s;
}

std::string pm(const stat& s, int digits = 2) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << s.mean << " ± " << s.std;
  return out.str();
}

struct scheme_result {
  std::string scheme;
  std::vector<std::vector<double>> accuracy;  // [seed][epoch], after each epoch
  std::vector<std::vector<double>> loss;      // [seed][epoch]
  std::vector<double> seconds;                // every epoch of every seed
};

struct multiplier_result {
  std::string name;
  int bits = 8;
  double nmed = 0;    // MED / (2^B - 1)^2, in %
  double before = 0;  // accuracy with the AppMult, before retraining
  std::vector<scheme_result> schemes;
};

struct report {
  std::string command;
  double float_accuracy = 0;
  std::map<int, double> quantized_exact;  // bits -> accuracy
  std::vector<multiplier_result> results;
  std::string settings;
};

std::string json_array(const std::vector<double>& v) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
  return out.str() + "]";
}

void write_json(const report& r, const fs::path& path) {
  std::ofstream out(path);
  out << std::setprecision(6);
  out << "{\n  \"command\": \"" << r.command << "\",\n  \"settings\": \"" << r.settings
      << "\",\n  \"float_accuracy\": " << r.float_accuracy << ",\n  \"quantized_exact\": {";
  bool first = true;
  for (auto [b, a] : r.quantized_exact) {
    out << (first ? "" : ", ") << "\"" << b << "\": " << a;
    first = false;
  }
  out << "},\n  \"multipliers\": [\n";
  for (std::size_t m = 0; m < r.results.size(); ++m) {
    const auto& mr = r.results[m];
    out << "    {\"name\": \"" << mr.name << "\", \"bits\": " << mr.bits
        << ", \"nmed_percent\": " << mr.nmed << ", \"accuracy_before_retraining\": " << mr.before
        << ", \"schemes\": [\n";
    for (std::size_t s = 0; s < mr.schemes.size(); ++s) {
      const auto& sr = mr.schemes[s];
      std::vector<double> final_acc;
      for (const auto& a : sr.accuracy) final_acc.push_back(a.back());
      const auto f = summarize(final_acc);
      const auto t = summarize(sr.seconds);
      out << "      {\"scheme\": \"" << sr.scheme << "\", \"final_accuracy_mean\": " << f.mean
          << ", \"final_accuracy_std\": " << f.std << ", \"seconds_per_epoch\": " << t.mean
          << ", \"accuracy_per_epoch\": [";
      for (std::size_t k = 0; k < sr.accuracy.size(); ++k)
        out << (k ? ", " : "") << json_array(sr.accuracy[k]);
      out << "], \"loss_per_epoch\": [";
      for (std::size_t k = 0; k < sr.loss.size(); ++k)
        out << (k ? ", " : "") << json_array(sr.loss[k]);
      out << "]}" << (s + 1 < mr.schemes.size() ? "," : "") << "\n";
    }
    out << "    ]}" << (m + 1 < r.results.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
}

const scheme_result* find_scheme(const multiplier_result& m, const std::string& name) {
  for (const auto& s : m.schemes)
    if (s.scheme == name) return &s;
  return nullptr;
}

void write_markdown(const report& r, const options& o, const fs::path& path) {
  std::ofstream out(path);
  out << "# Retraining on approximate multipliers: LeNet-5 on Fashion-MNIST\n\n";
  out << "Made by `" << r.command << "`.\n\n" << r.settings << "\n\n";
  out << "Float accuracy: **" << std::fixed << std::setprecision(2) << r.float_accuracy
      << "%**.";
  for (auto [b, a] : r.quantized_exact)
    out << " Quantized to " << b << " bits on the exact multiplier (no retraining): **" << a
        << "%**.";
  out << "\n\n## Test accuracy (%) after retraining, mean ± std over " << o.seeds
      << " seed(s)\n\n";
  // Paired differences to STE (the same seed gives the same data order in every scheme).
  std::vector<std::string> deltas;
  for (const auto& s : o.schemes)
    if (s != "ste" && std::find(o.schemes.begin(), o.schemes.end(), "ste") != o.schemes.end())
      deltas.push_back(s);
  out << "| multiplier | bits | NMED (%) | before retraining |";
  for (const auto& s : o.schemes) out << " " << s << " |";
  for (const auto& s : deltas) out << " " << s << " − ste |";
  out << "\n|---|---|---|---|";
  for (std::size_t i = 0; i < o.schemes.size() + deltas.size(); ++i) out << "---|";
  out << "\n";
  for (const auto& m : r.results) {
    out << "| " << m.name << " | " << m.bits << " | " << std::setprecision(3) << m.nmed << " | "
        << std::setprecision(2) << m.before << " |";
    for (const auto& s : o.schemes) {
      const auto* sr = find_scheme(m, s);
      std::vector<double> final_acc;
      if (sr)
        for (const auto& a : sr->accuracy) final_acc.push_back(a.back());
      out << " " << (sr ? pm(summarize(final_acc)) : "-") << " |";
    }
    const auto* ste = find_scheme(m, "ste");
    for (const auto& s : deltas) {
      const auto* sr = find_scheme(m, s);
      std::vector<double> d;
      if (sr && ste)
        for (std::size_t k = 0; k < std::min(sr->accuracy.size(), ste->accuracy.size()); ++k)
          d.push_back(sr->accuracy[k].back() - ste->accuracy[k].back());
      out << " " << (d.empty() ? "-" : pm(summarize(d))) << " |";
    }
    out << "\n";
  }
  out << "\n## Seconds per training epoch (mean), and the ratio to STE\n\n| multiplier |";
  for (const auto& s : o.schemes) out << " " << s << " |";
  out << "\n|---|";
  for (std::size_t i = 0; i < o.schemes.size(); ++i) out << "---|";
  out << "\n";
  for (const auto& m : r.results) {
    out << "| " << m.name << "/" << m.bits << "b |";
    const auto* ste = find_scheme(m, "ste");
    const double base = ste ? summarize(ste->seconds).mean : 0;
    for (const auto& s : o.schemes) {
      const auto* sr = find_scheme(m, s);
      if (!sr) {
        out << " - |";
        continue;
      }
      const double t = summarize(sr->seconds).mean;
      out << " " << std::setprecision(1) << t << " s";
      if (base > 0) out << " (" << std::setprecision(2) << t / base << "x)";
      out << " |";
    }
    out << "\n";
  }
  out << "\n## Accuracy per epoch (mean over seeds)\n\n";
  for (const auto& m : r.results) {
    out << "- " << m.name << "/" << m.bits << "b: before " << std::setprecision(2) << m.before;
    for (const auto& sr : m.schemes) {
      out << "; " << sr.scheme << ":";
      for (std::size_t e = 0; e < sr.accuracy[0].size(); ++e) {
        std::vector<double> at;
        for (const auto& a : sr.accuracy) at.push_back(a[e]);
        out << " " << summarize(at).mean;
      }
    }
    out << "  \n  ![" << m.name << "](" << o.prefix << "_" << m.name << "_" << m.bits
        << "b.png)\n";
  }
}

// Accuracy against epoch per scheme (epoch 0 = before retraining), one PNG per multiplier.
void plot(const multiplier_result& m, const options& o) {
  const std::string stem = concat(o.prefix, "_", m.name, "_", m.bits, "b");
  const fs::path dat = o.out / (stem + ".dat"), png = o.out / (stem + ".png");
  {
    std::ofstream out(dat);
    out << "# epoch";
    for (const auto& s : m.schemes) out << " " << s.scheme << "_mean " << s.scheme << "_std";
    out << "\n0";
    for (std::size_t s = 0; s < m.schemes.size(); ++s) out << " " << m.before << " 0";
    out << "\n";
    for (std::size_t e = 0; e < m.schemes[0].accuracy[0].size(); ++e) {
      out << e + 1;
      for (const auto& s : m.schemes) {
        std::vector<double> at;
        for (const auto& a : s.accuracy) at.push_back(a[e]);
        const auto st = summarize(at);
        out << " " << st.mean << " " << st.std;
      }
      out << "\n";
    }
  }
  std::ostringstream gp;
  gp << "set terminal pngcairo size 720,480; set output '" << png.string() << "';"
     << "set title '" << m.name << " (" << m.bits << "-bit): test accuracy while retraining';"
     << "set xlabel 'epoch (0 = before retraining)'; set ylabel 'accuracy (%)';"
     << "set key bottom right; set grid; plot ";
  for (std::size_t s = 0; s < m.schemes.size(); ++s)
    gp << (s ? ", " : "") << "'" << dat.string() << "' using 1:" << 2 + 2 * s << ":" << 3 + 2 * s
       << " with yerrorlines title '" << m.schemes[s].scheme << "'";
  const std::string script = gp.str();
  const fs::path gp_file = o.out / (stem + ".gp");
  std::ofstream(gp_file) << script << "\n";
  if (std::system(concat("gnuplot '", gp_file.string(), "' 2>/dev/null").c_str()) != 0) {
    // Older gnuplot builds without cairo: fall back to the libgd terminal.
    std::string fallback = script;
    fallback.replace(fallback.find("pngcairo"), 8, "png");
    std::ofstream(gp_file) << fallback << "\n";
    if (std::system(concat("gnuplot '", gp_file.string(), "'").c_str()) != 0)
      std::cerr << "retrain: gnuplot failed; the data is in " << dat << "\n";
  }
}

// ---- command line -----------------------------------------------------------------------------

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

void usage() {
  std::cout <<
      R"(usage: retrain [options]
  --full                 the whole grid (5 multipliers x 3 schemes x seeds; see docs/results.md)
  --multipliers a,b,...  exact, mul8u_17C8, trunc8, drum3, mitchell   (default: mitchell)
  --schemes a,b,...      ste, lut1d, lut2d                            (default: all three)
  --bits 8[,7]           operand widths (mul8u_17C8 and trunc8 are 8-bit tables)
  --exact-bits 7[,6]     widths evaluated quantized on the exact multiplier only (--full: 7)
  --epochs N             retraining epochs (default 2); the lr is halved after a third
                         and again after two thirds of them
  --seeds N              seeds per configuration (default 1)
  --train-subset N       first N training images (default 8000; 0 = all 60000)
  --test-subset N        first N test images (default 0 = all 10000)
  --pretrain-epochs N    float pretraining epochs when no cached weights exist (default 4)
  --hws N                LUT-2D half window (default: 32 for 8-bit, 16 for 7-bit)
  --lr X                 initial learning rate (default 1e-3)
  --threads N            torch and amgrad threads (default 1: on a busy 2-core machine two
                         spinning OpenMP pools cost more than they give)
  --data DIR             Fashion-MNIST IDX .gz files (default /usr/share/datasets/fashion-mnist)
  --reference DIR        published DATE'25 tables (mul8u_17C8, 8-column truncation)
  --out DIR              where results go (default ./retrain-results)
  --prefix NAME          file name prefix (default results)
  --cache FILE           float weights (default <out>/lenet5_float.pt)
)";
}

options parse(int argc, char** argv, std::string& command) {
  options o;
  command = "retrain";
  bool explicit_epochs = false, explicit_seeds = false, explicit_subset = false,
       explicit_mults = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    command += " " + a;
    auto value = [&]() -> std::string {
      amgrad::detail::require(i + 1 < argc, "retrain", a, " needs a value");
      command += std::string(" ") + argv[i + 1];
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else if (a == "--full") o.full = true;
    else if (a == "--multipliers") o.multipliers = split(value()), explicit_mults = true;
    else if (a == "--schemes") o.schemes = split(value());
    else if (a == "--bits") {
      o.bits.clear();
      for (const auto& b : split(value())) o.bits.push_back(std::stoi(b));
    } else if (a == "--exact-bits") {
      for (const auto& b : split(value())) o.exact_bits.push_back(std::stoi(b));
    } else if (a == "--epochs") o.epochs = std::stoi(value()), explicit_epochs = true;
    else if (a == "--seeds") o.seeds = std::stoi(value()), explicit_seeds = true;
    else if (a == "--train-subset") o.train_subset = std::stoll(value()), explicit_subset = true;
    else if (a == "--test-subset") o.test_subset = std::stoll(value());
    else if (a == "--pretrain-epochs") o.pretrain_epochs = std::stoi(value());
    else if (a == "--hws") o.hws = std::stoi(value());
    else if (a == "--lr") o.lr = std::stod(value());
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--data") o.data = value();
    else if (a == "--reference") o.reference = value();
    else if (a == "--out") o.out = value();
    else if (a == "--prefix") o.prefix = value();
    else if (a == "--cache") o.cache = value();
    else amgrad::detail::fail("retrain", "unknown option ", a, " (see --help)");
  }
  if (o.full) {  // budgeted for ~45 minutes on 2 cores; explicit options still win
    if (!explicit_mults) o.multipliers = {"exact", "mul8u_17C8", "trunc8", "drum3", "mitchell"};
    if (!explicit_epochs) o.epochs = 3;
    if (!explicit_seeds) o.seeds = 3;
    if (!explicit_subset) o.train_subset = 12000;
    if (o.exact_bits.empty()) o.exact_bits = {7};
  }
  amgrad::detail::require(o.epochs > 0 && o.seeds > 0 && o.threads > 0, "retrain",
                          "epochs, seeds and threads must be positive");
  if (o.cache.empty()) o.cache = o.out / "lenet5_float.pt";
  return o;
}

dataset head(const dataset& d, std::int64_t n) {
  if (n <= 0 || n >= d.images.size(0)) return d;
  return {d.images.slice(0, 0, n).clone(), d.labels.slice(0, 0, n).clone()};
}

}  // namespace

int main(int argc, char** argv) try {
  std::string command;
  const options o = parse(argc, argv, command);
  // Every batch allocates and frees the same few MiB-sized buffers (im2col codes, gradients).
  // glibc returns such blocks to the OS each time, and the page faults of re-touching them cost
  // more than the AppMult GEMMs on a VM (measured: conv1 backward 45 ms -> 11 ms). Keep them.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  torch::set_num_threads(o.threads);
  fs::create_directories(o.out);

  const dataset full_train = load_split(o.data, "train");
  const dataset train = head(full_train, o.train_subset);
  const dataset test = head(load_split(o.data, "t10k"), o.test_subset);
  const auto registry = make_registry(o);

  report r;
  r.command = command;
  {
    std::ostringstream s;
    s << "Settings: LeNet-5 (conv 1-6-16, fc 400-120-84-10), AppMult in all 5 conv/linear "
         "layers; activations per tensor (unsigned, zero point, EMA range), weights per output "
         "channel; Adam, lr per epoch";
    for (int e = 0; e < o.epochs; ++e) s << (e ? ", " : " ") << lr_at(o, e);
    s << ", batch " << batch_size << "; " << o.epochs << " retraining epoch(s) on "
      << train.images.size(0) << (train.images.size(0) < 60000 ? " (a subset)" : "")
      << " training images, test on " << test.images.size(0) << " images; " << o.seeds
      << " seed(s) (the seed sets the data order); LUT-2D HWS "
      << (o.hws == amgrad::auto_hws ? "32 (8-bit) / 16 (7-bit)" : std::to_string(o.hws))
      << ", LUT-1D rule signed_range; " << o.threads << " threads.";
    r.settings = s.str();
  }
  std::cout << r.settings << "\n";

  // Float model: cached, or trained once on the full training set.
  LeNet5 float_net;
  if (fs::exists(o.cache)) {
    torch::load(float_net, o.cache.string());
    std::cout << "float weights loaded from " << o.cache << "\n";
  } else {
    torch::manual_seed(0);
    float_net = LeNet5();
    torch::optim::Adam opt(float_net->parameters(), torch::optim::AdamOptions(1e-3));
    std::mt19937_64 rng(0);
    for (int e = 0; e < o.pretrain_epochs; ++e) {
      const auto st = train_epoch(float_net, full_train, opt, rng);
      std::cout << "[float] epoch " << e + 1 << "/" << o.pretrain_epochs << " loss " << st.loss
                << " test " << evaluate(float_net, test) << "% (" << st.seconds << " s)"
                << std::endl;
    }
    torch::save(float_net, o.cache.string());
  }
  r.float_accuracy = evaluate(float_net, test);
  std::cout << "float accuracy " << r.float_accuracy << "%\n";

  // The quantization-only baseline: the float weights on the exact multiplier, no retraining.
  auto evaluate_quantized_exact = [&](int bits) {
    LeNet5 net;
    copy_weights(net, float_net);
    net->set_backend(registry.make("exact", bits, "ste"));
    calibrate(net, train, o.calibration_batches);
    r.quantized_exact[bits] = evaluate(net, test);
    std::cout << "quantized " << bits << "-bit, exact multiplier: " << r.quantized_exact[bits]
              << "%" << std::endl;
  };
  for (int bits : o.bits) {
    evaluate_quantized_exact(bits);

    for (const auto& mult : o.multipliers) {
      if (bits != 8 && (mult == "mul8u_17C8" || mult == "trunc8")) continue;  // 8-bit tables
      multiplier_result mr{mult, bits, 0.0, 0.0, {}};
      {
        const auto be = registry.make(mult, bits, "ste");
        LeNet5 net;
        net->set_backend(be);
        copy_weights(net, float_net);
        net->set_backend(be);
        calibrate(net, train, o.calibration_batches);
        mr.before = evaluate(net, test);
      }
      for (const auto& scheme : o.schemes) {
        const auto be = registry.make(mult, bits, scheme, o.hws);
        const double max_product = static_cast<double>((1 << bits) - 1) * ((1 << bits) - 1);
        mr.nmed = 100.0 * amgrad::metrics(be->lut()).med / max_product;
        scheme_result sr{scheme, {}, {}, {}};
        for (int seed = 0; seed < o.seeds; ++seed) {
          LeNet5 run;
          copy_weights(run, float_net);
          run->set_backend(be);
          torch::manual_seed(static_cast<std::uint64_t>(seed));
          std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(seed));
          calibrate(run, train, o.calibration_batches);
          torch::optim::Adam opt(run->parameters(), torch::optim::AdamOptions(o.lr));
          std::vector<double> acc, loss;
          for (int e = 0; e < o.epochs; ++e) {
            set_lr(opt, lr_at(o, e));
            const auto st = train_epoch(run, train, opt, rng);
            acc.push_back(evaluate(run, test));
            loss.push_back(st.loss);
            sr.seconds.push_back(st.seconds);
            std::cout << "[" << mult << "/" << bits << "b/" << scheme << " seed " << seed << "] epoch " << e + 1 << "/"
                      << o.epochs << " lr " << lr_at(o, e) << " loss " << std::setprecision(4)
                      << st.loss << " test " << acc.back() << "% (" << std::setprecision(3)
                      << st.seconds << " s)" << std::endl;
          }
          sr.accuracy.push_back(acc);
          sr.loss.push_back(loss);
        }
        mr.schemes.push_back(std::move(sr));
      }
      r.results.push_back(std::move(mr));
      // Write after every multiplier, so a long run leaves partial results behind.
      write_json(r, o.out / (o.prefix + ".json"));
      write_markdown(r, o, o.out / (o.prefix + ".md"));
      plot(r.results.back(), o);
    }
  }
  for (int bits : o.exact_bits) evaluate_quantized_exact(bits);
  write_json(r, o.out / (o.prefix + ".json"));
  write_markdown(r, o, o.out / (o.prefix + ".md"));
  std::cout << "\nresults: " << (o.out / (o.prefix + ".md")).string() << "\n\n";
  std::cout << std::ifstream(o.out / (o.prefix + ".md")).rdbuf();
  return 0;
} catch (const std::exception& e) {
  std::cerr << "retrain: " << e.what() << "\n";
  return 1;
}
