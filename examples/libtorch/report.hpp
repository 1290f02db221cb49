#pragma once
// What a retrain run produced, as flat records: written as <prefix>.tsv (one record a line, so
// that runs made in parallel processes can be merged: retrain --merge a.tsv,b.tsv), and
// rendered into <prefix>.md, <prefix>.json and gnuplot PNGs.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "amgrad/error.hpp"

namespace retrain {

namespace fs = std::filesystem;

// ---- records ---------------------------------------------------------------------------------

struct setting_record {  // one (net, approx, budget) setting
  std::string key;       // "lenet5/all/e3/n8000"
  std::string description;
  double float_accuracy = 0;
  std::map<int, double> quantized_exact;  // bits -> accuracy (exact multiplier, calibrated)
};

struct multiplier_record {  // a multiplier in a setting, before retraining
  std::string setting, name;
  int bits = 8;
  double nmed = 0;    // MED / (2^B - 1)^2, %
  double before = 0;  // accuracy after calibration, before retraining
  int published_hws = 0;  // 0: none
};

struct run_record {  // one (setting, multiplier, scheme, seed) retraining run
  std::string setting, name;
  int bits = 8;
  std::string scheme;
  int hws = 0;  // LUT-2D's half window (0: not LUT-2D)
  int seed = 0;
  std::vector<double> accuracy, loss, seconds;  // per epoch
};

struct tune_record {  // one HWS candidate of the search
  std::string setting, name;
  int bits = 8, hws = 0;
  double loss = 0;  // mean training loss of the last epoch
  double accuracy = 0;
};

struct probe_record {  // one (layer, kind, sigma, scheme) cell of the gradient probe
  std::string setting, name;
  int bits = 8;
  std::string layer, kind;  // kind: weight | input
  double sigma = 0;         // smoothing, in quantization steps
  std::string scheme;
  double cos = 0, cos_se = 0, rel_err = 0;
  double dcos = 0, dcos_se = 0;  // cos - cos(ste), paired over samples
  double split_half = 0;         // the signal share E[c1 c2] / E[c^2] (probe.hpp)
  int samples = 0;
  long dim = 0;
};

struct records {
  std::vector<std::string> commands;
  std::vector<setting_record> settings;
  std::vector<multiplier_record> multipliers;
  std::vector<run_record> runs;
  std::vector<tune_record> tunes;
  std::vector<probe_record> probes;
  double wall_seconds = 0;  // summed over the merged processes' wall times
  std::vector<double> walls;

  void merge(const records& o) {
    for (const auto& c : o.commands) commands.push_back(c);
    for (const auto& s : o.settings) {
      bool found = false;
      for (auto& t : settings)
        if (t.key == s.key) {
          found = true;
          for (auto [b, a] : s.quantized_exact) t.quantized_exact[b] = a;
        }
      if (!found) settings.push_back(s);
    }
    for (const auto& m : o.multipliers) {
      bool found = false;
      for (const auto& t : multipliers)
        found |= t.setting == m.setting && t.name == m.name && t.bits == m.bits;
      if (!found) multipliers.push_back(m);
    }
    runs.insert(runs.end(), o.runs.begin(), o.runs.end());
    tunes.insert(tunes.end(), o.tunes.begin(), o.tunes.end());
    probes.insert(probes.end(), o.probes.begin(), o.probes.end());
    walls.insert(walls.end(), o.walls.begin(), o.walls.end());
  }
};

// ---- statistics --------------------------------------------------------------------------------

struct stat {
  double mean = 0, std = 0;
};
inline stat summarize(const std::vector<double>& v) {
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

// Student's t quantile t(0.975, df) for a two-sided 95% interval (df 1..30; 1.96 beyond).
inline double t975(std::size_t df) {
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  return df == 0 ? NAN : df <= 30 ? table[df - 1] : 1.96;
}

struct interval {
  double mean = 0, lo = NAN, hi = NAN;
  std::size_t n = 0;
};
inline interval ci95(const std::vector<double>& d) {
  const auto s = summarize(d);
  interval r{s.mean, NAN, NAN, d.size()};
  if (d.size() > 1) {
    const double half = t975(d.size() - 1) * s.std / std::sqrt(static_cast<double>(d.size()));
    r.lo = s.mean - half;
    r.hi = s.mean + half;
  }
  return r;
}

// A paired difference's mean and 95% confidence interval over seeds: "+0.54 [−0.66, +1.73]";
// with one seed there is no interval.
inline std::string paired_ci(const std::vector<double>& d) {
  const auto c = ci95(d);
  std::ostringstream out;
  out << std::showpos << std::fixed << std::setprecision(2) << c.mean;
  if (d.size() > 1) out << " [" << c.lo << ", " << c.hi << "]";
  return out.str();
}

inline std::string pm(const stat& s, int digits = 2) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << s.mean << " ± " << s.std;
  return out.str();
}

inline std::string fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

// A multiplier's name in file names: "drum:3" -> "drum3", "bam:8,2" -> "bam8-2".
inline std::string file_stem(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == ',') out += '-';
    else if (c == '/' ) out += '_';
    else if (c != ':') out += c;
  }
  return out;
}

