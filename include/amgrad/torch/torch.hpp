#pragma once
// amgrad for LibTorch, all of it: backends, autograd functions, ApproxLinear / ApproxConv2d and
// the run-time registry. Link amgrad::torch.
#include "amgrad/torch/backend.hpp"
#include "amgrad/torch/functions.hpp"
#include "amgrad/torch/modules.hpp"
#include "amgrad/torch/registry.hpp"
