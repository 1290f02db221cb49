// retrain: quantize a CNN trained on Fashion-MNIST, run its conv layers (or all of its layers) on
// an approximate multiplier (AppMult), and retrain it with STE, LUT-1D and LUT-2D gradients.
//
//   retrain                       the flagship: the multiplier and net where LUT-2D's gain is
//                                 clearest in docs/results.md (truncated:7 at 7 bits, LeNet-5)
//   retrain --table F --model M   any table file (DATE'25, ApproxTorch, TFApprox), any built-in
//   retrain --tune-hws            pick LUT-2D's half window per multiplier (smallest train loss)
//   retrain --probe               gradient fidelity of each scheme against the smoothed loss
//   retrain --merge a.tsv,b.tsv   one report from runs made in parallel (--shard i/n)
//   retrain --help                every option
//
// Outputs (in --out): <prefix>.md (tables), .json, .tsv (records, for --merge), and gnuplot
// PNGs: accuracy against epoch per multiplier, paired differences per setting.
#include <malloc.h>

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
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/table/io.hpp"
#include "amgrad/table/metrics.hpp"
#include "amgrad/torch/torch.hpp"
#include "data.hpp"
#include "nets.hpp"
#include "probe.hpp"
#include "report.hpp"
#include "train.hpp"

namespace fs = std::filesystem;
using amgrad::concat;
using namespace retrain;