// ---- TSV ---------------------------------------------------------------------------------------

inline std::string join(const std::vector<double>& v) {
  std::ostringstream out;
  out << std::setprecision(7);
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? "," : "") << v[i];
  return out.str();
}
inline std::vector<double> doubles(const std::string& s) {
  std::vector<double> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(std::stod(item));
  return out;
}

inline void write_tsv(const records& r, const fs::path& path) {
  std::ofstream out(path);
  out << std::setprecision(7);
  for (const auto& c : r.commands) out << "command\t" << c << "\n";
  for (double w : r.walls) out << "wall\t" << w << "\n";
  for (const auto& s : r.settings) {
    out << "setting\t" << s.key << "\t" << s.description << "\t" << s.float_accuracy << "\t";
    bool first = true;
    for (auto [b, a] : s.quantized_exact) {
      out << (first ? "" : ",") << b << ":" << a;
      first = false;
    }
    out << "\n";
  }
  for (const auto& m : r.multipliers)
    out << "multiplier\t" << m.setting << "\t" << m.name << "\t" << m.bits << "\t" << m.nmed
        << "\t" << m.before << "\t" << m.published_hws << "\n";
  for (const auto& u : r.runs)
    out << "run\t" << u.setting << "\t" << u.name << "\t" << u.bits << "\t" << u.scheme << "\t"
        << u.hws << "\t" << u.seed << "\t" << join(u.accuracy) << "\t" << join(u.loss) << "\t"
        << join(u.seconds) << "\n";
  for (const auto& t : r.tunes)
    out << "tune\t" << t.setting << "\t" << t.name << "\t" << t.bits << "\t" << t.hws << "\t"
        << t.loss << "\t" << t.accuracy << "\n";
  for (const auto& p : r.probes)
    out << "probe\t" << p.setting << "\t" << p.name << "\t" << p.bits << "\t" << p.layer << "\t"
        << p.kind << "\t" << p.sigma << "\t" << p.scheme << "\t" << p.cos << "\t" << p.cos_se
        << "\t" << p.rel_err << "\t" << p.dcos << "\t" << p.dcos_se << "\t" << p.split_half
        << "\t" << p.samples << "\t" << p.dim << "\n";
}

inline records read_tsv(const fs::path& path) {
  constexpr const char* where = "retrain --merge";
  std::ifstream in(path);
  amgrad::require(in.good(), where, "cannot read ", path.string());
  records r;
  std::size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string item; std::getline(ls, item, '\t');) f.push_back(item);
    auto need = [&](std::size_t n) {
      amgrad::require(f.size() >= n, where, path.string(), ":", line_no, ": a '", f[0],
                      "' record needs ", n, " fields, got ", f.size());
    };
    try {
      if (f[0] == "command") {
        need(2);
        r.commands.push_back(f[1]);
      } else if (f[0] == "wall") {
        need(2);
        r.walls.push_back(std::stod(f[1]));
      } else if (f[0] == "setting") {
        need(4);
        setting_record s{f[1], f[2], std::stod(f[3]), {}};
        if (f.size() > 4) {
          std::stringstream qs(f[4]);
          for (std::string item; std::getline(qs, item, ',');) {
            const auto colon = item.find(':');
            if (colon != std::string::npos)
              s.quantized_exact[std::stoi(item.substr(0, colon))] = std::stod(item.substr(colon + 1));
          }
        }
        r.settings.push_back(s);
      } else if (f[0] == "multiplier") {
        need(7);
        r.multipliers.push_back({f[1], f[2], std::stoi(f[3]), std::stod(f[4]), std::stod(f[5]),
                                 std::stoi(f[6])});
      } else if (f[0] == "run") {
        need(8);
        run_record u{f[1], f[2], std::stoi(f[3]), f[4], std::stoi(f[5]), std::stoi(f[6]),
                     doubles(f[7]), f.size() > 8 ? doubles(f[8]) : std::vector<double>{},
                     f.size() > 9 ? doubles(f[9]) : std::vector<double>{}};
        r.runs.push_back(u);
      } else if (f[0] == "tune") {
        need(7);
        r.tunes.push_back({f[1], f[2], std::stoi(f[3]), std::stoi(f[4]), std::stod(f[5]),
                           std::stod(f[6])});
      } else if (f[0] == "probe") {
        need(16);
        probe_record p{f[1], f[2], std::stoi(f[3]), f[4], f[5], std::stod(f[6]), f[7],
                       std::stod(f[8]), std::stod(f[9]), std::stod(f[10]), std::stod(f[11]),
                       std::stod(f[12]), std::stod(f[13]), std::stoi(f[14]), std::stol(f[15])};
        r.probes.push_back(p);
      } else {
        amgrad::fail(where, path.string(), ":", line_no, ": unknown record '", f[0], "'");
      }
    } catch (const std::invalid_argument&) {
      amgrad::fail(where, path.string(), ":", line_no, ": a number does not parse");
    }
  }
  return r;
}

