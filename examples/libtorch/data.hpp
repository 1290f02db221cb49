#pragma once
// Fashion-MNIST from its IDX .gz files (Debian: dataset-fashion-mnist).
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "amgrad/error.hpp"

namespace retrain {

namespace fs = std::filesystem;

struct dataset {
  torch::Tensor images;  // [N][1][28][28] float in [0, 1]
  torch::Tensor labels;  // [N] int64
  std::int64_t size() const { return images.size(0); }
};

inline std::vector<unsigned char> read_gz(const fs::path& path) {
  constexpr const char* where = "retrain: Fashion-MNIST";
  amgrad::require(fs::exists(path), where, path.string(),
                  " is missing; install it with `apt-get install dataset-fashion-mnist` "
                  "or pass --data DIR");
  gzFile f = gzopen(path.c_str(), "rb");
  amgrad::require(f != nullptr, where, "cannot open ", path.string());
  std::vector<unsigned char> out;
  std::vector<unsigned char> buffer(1 << 16);
  int n = 0;
  while ((n = gzread(f, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0)
    out.insert(out.end(), buffer.begin(), buffer.begin() + n);
  const bool failed = n < 0;
  gzclose(f);
  amgrad::require(!failed, where, "read error in ", path.string());
  return out;
}

inline std::uint32_t big_endian(const std::vector<unsigned char>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

// split: "train" or "t10k".
inline dataset load_split(const fs::path& dir, const std::string& split) {
  constexpr const char* where = "retrain: Fashion-MNIST";
  const auto img = read_gz(dir / (split + "-images-idx3-ubyte.gz"));
  const auto lab = read_gz(dir / (split + "-labels-idx1-ubyte.gz"));
  amgrad::require(img.size() >= 16 && big_endian(img, 0) == 2051, where, split,
                  " images: not an IDX3 file");
  amgrad::require(lab.size() >= 8 && big_endian(lab, 0) == 2049, where, split,
                  " labels: not an IDX1 file");
  const auto n = big_endian(img, 4), rows = big_endian(img, 8), cols = big_endian(img, 12);
  amgrad::require(rows == 28 && cols == 28 && big_endian(lab, 4) == n &&
                      img.size() == 16 + std::size_t{n} * 784 && lab.size() == 8 + n,
                  where, split, ": unexpected sizes");
  dataset d{torch::empty({static_cast<std::int64_t>(n), 1, 28, 28}, torch::kFloat32),
            torch::empty({static_cast<std::int64_t>(n)}, torch::kInt64)};
  float* px = d.images.data_ptr<float>();
  for (std::size_t i = 0; i < std::size_t{n} * 784; ++i)
    px[i] = static_cast<float>(img[16 + i]) / 255.0f;
  auto* pl = d.labels.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < n; ++i) pl[i] = lab[8 + i];
  return d;
}

// The first n examples (n <= 0: all).
inline dataset head(const dataset& d, std::int64_t n) {
  if (n <= 0 || n >= d.size()) return d;
  return {d.images.slice(0, 0, n).clone(), d.labels.slice(0, 0, n).clone()};
}

}  // namespace retrain
