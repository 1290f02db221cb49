#pragma once
// Where an appmult runs. A backend is a policy value, as Thrust's execution policies are: one
// class template, amgrad::appmult<Model, Operand, Scheme, Backend>, and the backend picks the
// kernels (dispatch.hpp). Extra arguments of a call go to the backend: none on the host, a
// cudaStream_t on the device, a Thrust execution policy on the generic path.
namespace amgrad {

// The host kernels (AVX-512 VBMI where compiled for it, else the portable row table; BLAS for
// the separable backward). threads: 0 means the runtime's default (OMP_NUM_THREADS, else the
// hardware concurrency).
struct host {
  int threads = 0;
};

// The CUDA kernels (shared-memory table GEMM, cuBLAS). Needs nvcc; operands are device memory.
// (Named as thrust::device is: `cuda` would clash with CCCL's ::cuda namespace wherever a user
// writes `using namespace amgrad;`.)
struct device {};

// Thrust algorithms on Thrust's device system (CUDA under nvcc; OMP or CPP from any compiler
// that defines THRUST_DEVICE_SYSTEM): portable, and a second reference. Slower than the others.
struct generic {};

}  // namespace amgrad