// The HWS each (name, bits) picked in the search: the smallest loss; ties go to the smaller HWS.
inline std::map<std::string, int> hws_picks(const std::vector<tune_record>& tunes) {
  std::map<std::string, std::pair<double, int>> best;
  for (const auto& t : tunes) {
    const auto key = amgrad::concat(t.name, "/", t.bits);
    const auto it = best.find(key);
    if (it == best.end() || t.loss < it->second.first ||
        (t.loss == it->second.first && t.hws < it->second.second))
      best[key] = {t.loss, t.hws};
  }
  std::map<std::string, int> out;
  for (const auto& [k, v] : best) out[k] = v.second;
  return out;
}

// ---- rendering ---------------------------------------------------------------------------------

// The order of schemes in tables: ste, lut1d, lut2d, then any other (the low-rank variants:
// lut2d_lowrank, lut2d_lowrank_r2, ...) by name.
inline std::vector<std::string> ordered_schemes(const std::set<std::string>& present) {
  std::vector<std::string> out;
  for (const char* k : {"ste", "lut1d", "lut2d"})
    if (present.count(k)) out.push_back(k);
  for (const auto& k : present)
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  return out;
}
template <class Map>
std::vector<std::string> ordered_keys(const Map& cells) {
  std::set<std::string> present;
  for (const auto& [k, c] : cells) present.insert(k);
  return ordered_schemes(present);
}
// Schemes that take LUT-2D's half window (its HWS is shown beside the accuracy), and the
// low-rank ones, which are compared with LUT-2D as well as with STE.
inline bool uses_hws(const std::string& k) { return k.rfind("lut2d", 0) == 0; }
inline bool is_low_rank(const std::string& k) { return k.rfind("lut2d_lowrank", 0) == 0; }

struct cell {  // the runs of one (setting, multiplier, scheme)
  std::vector<const run_record*> runs;
  std::vector<double> final_accuracy() const {
    std::vector<double> v;
    for (const auto* r : runs) v.push_back(r->accuracy.empty() ? NAN : r->accuracy.back());
    return v;
  }
  std::vector<double> all_seconds() const {
    std::vector<double> v;
    for (const auto* r : runs) v.insert(v.end(), r->seconds.begin(), r->seconds.end());
    return v;
  }
  const run_record* seed(int s) const {
    for (const auto* r : runs)
      if (r->seed == s) return r;
    return nullptr;
  }
};

// Paired final-accuracy differences a - b over the seeds both have.
inline std::vector<double> paired(const cell& a, const cell& b) {
  std::vector<double> d;
  for (const auto* r : a.runs)
    if (const auto* s = b.seed(r->seed); s && !r->accuracy.empty() && !s->accuracy.empty())
      d.push_back(r->accuracy.back() - s->accuracy.back());
  return d;
}

struct multiplier_view {
  const multiplier_record* m = nullptr;
  std::map<std::string, cell> cells;  // by scheme
  bool hard(const setting_record& s) const {
    const auto it = s.quantized_exact.find(m->bits);
    return it != s.quantized_exact.end() && m->before <= it->second - 20.0;
  }
};

inline std::vector<multiplier_view> views_of(const records& r, const setting_record& s) {
  std::vector<multiplier_view> out;
  for (const auto& m : r.multipliers) {
    if (m.setting != s.key) continue;
    multiplier_view v{&m, {}};
    for (const auto& u : r.runs)
      if (u.setting == s.key && u.name == m.name && u.bits == m.bits) v.cells[u.scheme].runs.push_back(&u);
    for (auto& [k, c] : v.cells)
      std::sort(c.runs.begin(), c.runs.end(),
                [](const run_record* a, const run_record* b) { return a->seed < b->seed; });
    out.push_back(v);
  }
  return out;
}

inline std::vector<std::string> schemes_in(const std::vector<multiplier_view>& views) {
  std::set<std::string> present;
  for (const auto& v : views)
    for (const auto& [k, c] : v.cells) present.insert(k);
  return ordered_schemes(present);
}