namespace {

// ---- multipliers -------------------------------------------------------------------------------

// One multiplier of the run: a table read from a file, or a built-in model at one width.
struct multiplier_job {
  std::string name;  // label in reports: "mul8u_17C8", "drum:3"
  amgrad::product_table lut;
  int published_hws = 0;  // from a DATE'25 file name (..._lutfp+bp_avg_16_16...), 0: none
  int bits() const { return lut.format().bits; }
};

// "mul8u_17C8_lutfp+bp_avg_16_16.txt.gz" -> "mul8u_17C8"; "t.bin" -> "t".
std::string table_stem(const fs::path& file) {
  std::string name = file.filename().string();
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  if (const auto at = name.find("_lutfp"); at != std::string::npos) return name.substr(0, at);
  if (const auto dot = name.rfind('.'); dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

int published_hws_of(const fs::path& file) {
  static const std::regex pattern("bp_avg_([0-9]+)_([0-9]+)");
  std::smatch m;
  const std::string name = file.filename().string();
  return std::regex_search(name, m, pattern) ? std::stoi(m[1]) : 0;
}

// --table FILE[:NAME]: the whole argument when it names a file, else split at the last ':'.
multiplier_job table_job(const std::string& arg) {
  std::string file = arg, name;
  if (!fs::exists(arg))
    if (const auto colon = arg.rfind(':'); colon != std::string::npos && colon > 0) {
      file = arg.substr(0, colon);
      name = arg.substr(colon + 1);
      amgrad::require(!name.empty(), "retrain", "--table ", arg, ": empty name after ':'");
    }
  amgrad::require(fs::exists(file), "retrain", "--table ", file, ": no such file");
  amgrad::require(fs::is_regular_file(file), "retrain", "--table ", file, ": not a regular file");
  multiplier_job job;
  job.name = name.empty() ? table_stem(file) : name;
  try {
    job.lut = amgrad::read_product_table(file);
  } catch (const std::exception& e) {
    amgrad::fail("retrain", "--table ", file, ": not a product table in any of the three formats "
                 "(DATE'25 text, ApproxTorch, TFApprox): ", e.what());
  }
  job.published_hws = published_hws_of(file);
  return job;
}

multiplier_job model_job(const std::string& spec, int bits) {
  amgrad::require(bits >= amgrad::min_bits && bits <= amgrad::max_bits, "retrain", "--model ",
                  spec, ": width ", bits, " is outside [", amgrad::min_bits, ", ",
                  amgrad::max_bits, "]");
  multiplier_job job;
  job.name = spec;
  try {
    job.lut = amgrad::make_product_table(amgrad::parse_model_spec(spec),
                                         amgrad::operand_format{bits, false});
  } catch (const std::exception& e) {
    amgrad::fail("retrain", "--model ", spec, " at ", bits, " bits: ", e.what(),
                 " (built-in: ", amgrad::builtin_model_usage(), ")");
  }
  return job;
}

// The published DATE'25 tables by their short names (legacy --multipliers).
std::optional<fs::path> published_file(const fs::path& dir, const std::string& short_name) {
  const std::map<std::string, std::string> stems = {
      {"mul8u_17C8", "mul8u_17C8"},
      {"mul7u_08E", "mul7u_08E"},
      {"trunc8", "8_8_U_SP_WT_CL_GenMul_vertical_truncation_8cols"}};
  const auto it = stems.find(short_name);
  if (it == stems.end()) return std::nullopt;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir)) {
      const auto name = e.path().filename().string();
      if (name.rfind(it->second + "_lutfp", 0) == 0) return e.path();
    }
  amgrad::fail("retrain", "no table ", it->second, "_lutfp*.txt.gz in ", dir.string(),
               " (pass --reference DIR, or --table FILE)");
}

// ---- options -----------------------------------------------------------------------------------

struct options {
  std::vector<std::string> tables;  // --table arguments
  std::vector<std::string> models;  // --model specs
  std::vector<std::string> legacy;  // --multipliers items
  bool explicit_multipliers = false;
  std::vector<std::string> schemes{"ste", "lut1d", "lut2d"};
  double rank_tolerance = 0.01;  // lut2d_lowrank: relative Frobenius error per table
  int rank = 0;                  // lut2d_lowrank: > 0 fixes the rank
  int tune_seed = 0;             // the HWS search's seed (data order and initialisation)
  std::vector<int> bits{8};
  std::vector<int> exact_bits;
  net_spec net{"lenet", 16};
  approx_mode approx = approx_mode::all;
  int epochs = 2;
  int seeds = 1;
  std::int64_t train_subset = 4000;  // 0: all 60000
  std::int64_t test_subset = 0;      // 0: all 10000
  std::int64_t max_batches = 0;      // per epoch and calibration; 0: no limit (tests)
  std::int64_t calibration_batches = 0;  // 0: one pass over the training subset
  int pretrain_epochs = 4;
  std::string hws_mode = "published";  // published | auto | N
  bool explicit_hws = false;
  fs::path hws_file;
  bool tune_hws = false;
  std::vector<int> tune_values{1, 2, 4, 8, 16, 32, 64};
  int tune_epochs = 5;
  std::int64_t tune_subset = 2000;
  bool probe = false;
  probe_options probe_opts;
  double lr = 1e-3;
  int threads = 1;
  int shard = 0, shards = 1;
  std::string tag;
  std::vector<fs::path> merge;
  fs::path data = AMGRAD_FASHION_MNIST_DIR;
  fs::path reference = AMGRAD_REFERENCE_DIR;
  fs::path out = "retrain-results";
  std::string prefix = "results";
  fs::path cache;  // float weights; default <out>/<net>_float.pt
  bool full = false;
};

std::vector<std::string> split(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

// A comma list of model specs whose parameters are comma lists themselves ("bam:8,2,drum:3",
// "bam:4,6@7"): an item that is a bare number continues the previous spec.
std::vector<std::string> split_specs(const std::string& s) {
  std::vector<std::string> out;
  for (const auto& item : split(s)) {
    // "2" or "2@7" (a last parameter with a width suffix)
    const bool number = item.find_first_not_of("0123456789-@") == std::string::npos && item[0] != '@';
    if (number && !out.empty())
      out.back() += "," + item;
    else
      out.push_back(item);
  }
  return out;
}

int to_int(const std::string& option, const std::string& v) {
  int x = 0;
  std::size_t used = 0;
  try {
    x = std::stoi(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  amgrad::require(used == v.size() && !v.empty(), "retrain", option, " ", v, ": not an integer");
  return x;
}
double to_double(const std::string& option, const std::string& v) {
  double x = 0;
  std::size_t used = 0;
  try {
    x = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  amgrad::require(used == v.size() && !v.empty(), "retrain", option, " ", v, ": not a number");
  return x;
}

void usage() {
  std::cout << R"(usage: retrain [options]
Retrains a quantized CNN on Fashion-MNIST whose multiplications run on an approximate multiplier,
with STE, LUT-1D and LUT-2D gradients, and reports paired accuracy differences.

Multipliers (several of each; repeat the option or give a comma list):
  --table FILE[:NAME]    a product table in any of the three formats (DATE'25 text or .gz,
                         ApproxTorch, TFApprox); width and signedness come from the file; NAME
                         defaults to the file's stem before "_lutfp" (mul8u_17C8)
  --model NAME[:PARAMS][@B]  a built-in model at width B, or at every --bits width: )"
            << amgrad::builtin_model_usage() << R"(
                         e.g. drum:3, bam:8,2, truncated:7@7, perforated:0,2
  --multipliers a,b,...  the published tables by short name (mul8u_17C8, mul7u_08E, trunc8, read
                         from --reference) and model specs
  (none given: the flagship, --model truncated:7@7 --hws 1; see README)
  --bits 8[,7]           widths of the --model multipliers (default 8)
  --exact-bits 7[,6]     extra widths evaluated quantized on the exact multiplier only

Network and training:
  --net lenet|vgg|vggW   LeNet-5, or the VGG-style net with BatchNorm (6 conv 3x3, widths W-W-
                         2W-2W-4W-4W; vgg = vgg8) (default lenet)
  --approx conv|all      AppMult in the conv layers only (DATE'25) or in every layer (default all)
  --schemes a,b,...      )" << amgrad::nn::runtime_scheme_usage() << R"( (default: ste,lut1d,lut2d;
                         lut2d_lowrank where amgrad found LAPACKE: LUT-2D's tables by truncated
                         SVD, with the same HWS as lut2d)
  --rank-tol X           lut2d_lowrank: per table, the smallest rank within relative Frobenius
                         error X (default 0.01)
  --rank R               lut2d_lowrank: rank R instead (reported as lut2d_lowrank_rR)
  --epochs N             retraining epochs (default 2; 0: report before-retraining accuracy
                         only); Adam, lr halved after a third and after two thirds of them
  --lr X                 initial learning rate, the same for every scheme (default 1e-3)
  --seeds N              seeds per configuration (default 1); a seed sets the data order
  --train-subset N       first N training images (default 4000; 0 = all 60000)
  --test-subset N        first N test images (default 0 = all 10000)
  --calibration-batches N  batches of the calibration pass (default 0: one pass over the
                         training subset); sets activation ranges and BatchNorm statistics
  --pretrain-epochs N    float pretraining epochs on all 60000 images when no cache (default 4)
  --cache FILE           float weights (default <out>/<net>_float.pt)

LUT-2D's half window (HWS):
  --hws published|auto|N the published value of a DATE'25 file where there is one, else the
                         width default 2^(B-3) (published, the default); auto: the width
                         default; N: for every multiplier
  --tune-hws             the authors' search: retrain LUT-2D once per HWS and pick the smallest
                         training loss of the last epoch (used for LUT-2D in this run)
  --tune-values 1,2,...  the candidates (default 1,2,4,8,16,32,64; those that fit the width)
  --tune-epochs N        epochs of each candidate (default 5)
  --tune-subset N        training images of each candidate (default 2000)
  --tune-seed N          the search's seed: its data order and start (default 0; give each
                         seed its own --tag to keep the searches apart in a merge)
  --hws-file FILE.tsv    take the picks of an earlier --tune-hws run (its .tsv)

Gradient-fidelity probe:
  --probe                before retraining, compare each scheme's weight and input gradients
                         per layer with the Gaussian-smoothed gradient of the AppMult net's loss
  --probe-samples N      smoothing directions (default 256)
  --probe-sigma 1,4      smoothing widths in quantization steps (default 1,4)
  --probe-batch N        images in the probe's batch (default 64)

Running and reporting:
  --threads N            torch and amgrad threads (default 1: on a busy 2-core machine two
                         spinning OpenMP pools cost more than they give)
  --shard I/N            run only the multipliers I, I+N, I+2N... (for parallel processes)
  --merge a.tsv,b.tsv    no training: merge the records of earlier runs into one report
  --tag NAME             appended to the setting's key (ablations)
  --max-batches N        at most N batches per epoch and calibration (quick tests)
  --data DIR             Fashion-MNIST IDX .gz files (default /usr/share/datasets/fashion-mnist)
  --reference DIR        the published DATE'25 tables
  --out DIR              where results go (default ./retrain-results)
  --prefix NAME          file name prefix (default results)
  --full                 one setting of the grid (docs/results.md): its 10 multipliers, 3 epochs
                         on 4000 images, 3 seeds, test on 4000, HWS search (--tune-hws); the
                         whole grid is examples/libtorch/grid.sh
)";
}

options parse(int argc, char** argv, std::string& command) {
  options o;
  command = "retrain";
  bool explicit_epochs = false, explicit_seeds = false, explicit_subset = false,
       explicit_test_subset = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    command += " " + a;
    auto value = [&]() -> std::string {
      amgrad::require(i + 1 < argc, "retrain", a, " needs a value");
      command += std::string(" ") + argv[i + 1];
      return argv[++i];
    };
    auto int_list = [&](const std::string& v) {
      std::vector<int> out;
      for (const auto& b : split(v)) out.push_back(to_int(a, b));
      return out;
    };
    if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else if (a == "--full") o.full = true;
    else if (a == "--table") {
      for (const auto& t : split(value())) o.tables.push_back(t);
      o.explicit_multipliers = true;
    } else if (a == "--model") {
      for (const auto& m : split_specs(value())) o.models.push_back(m);
      o.explicit_multipliers = true;
    } else if (a == "--multipliers") {
      for (const auto& m : split_specs(value())) o.legacy.push_back(m);
      o.explicit_multipliers = true;
    } else if (a == "--schemes") {
      o.schemes = split(value());
      for (const auto& s : o.schemes)  // throws for an unknown name or one this build lacks
        amgrad::nn::with_runtime_scheme(s, {}, [](auto) {});
    } else if (a == "--bits") o.bits = int_list(value());
    else if (a == "--exact-bits") o.exact_bits = int_list(value());
    else if (a == "--net") o.net = parse_net(value());
    else if (a == "--approx") o.approx = parse_approx(value());
    else if (a == "--epochs") o.epochs = to_int(a, value()), explicit_epochs = true;
    else if (a == "--seeds") o.seeds = to_int(a, value()), explicit_seeds = true;
    else if (a == "--train-subset") o.train_subset = to_int(a, value()), explicit_subset = true;
    else if (a == "--test-subset") o.test_subset = to_int(a, value()), explicit_test_subset = true;
    else if (a == "--max-batches") o.max_batches = to_int(a, value());
    else if (a == "--calibration-batches") o.calibration_batches = to_int(a, value());
    else if (a == "--pretrain-epochs") o.pretrain_epochs = to_int(a, value());
    else if (a == "--hws") {
      o.hws_mode = value();
      o.explicit_hws = true;
      if (o.hws_mode != "published" && o.hws_mode != "auto")
        amgrad::require(to_int(a, o.hws_mode) >= 0, "retrain", "--hws must be positive");
    } else if (a == "--hws-file") o.hws_file = value();
    else if (a == "--tune-hws") o.tune_hws = true;
    else if (a == "--tune-values") o.tune_values = int_list(value());
    else if (a == "--tune-epochs") o.tune_epochs = to_int(a, value());
    else if (a == "--tune-subset") o.tune_subset = to_int(a, value());
    else if (a == "--tune-seed") o.tune_seed = to_int(a, value());
    else if (a == "--rank-tol") o.rank_tolerance = to_double(a, value());
    else if (a == "--rank") o.rank = to_int(a, value());
    else if (a == "--probe") o.probe = true;
    else if (a == "--probe-samples") o.probe_opts.samples = to_int(a, value());
    else if (a == "--probe-sigma") {
      o.probe_opts.sigmas.clear();
      for (const auto& s : split(value())) o.probe_opts.sigmas.push_back(to_double(a, s));
    } else if (a == "--probe-batch") o.probe_opts.batch = to_int(a, value());
    else if (a == "--lr") o.lr = to_double(a, value());
    else if (a == "--threads") o.threads = to_int(a, value());
    else if (a == "--shard") {
      const auto v = value();
      const auto slash = v.find('/');
      amgrad::require(slash != std::string::npos, "retrain", "--shard ", v, ": expected I/N");
      o.shard = to_int(a, v.substr(0, slash));
      o.shards = to_int(a, v.substr(slash + 1));
      amgrad::require(o.shards > 0 && o.shard >= 0 && o.shard < o.shards, "retrain", "--shard ", v,
                      ": expected 0 <= I < N");
    } else if (a == "--merge") {
      for (const auto& f : split(value())) o.merge.push_back(f);
    } else if (a == "--tag") o.tag = value();
    else if (a == "--data") o.data = value();
    else if (a == "--reference") o.reference = value();
    else if (a == "--out") o.out = value();
    else if (a == "--prefix") o.prefix = value();
    else if (a == "--cache") o.cache = value();
    else amgrad::fail("retrain", "unknown option ", a, " (see --help)");
  }
  if (o.full) {  // one setting of the grid (examples/libtorch/grid.sh); explicit options win
    if (!o.explicit_multipliers)
      o.legacy = {"trunc8",    "mul8u_17C8",      "mul7u_08E",      "truncated:9",
                  "bam:4,8",   "drum:3",          "perforated:4,2", "truncated:7@7",
                  "perforated:2,2@7", "truncated:5@6"};
    if (!explicit_epochs) o.epochs = 3;
    if (!explicit_seeds) o.seeds = 3;
    if (!explicit_subset) o.train_subset = 4000;
    if (!explicit_test_subset) o.test_subset = 4000;
    if (!o.explicit_hws && o.hws_file.empty()) o.tune_hws = true;
  }
  amgrad::require(o.rank >= 0 && std::isfinite(o.rank_tolerance) && o.rank_tolerance >= 0 &&
                      o.rank_tolerance < 1,
                  "retrain", "--rank must be >= 0 and --rank-tol in [0, 1)");
  amgrad::require(o.tune_seed >= 0, "retrain", "--tune-seed must be >= 0");
  amgrad::require(o.epochs >= 0 && o.seeds > 0 && o.threads > 0 && o.tune_epochs > 0 &&
                      o.probe_opts.samples >= 4 && o.probe_opts.batch > 0,
                  "retrain", "epochs (>= 0), seeds, threads, tune epochs, probe batch and probe "
                  "samples (>= 4) must be positive");
  for (int b : o.bits)
    amgrad::require(b >= amgrad::min_bits && b <= amgrad::max_bits, "retrain", "--bits ", b,
                    " is outside [", amgrad::min_bits, ", ", amgrad::max_bits, "]");
  if (o.cache.empty()) o.cache = o.out / (o.net.name() + "_float.pt");
  return o;
}

// The flagship (README, Quick start): where the grid's LUT-2D gain is clearest (docs/results.md,
// LeNet-5 with the AppMult in every layer): a 7-bit multiplier without its 7 least significant
// partial-product columns, with the half window the HWS search picked for it (1).
void flagship_defaults(options& o) {
  o.models = {"truncated:7@7"};
  if (!o.explicit_hws) o.hws_mode = "1";
}

std::vector<multiplier_job> jobs_of(const options& o) {
  std::vector<multiplier_job> jobs;
  for (const auto& t : o.tables) jobs.push_back(table_job(t));
  auto add_model = [&](const std::string& m) {
    if (const auto at = m.find('@'); at != std::string::npos)  // "truncated:7@7": one width
      jobs.push_back(model_job(m.substr(0, at), to_int("--model " + m, m.substr(at + 1))));
    else
      for (int b : o.bits) jobs.push_back(model_job(m, b));
  };
  for (const auto& item : o.legacy) {
    if (const auto file = published_file(o.reference, item)) {
      auto job = table_job(file->string());
      job.name = item;
      jobs.push_back(std::move(job));
    } else {
      add_model(item);
    }
  }
  for (const auto& m : o.models) add_model(m);
  return jobs;
}

// A scheme's name in the records: lut2d_lowrank carries its rank setting unless it is the
// default (tolerance 1%), so runs with different ranks can be merged into one table.
std::string scheme_label(const std::string& scheme, const options& o) {
  if (scheme != amgrad::lut2d_lowrank<>::name) return scheme;
  if (o.rank > 0) return concat(scheme, "_r", o.rank);
  return o.rank_tolerance == 0.01 ? scheme : concat(scheme, "_tol", o.rank_tolerance);
}

// The ranks a low-rank backend runs with, per gradient table (the same in every layer: the layers
// share the multiplier), and the relative errors they leave.
void report_ranks(const amgrad::product_table& lut, const amgrad::nn::scheme_options& so,
                  const std::string& key) {
  amgrad::lut2d_lowrank<> scheme;
  scheme.hws = so.hws;
  scheme.tolerance = so.rank_tolerance;
  scheme.rank = so.rank;
  const auto low = scheme.low_rank(lut);
  std::cout << "[" << key << "b/lut2d_lowrank] HWS " << so.hws << ": rank dA " << low.da.rank
            << " (relative error " << std::setprecision(3) << low.da.relative_error()
            << "), dB " << low.db.rank << " (" << low.db.relative_error() << ")"
            << std::setprecision(6) << std::endl;
}

std::map<std::string, int> read_hws_file(const fs::path& path) {
  const auto r = read_tsv(path);
  amgrad::require(!r.tunes.empty(), "retrain", "--hws-file ", path.string(),
                  " holds no HWS search (run retrain --tune-hws first)");
  return hws_picks(r.tunes);
}

}  // namespace

int main(int argc, char** argv) try {
  const auto start = std::chrono::steady_clock::now();
  std::string command;
  options o = parse(argc, argv, command);
  fs::create_directories(o.out);

  if (!o.merge.empty()) {
    records merged;
    for (const auto& f : o.merge) merged.merge(read_tsv(f));
    merged.commands.push_back(command);
    write_all(merged, o.out, o.prefix);
    std::cout << std::ifstream(o.out / (o.prefix + ".md")).rdbuf();
    return 0;
  }
  if (!o.explicit_multipliers && !o.full) flagship_defaults(o);
  // Every table and spec is read and checked before any data is loaded.
  std::vector<multiplier_job> jobs = jobs_of(o);
  std::map<std::string, int> picks;
  if (!o.hws_file.empty()) picks = read_hws_file(o.hws_file);

  // Every batch allocates and frees the same few MiB-sized buffers (im2col codes, gradients).
  // glibc returns such blocks to the OS each time, and the page faults of re-touching them cost
  // more than the AppMult GEMMs on a VM (measured: conv1 backward 45 ms -> 11 ms). Keep them.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  torch::set_num_threads(o.threads);

  const dataset full_train = load_split(o.data, "train");
  const dataset train = head(full_train, o.train_subset);
  const dataset test = head(load_split(o.data, "t10k"), o.test_subset);

  records rec;
  rec.commands.push_back(command);
  setting_record setting;
  setting.key = concat(o.net.name(), "/", to_string(o.approx), "/e", o.epochs, "/n", train.size(),
                       o.tag.empty() ? "" : "/" + o.tag);
  {
    std::ostringstream s;
    s << o.net.describe() << "; AppMult in "
      << (o.approx == approx_mode::conv ? "the conv layers only (linear layers float)" : "every conv and linear layer")
      << "; activations per tensor (unsigned, zero point, EMA range), weights per output channel; "
         "calibrated by one pass over "
      << (o.calibration_batches > 0 ? concat(o.calibration_batches, " batches of ") : std::string(""))
      << "the training subset (activation ranges, BatchNorm statistics) before retraining; Adam, lr";
    for (int e = 0; e < o.epochs; ++e) s << (e ? ", " : " ") << lr_at(o.lr, o.epochs, e);
    s << " per epoch, batch " << batch_size << "; " << o.epochs << " retraining epoch(s) on "
      << train.size() << (train.size() < 60000 ? " (a subset)" : "")
      << " training images, test on " << test.size() << " images; " << o.seeds
      << " seed(s); LUT-2D HWS: "
      << (o.tune_hws ? "from the search in this run" : !o.hws_file.empty() ? concat("from the search in ", o.hws_file.string()) : o.hws_mode == "published" ? "published value where one exists, else 2^(B-3)" : o.hws_mode == "auto" ? "2^(B-3)" : o.hws_mode)
      << "; LUT-1D rule signed_range; " << o.threads << " thread(s)"
      << (o.max_batches > 0 ? concat("; at most ", o.max_batches, " batches per epoch") : std::string(""))
      << ".";
    setting.description = s.str();
  }
  std::cout << setting.key << ": " << setting.description << "\n";

  // Float model: cached, or trained once on the full training set.
  Net float_net(o.net);
  if (fs::exists(o.cache)) {
    torch::load(float_net, o.cache.string());
    std::cout << "float weights loaded from " << o.cache << "\n";
  } else {
    torch::manual_seed(0);
    float_net = Net(o.net);
    torch::optim::Adam opt(float_net->parameters(), torch::optim::AdamOptions(1e-3));
    std::mt19937_64 rng(0);
    for (int e = 0; e < o.pretrain_epochs; ++e) {
      const auto st = train_epoch(float_net, full_train, opt, rng, o.max_batches);
      std::cout << "[float " << o.net.name() << "] epoch " << e + 1 << "/" << o.pretrain_epochs
                << " loss " << st.loss << " test " << evaluate(float_net, test) << "% ("
                << st.seconds << " s)" << std::endl;
    }
    fs::create_directories(fs::absolute(o.cache).parent_path());
    torch::save(float_net, o.cache.string());
  }
  setting.float_accuracy = evaluate(float_net, test);
  std::cout << "float accuracy " << setting.float_accuracy << "%\n";

  // A copy of the float net on `be`, calibrated.
  auto calibrated = [&](const std::shared_ptr<const amgrad::nn::backend>& be) {
    Net net(o.net);
    copy_state(net, float_net);
    net->set_backend(be, o.approx);
    calibrate(net, train, o.calibration_batches > 0 ? o.calibration_batches : o.max_batches);
    return net;
  };
  auto save = [&](bool plots) {
    rec.settings = {setting};
    rec.walls = {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
    write_all(rec, o.out, o.prefix, plots);
  };

  // The quantization-only baseline: the float weights on the exact multiplier, calibrated.
  std::vector<int> widths = o.exact_bits;
  for (const auto& j : jobs)
    if (std::find(widths.begin(), widths.end(), j.bits()) == widths.end()) widths.push_back(j.bits());
  std::sort(widths.begin(), widths.end());
  for (int b : widths) {
    Net net = calibrated(amgrad::nn::make_backend(amgrad::parse_model_spec("exact"),
                                                  amgrad::operand_format{b, false}, "ste"));
    setting.quantized_exact[b] = evaluate(net, test);
    std::cout << "quantized " << b << "-bit, exact multiplier: " << setting.quantized_exact[b]
              << "%" << std::endl;
  }

  for (std::size_t j = 0; j < jobs.size(); ++j) {
    if (static_cast<int>(j % static_cast<std::size_t>(o.shards)) != o.shard) continue;
    const auto& job = jobs[j];
    const int bits = job.bits();
    const std::string key = concat(job.name, "/", bits);
    multiplier_record mr;
    mr.setting = setting.key;
    mr.name = job.name;
    mr.bits = bits;
    mr.published_hws = job.published_hws;
    const double max_product = std::ldexp(1.0, bits) - 1.0;
    mr.nmed = 100.0 * amgrad::metrics(job.lut).med / (max_product * max_product);
    Net base = calibrated(amgrad::nn::make_backend(job.lut, "ste", amgrad::auto_hws, job.name));
    mr.before = evaluate(base, test);
    rec.multipliers.push_back(mr);
    std::cout << "[" << key << "b] NMED " << std::setprecision(3) << mr.nmed
              << "%, before retraining " << std::setprecision(4) << mr.before << "%" << std::endl;

    // LUT-2D's half window.
    auto fits = [&](int h) { return h >= 0 && 2 * h + 1 <= (1 << bits); };
    if (o.tune_hws) {
      const dataset tune_train = head(train, o.tune_subset);
      for (int h : o.tune_values) {
        if (!fits(h)) continue;
        const auto be = amgrad::nn::make_backend(job.lut, "lut2d", h, job.name);
        Net run(o.net);
        copy_state(run, base);
        run->set_backend(be, o.approx);
        torch::manual_seed(static_cast<std::uint64_t>(o.tune_seed));
        std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(o.tune_seed));
        torch::optim::Adam opt(run->parameters(), torch::optim::AdamOptions(o.lr));
        epoch_stats st;
        for (int e = 0; e < o.tune_epochs; ++e) {
          set_lr(opt, lr_at(o.lr, o.tune_epochs, e));
          st = train_epoch(run, tune_train, opt, rng, o.max_batches);
        }
        tune_record t{setting.key, job.name, bits, h, st.loss, evaluate(run, test)};
        rec.tunes.push_back(t);
        std::cout << "[" << key << "b/tune] HWS " << h << ": last-epoch train loss "
                  << std::setprecision(5) << t.loss << ", test " << std::setprecision(4)
                  << t.accuracy << "%" << std::endl;
      }
    }
    int hws = o.hws_mode == "auto" ? amgrad::default_hws(bits)
              : o.hws_mode == "published"
                  ? (job.published_hws ? job.published_hws : amgrad::default_hws(bits))
                  : std::stoi(o.hws_mode);
    if (o.tune_hws) {
      std::vector<tune_record> mine;
      for (const auto& t : rec.tunes)
        if (t.name == job.name && t.bits == bits) mine.push_back(t);
      if (!mine.empty()) hws = hws_picks(mine).begin()->second;
    } else if (!picks.empty()) {
      const auto it = picks.find(key);
      amgrad::require(it != picks.end(), "retrain", "--hws-file ", o.hws_file.string(),
                      " has no HWS search for ", key, " bits");
      hws = it->second;
    }
    amgrad::require(fits(hws), "retrain", "HWS ", hws, " does not fit a ", bits, "-bit table");

    // Backends by the scheme's label in the records; the LUT-2D family shares the HWS.
    std::vector<std::pair<std::string, std::shared_ptr<const amgrad::nn::backend>>> backends;
    for (const auto& scheme : o.schemes) {
      const amgrad::nn::scheme_options so{uses_hws(scheme) ? hws : amgrad::auto_hws,
                                          o.rank_tolerance, o.rank};
      backends.push_back({scheme_label(scheme, o), amgrad::nn::make_backend(job.lut, scheme, so, job.name)});
      if (scheme == amgrad::lut2d_lowrank<>::name) report_ranks(job.lut, so, key);
    }

    if (o.probe) {
      Net net(o.net);
      copy_state(net, base);
      const auto n = std::min<std::int64_t>(o.probe_opts.batch, train.size());
      const auto t0 = std::chrono::steady_clock::now();
      auto rows = probe_gradients(net, o.approx, backends, train.images.slice(0, 0, n),
                                  train.labels.slice(0, 0, n), o.probe_opts, setting.key,
                                  job.name, bits);
      std::cout << "[" << key << "b/probe] " << rows.size() << " cells in " << std::setprecision(3)
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                << " s" << std::endl;
      rec.probes.insert(rec.probes.end(), rows.begin(), rows.end());
    }

    if (o.epochs > 0)
      for (const auto& [scheme, be] : backends) {
        for (int seed = 0; seed < o.seeds; ++seed) {
          Net run(o.net);
          copy_state(run, base);
          run->set_backend(be, o.approx);
          torch::manual_seed(static_cast<std::uint64_t>(seed));
          std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(seed));
          torch::optim::Adam opt(run->parameters(), torch::optim::AdamOptions(o.lr));
          run_record u{setting.key, job.name, bits, scheme, uses_hws(scheme) ? hws : 0, seed, {}, {}, {}};
          for (int e = 0; e < o.epochs; ++e) {
            const double lr = lr_at(o.lr, o.epochs, e);
            set_lr(opt, lr);
            const auto st = train_epoch(run, train, opt, rng, o.max_batches);
            u.accuracy.push_back(evaluate(run, test));
            u.loss.push_back(st.loss);
            u.seconds.push_back(st.seconds);
            std::cout << "[" << key << "b/" << scheme << " seed " << seed << "] epoch " << e + 1
                      << "/" << o.epochs << " lr " << lr << " loss " << std::setprecision(4)
                      << st.loss << " test " << u.accuracy.back() << "% ("
                      << std::setprecision(3) << st.seconds << " s)" << std::endl;
          }
          rec.runs.push_back(std::move(u));
        }
      }
    save(false);  // after every multiplier, so a long run leaves partial results behind
  }
  save(true);
  std::cout << "\nresults: " << (o.out / (o.prefix + ".md")).string() << "\n\n";
  std::cout << std::ifstream(o.out / (o.prefix + ".md")).rdbuf();
  return 0;
} catch (const std::exception& e) {
  std::cerr << "retrain: " << e.what() << "\n";
  return 1;
}
