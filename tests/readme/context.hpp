#pragma once
// The names the README's snippets use, declared with small valid values so that each snippet
// compiles and runs as written.
#include <cstdint>
#include <vector>

#include "amgrad/operand.hpp"

#if defined(AMGRAD_README_TORCH)
#include <torch/torch.h>
#define AMGRAD_README_TORCH_CONTEXT auto x = torch::rand({8, 400});
#else
#define AMGRAD_README_TORCH_CONTEXT
#endif

#define AMGRAD_README_CONTEXT                                                      \
  const std::size_t M = 5, K = 7, N = 3;                                            \
  std::vector<amgrad::code_t> a_storage(M * K, 17), b_storage(K * N, 200);          \
  std::vector<std::int32_t> y_storage(M * N);                                       \
  std::vector<float> dy_storage(M * N, 1.0f), da_storage(M * K), db_storage(K * N); \
  const amgrad::code_t* a = a_storage.data();                                       \
  const amgrad::code_t* b = b_storage.data();                                       \
  std::int32_t* y = y_storage.data();                                               \
  const float* dy = dy_storage.data();                                              \
  float* da = da_storage.data();                                                    \
  float* db = db_storage.data();                                                    \
  AMGRAD_README_TORCH_CONTEXT                                                       \
  (void)a, (void)b, (void)y, (void)dy, (void)da, (void)db;
