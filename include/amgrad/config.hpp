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

// The host kernels' code differs with the target (VBMI or not) and the threading runtime (OpenMP
// or std::thread), so it lives in an inline namespace named after both: translation units built
// with different flags then define different symbols instead of silently sharing one inline
// function (an ODR violation that could run VBMI code from a portable build).
#if AMGRAD_HAS_AVX512VBMI && AMGRAD_HAS_OPENMP
#define AMGRAD_HOST_ABI abi_vbmi_openmp
#elif AMGRAD_HAS_AVX512VBMI
#define AMGRAD_HOST_ABI abi_vbmi_threads
#elif AMGRAD_HAS_OPENMP
#define AMGRAD_HOST_ABI abi_portable_openmp
#else
#define AMGRAD_HOST_ABI abi_portable_threads
#endif

// The host kernels' separable backward calls CBLAS (OpenBLAS): the host backend exists where
// cblas.h does (the amgrad::host target puts it on the include path).
#if defined(__has_include)
#if __has_include(<cblas.h>)
#define AMGRAD_HAS_BLAS 1
#endif
#endif
#ifndef AMGRAD_HAS_BLAS
#define AMGRAD_HAS_BLAS 0
#endif

// The Thrust generic path (backend amgrad::generic): under nvcc, or where the user chose a host
// device system for Thrust (THRUST_DEVICE_SYSTEM = OMP, CPP, TBB) and has its headers (the CUDA
// toolkit's CCCL, or Debian's libthrust-dev). Thrust's default device system is CUDA, which a
// host compiler cannot build, so the choice must be explicit there.
#if AMGRAD_HAS_CUDA_COMPILER || defined(THRUST_DEVICE_SYSTEM)
#define AMGRAD_HAS_THRUST 1
#else
#define AMGRAD_HAS_THRUST 0
#endif

// The portable row-table sweep is faster as scalar code: GCC's auto-vectoriser otherwise builds
// vectors from 16 scalar loads each (an emulated gather), 3.3 -> 2.8 G-lookups/s on Zen 5.
#if defined(__GNUC__) && !defined(__clang__)
#define AMGRAD_SCALAR_LOOPS __attribute__((optimize("no-tree-vectorize")))
#else
#define AMGRAD_SCALAR_LOOPS
#endif

// Unrolling hints for nvcc; a host compiler sees nothing (g++ warns on unknown pragmas).
#if defined(__CUDACC__)
#define AMGRAD_UNROLL _Pragma("unroll")
#define AMGRAD_UNROLL_BY_2 _Pragma("unroll 2")
#define AMGRAD_UNROLL_BY_4 _Pragma("unroll 4")
#else
#define AMGRAD_UNROLL
#define AMGRAD_UNROLL_BY_2
#define AMGRAD_UNROLL_BY_4
#endif