inline std::string hws_label(const cell& c) {
  std::set<int> h;
  for (const auto* r : c.runs) h.insert(r->hws);
  std::string out;
  for (int x : h) out += (out.empty() ? "" : "/") + std::to_string(x);
  return out;
}

// Accuracy against epoch per scheme (epoch 0 = before retraining), one PNG per (setting,
// multiplier); and one PNG per setting with the paired differences to STE and their intervals.
inline void run_gnuplot(const fs::path& gp_file, const std::string& script) {
  // The script is kept only when gnuplot fails (the .dat beside it, and --merge, remake a plot).
  std::ofstream(gp_file) << script << "\n";
  if (std::system(amgrad::concat("gnuplot '", gp_file.string(), "' 2>/dev/null").c_str()) != 0) {
    std::string fallback = script;  // older gnuplot builds without cairo: libgd terminal
    if (const auto at = fallback.find("pngcairo"); at != std::string::npos)
      fallback.replace(at, 8, "png");
    std::ofstream(gp_file) << fallback << "\n";
    if (std::system(amgrad::concat("gnuplot '", gp_file.string(), "' 2>/dev/null").c_str()) != 0) {
      std::cerr << "retrain: gnuplot failed; the data and the script are in " << gp_file << "\n";
      return;
    }
  }
  std::error_code ignored;
  fs::remove(gp_file, ignored);
}

inline std::string plot_stem(const std::string& prefix, const setting_record& s,
                             const multiplier_record& m) {
  return amgrad::concat(prefix, "_", file_stem(s.key), "_", file_stem(m.name), "_", m.bits, "b");
}

inline void plot_multiplier(const fs::path& out_dir, const std::string& prefix,
                            const setting_record& s, const multiplier_view& v) {
  const auto schemes = ordered_keys(v.cells);
  if (schemes.empty()) return;
  std::size_t epochs = 0;
  for (const auto& k : schemes)
    for (const auto* r : v.cells.at(k).runs) epochs = std::max(epochs, r->accuracy.size());
  const std::string stem = plot_stem(prefix, s, *v.m);
  const fs::path dat = out_dir / (stem + ".dat"), png = out_dir / (stem + ".png");
  {
    std::ofstream out(dat);
    out << "# epoch";
    for (const auto& k : schemes) out << " " << k << "_mean " << k << "_std";
    out << "\n0";
    for (std::size_t i = 0; i < schemes.size(); ++i) out << " " << v.m->before << " 0";
    out << "\n";
    for (std::size_t e = 0; e < epochs; ++e) {
      out << e + 1;
      for (const auto& k : schemes) {
        std::vector<double> at;
        for (const auto* r : v.cells.at(k).runs)
          if (e < r->accuracy.size()) at.push_back(r->accuracy[e]);
        const auto st = summarize(at);
        out << " " << st.mean << " " << st.std;
      }
      out << "\n";
    }
  }
  std::ostringstream gp;
  gp << "set terminal pngcairo size 720,480; set output '" << png.string() << "';"
     << "set title '" << v.m->name << " (" << v.m->bits << "-bit), " << s.key
     << ": test accuracy while retraining' noenhanced;"
     << "set xlabel 'epoch (0 = before retraining)'; set ylabel 'accuracy (%)';"
     << "set key bottom right; set grid; plot ";
  for (std::size_t i = 0; i < schemes.size(); ++i)
    gp << (i ? ", " : "") << "'" << dat.string() << "' using 1:" << 2 + 2 * i << ":" << 3 + 2 * i
       << " with yerrorlines title '" << schemes[i] << "'";
  run_gnuplot(out_dir / (stem + ".gp"), gp.str());
}

