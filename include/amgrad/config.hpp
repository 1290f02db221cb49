#pragma once
// Version, portability macros and feature detection shared by every amgrad header.

#define AMGRAD_VERSION_MAJOR 0
#define AMGRAD_VERSION_MINOR 1
#define AMGRAD_VERSION_PATCH 0
#define AMGRAD_VERSION_STRING "0.1.0"

// Policies and table logic are written once and called from host and device code.
#if defined(__CUDACC__) || defined(__HIPCC__)
#define AMGRAD_HOST_DEVICE __host__ __device__
#define AMGRAD_HAS_CUDA_COMPILER 1
#else
#define AMGRAD_HOST_DEVICE
#define AMGRAD_HAS_CUDA_COMPILER 0
#endif

// Fast host kernels are selected at compile time from the target, never at run time, so a
// binary built without -mavx512vbmi can never execute those instructions.
#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
#define AMGRAD_HAS_AVX512VBMI 1
#else
#define AMGRAD_HAS_AVX512VBMI 0
#endif

#if defined(_OPENMP)
#define AMGRAD_HAS_OPENMP 1
#else
#define AMGRAD_HAS_OPENMP 0
#endif
