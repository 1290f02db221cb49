# Finds what the amgrad INTERFACE target needs. Included by the project and by the installed
# amgradConfig.cmake, so a consumer resolves the same dependencies the same way.
include(CMakeFindDependencyMacro)

find_dependency(Boost 1.70)          # Boost.Hana (header-only): compile-time policy lists
find_dependency(Threads)
find_dependency(ZLIB)                # reading the .gz tables the community publishes
if(NOT DEFINED BLA_VENDOR)
  set(BLA_VENDOR OpenBLAS)           # the float GEMMs of the STE and LUT-1D backward
endif()
find_dependency(BLAS)

# cblas.h is not part of what FindBLAS reports; OpenBLAS on Debian puts it in a multiarch dir.
find_path(AMGRAD_CBLAS_INCLUDE_DIR cblas.h
  PATH_SUFFIXES openblas x86_64-linux-gnu x86_64-linux-gnu/openblas-pthread)
if(NOT AMGRAD_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "amgrad: cblas.h not found (on Debian: apt-get install libopenblas-dev)")
endif()

# Thrust: prefer the CCCL that ships with the CUDA toolkit (it also runs on the CPU through its
# CPP and OMP backends), else Debian's libthrust-dev.
find_path(AMGRAD_THRUST_INCLUDE_DIR thrust/version.h
  HINTS ${CUDAToolkit_INCLUDE_DIRS}/cccl $ENV{CUDA_HOME}/include/cccl
  PATHS /usr/local/cuda/include/cccl /usr/include
  NO_DEFAULT_PATH)
if(NOT AMGRAD_THRUST_INCLUDE_DIR)
  message(FATAL_ERROR "amgrad: Thrust not found (install the CUDA toolkit, or apt-get install "
                      "libthrust-dev libcub-dev), or set AMGRAD_THRUST_INCLUDE_DIR")
endif()

if(NOT TARGET amgrad::dependencies)
  add_library(amgrad::dependencies INTERFACE IMPORTED)
  target_link_libraries(amgrad::dependencies INTERFACE
    Boost::headers Threads::Threads ZLIB::ZLIB BLAS::BLAS)
  # SYSTEM: warnings inside third-party headers are not ours to fix.
  target_include_directories(amgrad::dependencies SYSTEM INTERFACE
    ${AMGRAD_CBLAS_INCLUDE_DIR} ${AMGRAD_THRUST_INCLUDE_DIR})
endif()