inline void plot_differences(const fs::path& out_dir, const std::string& prefix,
                             const setting_record& s, const std::vector<multiplier_view>& views) {
  const std::string stem = amgrad::concat(prefix, "_", file_stem(s.key), "_differences");
  const fs::path dat = out_dir / (stem + ".dat"), png = out_dir / (stem + ".png");
  std::size_t rows = 0;
  std::ostringstream out;
  {
    out << "# index name lut1d-ste lo hi lut2d-ste lo hi\n";
    for (const auto& v : views) {
      if (!v.cells.count("ste")) continue;
      out << rows << " \"" << v.m->name << "/" << v.m->bits << "b\"";
      for (const char* k : {"lut1d", "lut2d"}) {
        if (!v.cells.count(k)) {
          out << " NaN NaN NaN";
          continue;
        }
        const auto c = ci95(paired(v.cells.at(k), v.cells.at("ste")));
        out << " " << c.mean << " " << (std::isnan(c.lo) ? c.mean : c.lo) << " "
            << (std::isnan(c.hi) ? c.mean : c.hi);
      }
      out << "\n";
      ++rows;
    }
  }
  if (rows == 0) return;
  std::ofstream(dat) << out.str();
  std::ostringstream gp;
  gp << "set terminal pngcairo size 900,480; set output '" << png.string() << "';"
     << "set title '" << s.key << ": final accuracy minus STE (paired, 95% CI)' noenhanced;"
     << "set ylabel 'accuracy difference (points)'; set grid ytics; set key top left;"
     << "set xtics rotate by -30 noenhanced; set xrange [-0.6:" << static_cast<double>(rows) - 0.4 << "];"
     << "set xzeroaxis lt -1;"
     << "plot '" << dat.string() << "' using ($1-0.12):3:4:5:xtic(2) with yerrorbars pt 7 "
     << "title 'lut1d - ste', '' using ($1+0.12):6:7:8 with yerrorbars pt 5 title 'lut2d - ste'";
  run_gnuplot(out_dir / (stem + ".gp"), gp.str());
}

inline void write_markdown(const records& r, const fs::path& out_dir, const std::string& prefix,
                           bool plots) {
  std::ofstream out(out_dir / (prefix + ".md"));
  out << "# Retraining on approximate multipliers (Fashion-MNIST)\n\nMade by";
  for (std::size_t i = 0; i < r.commands.size(); ++i)
    out << (i ? (i + 1 == r.commands.size() ? " and " : ", ") : " ") << "`" << r.commands[i] << "`";
  out << ".";
  if (!r.walls.empty()) {
    double total = 0, longest = 0;
    for (double w : r.walls) total += w, longest = std::max(longest, w);
    out << " Wall time: " << fixed(total / 60, 1) << " process-minutes";
    if (r.walls.size() > 1) out << " in " << r.walls.size() << " processes (the longest " << fixed(longest / 60, 1) << " min)";
    out << ".";
  }
  out << "\n\nPaired differences (`− ste`): same seed, so the same data order and start; mean "
         "[95% confidence interval, Student's t over seeds]. An interval that contains 0 is no "
         "evidence of a difference. *hard*: the multiplier loses at least 20 points against "
         "the exact multiplier at the same width before retraining.\n";
  for (const auto& s : r.settings) {
    const auto views = views_of(r, s);
    const auto schemes = schemes_in(views);
    out << "\n## " << s.key << "\n\n" << s.description << "\n\nFloat accuracy **" << fixed(s.float_accuracy, 2) << "%**";
    for (auto [b, a] : s.quantized_exact)
      out << "; quantized " << b << "-bit on the exact multiplier (calibrated, no retraining) **"
          << fixed(a, 2) << "%**";
    out << ".\n\n";
    if (views.empty()) continue;
    // Paired differences (scheme, baseline): every scheme against STE, the low-rank ones also
    // against LUT-2D.
    std::vector<std::pair<std::string, std::string>> deltas;
    const auto has = [&](const char* k) { return std::find(schemes.begin(), schemes.end(), k) != schemes.end(); };
    const bool has_ste = has("ste");
    for (const auto& k : schemes)
      if (k != "ste" && has_ste) deltas.push_back({k, "ste"});
    for (const auto& k : schemes)
      if (is_low_rank(k) && has("lut2d")) deltas.push_back({k, "lut2d"});
    out << "| multiplier | bits | NMED (%) | before retraining |";
    for (const auto& k : schemes) out << " " << k << (uses_hws(k) ? " (HWS)" : "") << " |";
    for (const auto& [k, base] : deltas) out << " " << k << " − " << base << " |";
    out << "\n|---|---|---|---|";
    for (std::size_t i = 0; i < schemes.size() + deltas.size(); ++i) out << "---|";
    out << "\n";
    std::map<std::string, std::vector<double>> hard_means, hard_pairs;  // by "k − base"
    std::size_t hard_count = 0;
    for (const auto& v : views) {
      const bool hard = v.hard(s);
      hard_count += hard;
      out << "| " << v.m->name << (hard ? " *(hard)*" : "") << " | " << v.m->bits << " | "
          << fixed(v.m->nmed, 3) << " | " << fixed(v.m->before, 2) << " |";
      for (const auto& k : schemes) {
        const auto it = v.cells.find(k);
        if (it == v.cells.end()) {
          out << " - |";
          continue;
        }
        out << " " << pm(summarize(it->second.final_accuracy()));
        if (uses_hws(k)) out << " (" << hws_label(it->second) << ")";
        out << " |";
      }
      for (const auto& [k, base] : deltas) {
        const auto a = v.cells.find(k), b = v.cells.find(base);
        if (a == v.cells.end() || b == v.cells.end()) {
          out << " - |";
          continue;
        }
        const auto d = paired(a->second, b->second);
        out << " " << (d.empty() ? "-" : paired_ci(d)) << " |";
        if (hard && !d.empty()) {
          const auto name = amgrad::concat(k, " − ", base);
          hard_means[name].push_back(summarize(d).mean);
          hard_pairs[name].insert(hard_pairs[name].end(), d.begin(), d.end());
        }
      }
      out << "\n";
    }
    if (hard_count >= 2 && !hard_means.empty()) {
      out << "\nOver the " << hard_count << " hard multiplier(s):";
      for (const auto& [k, base] : deltas) {
        const auto name = amgrad::concat(k, " − ", base);
        if (!hard_means.count(name)) continue;
        out << " " << name << " " << paired_ci(hard_means[name])
            << " (mean of the per-multiplier means, interval over multipliers); "
            << paired_ci(hard_pairs[name]) << " (all " << hard_pairs[name].size()
            << " multiplier-seed pairs).";
      }
      out << "\n";
    }
    if (schemes.empty()) continue;  // no retraining in this setting (an HWS search, a probe)
    out << "\nSeconds per training epoch (mean), and the ratio to STE in the same run:\n\n| multiplier |";
    for (const auto& k : schemes) out << " " << k << " |";
    out << "\n|---|";
    for (std::size_t i = 0; i < schemes.size(); ++i) out << "---|";
    out << "\n";
    for (const auto& v : views) {
      out << "| " << v.m->name << "/" << v.m->bits << "b |";
      const auto ste = v.cells.find("ste");
      const double base = ste == v.cells.end() ? 0 : summarize(ste->second.all_seconds()).mean;
      for (const auto& k : schemes) {
        const auto it = v.cells.find(k);
        if (it == v.cells.end()) {
          out << " - |";
          continue;
        }
        const double t = summarize(it->second.all_seconds()).mean;
        out << " " << fixed(t, 2) << " s";
        if (base > 0) out << " (" << fixed(t / base, 2) << "x)";
        out << " |";
      }
      out << "\n";
    }
    out << "\nAccuracy per epoch (mean over seeds; epoch 0 is before retraining):\n\n";
    for (const auto& v : views) {
      out << "- " << v.m->name << "/" << v.m->bits << "b: " << fixed(v.m->before, 2);
      for (const auto& k : schemes) {
        const auto it = v.cells.find(k);
        if (it == v.cells.end()) continue;
        out << "; " << k << ":";
        std::size_t epochs = 0;
        for (const auto* u : it->second.runs) epochs = std::max(epochs, u->accuracy.size());
        for (std::size_t e = 0; e < epochs; ++e) {
          std::vector<double> at;
          for (const auto* u : it->second.runs)
            if (e < u->accuracy.size()) at.push_back(u->accuracy[e]);
          out << " " << fixed(summarize(at).mean, 2);
        }
        std::vector<double> last_loss;
        for (const auto* u : it->second.runs)
          if (!u->loss.empty()) last_loss.push_back(u->loss.back());
        if (!last_loss.empty()) out << " (last train loss " << fixed(summarize(last_loss).mean, 4) << ")";
      }
      if (plots) out << " ([plot](" << plot_stem(prefix, s, *v.m) << ".png))";
      out << "\n";
    }
    if (plots && has_ste && !deltas.empty())
      out << "\n![differences](" << prefix << "_" << file_stem(s.key) << "_differences.png)\n";
  }

  if (!r.tunes.empty()) {
    out << "\n## HWS search\n\nLUT-2D retrained once per half window size (same seed, same data "
           "order); the pick is the smallest mean training loss of the last epoch. Published: "
           "the HWS in the DATE'25 table's file name.\n\n";
    std::set<int> hws_values;
    for (const auto& t : r.tunes) hws_values.insert(t.hws);
    out << "| setting | multiplier | bits |";
    for (int h : hws_values) out << " " << h << " |";
    out << " pick | published |\n|---|---|---|";
    for (std::size_t i = 0; i < hws_values.size() + 2; ++i) out << "---|";
    out << "\n";
    std::vector<std::pair<std::string, std::string>> keys;  // (setting, name/bits) in order
    for (const auto& t : r.tunes) {
      const auto k = std::make_pair(t.setting, amgrad::concat(t.name, "/", t.bits));
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
    for (const auto& [setting, nb] : keys) {
      std::vector<tune_record> rows;
      for (const auto& t : r.tunes)
        if (t.setting == setting && amgrad::concat(t.name, "/", t.bits) == nb) rows.push_back(t);
      const auto pick = hws_picks(rows).begin()->second;
      int published = 0;
      for (const auto& m : r.multipliers)
        if (amgrad::concat(m.name, "/", m.bits) == nb && m.published_hws) published = m.published_hws;
      out << "| " << setting << " | " << rows[0].name << " | " << rows[0].bits << " |";
      for (int h : hws_values) {
        const auto it = std::find_if(rows.begin(), rows.end(), [&](const tune_record& t) { return t.hws == h; });
        out << " " << (it == rows.end() ? "-" : fixed(it->loss, 4)) << (it != rows.end() && h == pick ? " ←" : "") << " |";
      }
      out << " **" << pick << "** | " << (published ? std::to_string(published) : "-") << " |\n";
    }
  }

  if (!r.probes.empty()) {
    out << "\n## Gradient-fidelity probe\n\nFor one batch of training images, before retraining "
           "(the calibrated quantized net, evaluation mode): each scheme's gradient of the loss with "
           "respect to the weights of each approximate layer and to that layer's input, against the "
           "gradient G of the *actual* AppMult network's loss Gaussian-smoothed over sigma "
           "quantization steps, all per quantization step. G is measured through directional "
           "derivatives: for N random directions u, two finite differences of the loss along u, at "
           "±sigma steps, each from its own random point of the smoothing distribution (c1, c2); "
           "G·G_k = E[(c1 + c2)/2 · G_k·u] and |G|² = E[c1 c2]. cos: cosine similarity with G ± "
           "standard error over directions; rel: |G_k − G| / |G|; Δcos: cos − cos(ste), paired over "
           "the same directions ± standard error; signal: E[c1 c2] / E[c²], the share of a finite "
           "difference that a smooth gradient explains (low: the quantized loss is mostly staircase "
           "at this sigma, and every number of the row is less certain).\n";
    std::vector<std::string> groups;  // setting | name/bits | sigma
    for (const auto& p : r.probes) {
      const auto g = amgrad::concat(p.setting, " | ", p.name, "/", p.bits, "b | sigma ", p.sigma);
      if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
    }
    for (const auto& g : groups) {
      std::vector<const probe_record*> rows;
      std::vector<std::string> probe_schemes;
      for (const auto& p : r.probes)
        if (amgrad::concat(p.setting, " | ", p.name, "/", p.bits, "b | sigma ", p.sigma) == g) {
          rows.push_back(&p);
          if (std::find(probe_schemes.begin(), probe_schemes.end(), p.scheme) == probe_schemes.end())
            probe_schemes.push_back(p.scheme);
        }
      out << "\n### " << g << " (" << rows[0]->samples << " directions)\n\n| layer | grad of | dim | signal |";
      for (const auto& k : probe_schemes) out << " " << k << " cos | " << k << " rel |";
      for (const auto& k : probe_schemes)
        if (k != "ste") out << " " << k << " Δcos |";
      out << "\n|---|---|---|---|";
      for (std::size_t i = 0; i < 2 * probe_schemes.size() + probe_schemes.size() - 1; ++i) out << "---|";
      out << "\n";
      std::vector<std::pair<std::string, std::string>> lk;
      for (const auto* p : rows)
        if (std::find(lk.begin(), lk.end(), std::make_pair(p->layer, p->kind)) == lk.end())
          lk.push_back({p->layer, p->kind});
      for (const auto& [layer, kind] : lk) {
        const probe_record* any = nullptr;
        for (const auto* p : rows)
          if (p->layer == layer && p->kind == kind) any = p;
        out << "| " << layer << " | " << kind << " | " << any->dim << " | " << fixed(any->split_half, 2) << " |";
        auto find = [&](const std::string& k) -> const probe_record* {
          for (const auto* p : rows)
            if (p->layer == layer && p->kind == kind && p->scheme == k) return p;
          return nullptr;
        };
        for (const auto& k : probe_schemes) {
          const auto* p = find(k);
          out << " " << (p ? fixed(p->cos, 2) + " ± " + fixed(p->cos_se, 2) : "-") << " | "
              << (p ? fixed(p->rel_err, 2) : "-") << " |";
        }
        for (const auto& k : probe_schemes) {
          if (k == "ste") continue;
          const auto* p = find(k);
          std::ostringstream d;
          if (p) d << std::showpos << std::fixed << std::setprecision(2) << p->dcos << std::noshowpos << " ± " << p->dcos_se;
          out << " " << (p ? d.str() : "-") << " |";
        }
        out << "\n";
      }
    }
  }
}

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
inline std::string json_array(const std::vector<double>& v) {
  std::ostringstream out;
  out << std::setprecision(6) << "[";
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
  return out.str() + "]";
}

inline void write_json(const records& r, const fs::path& path) {
  std::ofstream out(path);
  out << std::setprecision(6) << "{\n  \"commands\": [";
  for (std::size_t i = 0; i < r.commands.size(); ++i) out << (i ? ", " : "") << json_string(r.commands[i]);
  out << "],\n  \"wall_seconds\": " << json_array(r.walls) << ",\n  \"settings\": [\n";
  for (std::size_t si = 0; si < r.settings.size(); ++si) {
    const auto& s = r.settings[si];
    out << "    {\"key\": " << json_string(s.key) << ", \"description\": " << json_string(s.description)
        << ", \"float_accuracy\": " << s.float_accuracy << ", \"quantized_exact\": {";
    bool first = true;
    for (auto [b, a] : s.quantized_exact) {
      out << (first ? "" : ", ") << "\"" << b << "\": " << a;
      first = false;
    }
    out << "}, \"multipliers\": [\n";
    const auto views = views_of(r, s);
    for (std::size_t m = 0; m < views.size(); ++m) {
      const auto& v = views[m];
      out << "      {\"name\": " << json_string(v.m->name) << ", \"bits\": " << v.m->bits
          << ", \"nmed_percent\": " << v.m->nmed << ", \"accuracy_before_retraining\": " << v.m->before
          << ", \"hard\": " << (v.hard(s) ? "true" : "false") << ", \"published_hws\": " << v.m->published_hws
          << ", \"schemes\": [\n";
      std::size_t n = 0;
      for (const auto& k : ordered_keys(v.cells)) {
        const auto it = v.cells.find(k);
        const auto f = summarize(it->second.final_accuracy());
        out << (n++ ? ",\n" : "") << "        {\"scheme\": \"" << k << "\", \"hws\": " << it->second.runs[0]->hws
            << ", \"final_accuracy_mean\": " << f.mean << ", \"final_accuracy_std\": " << f.std
            << ", \"seconds_per_epoch\": " << summarize(it->second.all_seconds()).mean << ", \"seeds\": [";
        for (std::size_t i = 0; i < it->second.runs.size(); ++i) {
          const auto* u = it->second.runs[i];
          out << (i ? ", " : "") << "{\"seed\": " << u->seed << ", \"accuracy_per_epoch\": " << json_array(u->accuracy)
              << ", \"loss_per_epoch\": " << json_array(u->loss) << ", \"seconds_per_epoch\": " << json_array(u->seconds) << "}";
        }
        out << "]}";
      }
      out << "\n      ]}" << (m + 1 < views.size() ? "," : "") << "\n";
    }
    out << "    ]}" << (si + 1 < r.settings.size() ? "," : "") << "\n";
  }
  out << "  ],\n  \"hws_search\": [";
  for (std::size_t i = 0; i < r.tunes.size(); ++i) {
    const auto& t = r.tunes[i];
    out << (i ? ",\n    " : "\n    ") << "{\"setting\": " << json_string(t.setting) << ", \"name\": " << json_string(t.name)
        << ", \"bits\": " << t.bits << ", \"hws\": " << t.hws << ", \"loss\": " << t.loss << ", \"accuracy\": " << t.accuracy << "}";
  }
  out << "],\n  \"probe\": [";
  for (std::size_t i = 0; i < r.probes.size(); ++i) {
    const auto& p = r.probes[i];
    out << (i ? ",\n    " : "\n    ") << "{\"setting\": " << json_string(p.setting) << ", \"name\": " << json_string(p.name)
        << ", \"bits\": " << p.bits << ", \"layer\": \"" << p.layer << "\", \"kind\": \"" << p.kind
        << "\", \"sigma\": " << p.sigma << ", \"scheme\": \"" << p.scheme << "\", \"cos\": " << p.cos
        << ", \"cos_se\": " << p.cos_se << ", \"rel_err\": " << p.rel_err << ", \"dcos_vs_ste\": " << p.dcos
        << ", \"dcos_se\": " << p.dcos_se << ", \"split_half\": " << p.split_half << ", \"samples\": " << p.samples
        << ", \"dim\": " << p.dim << "}";
  }
  out << "]\n}\n";
}

// Everything: <prefix>.tsv, .json, .md and the plots.
inline void write_all(const records& r, const fs::path& out_dir, const std::string& prefix,
                      bool plots = true) {
  write_tsv(r, out_dir / (prefix + ".tsv"));
  write_json(r, out_dir / (prefix + ".json"));
  if (plots)
    for (const auto& s : r.settings) {
      const auto views = views_of(r, s);
      for (const auto& v : views) plot_multiplier(out_dir, prefix, s, v);
      plot_differences(out_dir, prefix, s, views);
    }
  write_markdown(r, out_dir, prefix, plots);
}

}  // namespace retrain
