# The components of amgrad and what each one needs. Included by the project and by the installed
# amgradConfig.cmake, so a consumer resolves the same dependencies the same way, and only those of
# the components it asks for.
#
#   component   builds on          third-party dependencies
#   core        -                  none (models, tables, schemes, reference kernels, quant, ops)
#   io          core               ZLIB (table/text_file.hpp, table/format_*.hpp, table/io.hpp)
#   host        core               Threads, BLAS (OpenBLAS) + cblas.h (kernel/host/*, dispatch.hpp);
#                                  optional LAPACKE (gradient/lut2d_lowrank.hpp's SVD)
#   generic     core               Thrust headers (kernel/generic/*: the Thrust path, CPU or GPU)
#   cuda        generic            CUDAToolkit: CUDA::cudart, CUDA::cublas
#   torch       host io            Boost (Hana, headers only), Torch (amgrad/torch/*)
include(CMakeFindDependencyMacro)

# Every component, in an order where each comes after the components it builds on.
set(AMGRAD_ALL_COMPONENTS core io host generic cuda torch)
set(amgrad_core_NEEDS)
set(amgrad_io_NEEDS core)
set(amgrad_host_NEEDS core)
set(amgrad_generic_NEEDS core)
set(amgrad_cuda_NEEDS generic)
set(amgrad_torch_NEEDS host io)

# amgrad_find_dependencies(<component> <result-var> [REQUIRED] [QUIET] [GLOBAL])
# Finds the third-party dependencies of one component (not the components it builds on) with
# find_dependency(), and defines the imported target amgrad::<component>_dependencies that the
# component's target links. Sets <result-var> to TRUE or FALSE and, when FALSE,
# <result-var>_REASON to what was not found. REQUIRED makes a missing dependency an error (the
# installed package passes it for a component that find_package(amgrad REQUIRED ...) requires).
# GLOBAL makes the imported targets global (the project passes it): a project that adds amgrad
# with add_subdirectory() then resolves them from its own folders too, including the generator
# expressions of Torch's targets that name other Torch targets.
function(amgrad_find_dependencies comp out)
  cmake_parse_arguments(PARSE_ARGV 2 arg "REQUIRED;QUIET;GLOBAL" "" "")
  set(${out} FALSE PARENT_SCOPE)
  # find_dependency() forwards REQUIRED and QUIET from the enclosing find_package(); set them here
  # for this component, and let its return() on failure end this function only. What the finds
  # set stays in this scope; the imported targets they create are visible to the caller's folder.
  set(CMAKE_FIND_PACKAGE_NAME amgrad)
  set(amgrad_FIND_REQUIRED ${arg_REQUIRED})
  set(amgrad_FIND_QUIETLY ${arg_QUIET})
  set(dep_target amgrad::${comp}_dependencies)
  set(global "")
  if(arg_GLOBAL)
    set(CMAKE_FIND_PACKAGE_TARGETS_GLOBAL ON)
    set(global GLOBAL)
  endif()

  if(comp STREQUAL "core")
    # Nothing: the core is the include directory alone.
  elseif(comp STREQUAL "io")
    set(${out}_REASON "ZLIB not found (on Debian: apt-get install zlib1g-dev)" PARENT_SCOPE)
    find_dependency(ZLIB)              # reading the .gz tables the community publishes
    if(NOT TARGET ${dep_target})
      add_library(${dep_target} INTERFACE IMPORTED ${global})
      target_link_libraries(${dep_target} INTERFACE ZLIB::ZLIB)
    endif()
  elseif(comp STREQUAL "host")
    set(${out}_REASON "Threads not found" PARENT_SCOPE)
    find_dependency(Threads)           # the kernels' own thread pool
    set(${out}_REASON "BLAS not found (on Debian: apt-get install libopenblas-dev)" PARENT_SCOPE)
    if(NOT DEFINED BLA_VENDOR)
      set(BLA_VENDOR OpenBLAS)         # the float GEMMs of the STE and LUT-1D backward
    endif()
    find_dependency(BLAS)
    # cblas.h is not part of what FindBLAS reports; OpenBLAS on Debian puts it in a multiarch dir.
    find_path(AMGRAD_CBLAS_INCLUDE_DIR cblas.h
      PATH_SUFFIXES openblas x86_64-linux-gnu x86_64-linux-gnu/openblas-pthread)
    if(NOT AMGRAD_CBLAS_INCLUDE_DIR)
      set(${out}_REASON "cblas.h not found (on Debian: apt-get install libopenblas-dev)" PARENT_SCOPE)
      return()
    endif()
    if(NOT TARGET ${dep_target})
      add_library(${dep_target} INTERFACE IMPORTED ${global})
      target_link_libraries(${dep_target} INTERFACE BLAS::BLAS Threads::Threads)
      # SYSTEM: warnings inside third-party headers are not ours to fix.
      target_include_directories(${dep_target} SYSTEM INTERFACE ${AMGRAD_CBLAS_INCLUDE_DIR})
      # Optional: LAPACKE, for the truncated SVD of gradient/lut2d_lowrank.hpp. Where it is
      # found the headers see AMGRAD_HAS_LAPACKE=1; without it the rest of the host component
      # works and lut2d_lowrank's factorisation throws (on Debian: apt-get install liblapacke-dev).
      find_path(AMGRAD_LAPACKE_INCLUDE_DIR lapacke.h PATH_SUFFIXES openblas x86_64-linux-gnu)
      find_library(AMGRAD_LAPACKE_LIBRARY NAMES lapacke)
      if(AMGRAD_LAPACKE_INCLUDE_DIR AND AMGRAD_LAPACKE_LIBRARY)
        target_link_libraries(${dep_target} INTERFACE ${AMGRAD_LAPACKE_LIBRARY})
        target_include_directories(${dep_target} SYSTEM INTERFACE ${AMGRAD_LAPACKE_INCLUDE_DIR})
        target_compile_definitions(${dep_target} INTERFACE AMGRAD_HAS_LAPACKE=1)
      elseif(NOT arg_QUIET)
        message(STATUS "amgrad: LAPACKE not found; lut2d_lowrank cannot factor tables "
                       "(on Debian: apt-get install liblapacke-dev)")
      endif()
    endif()
  elseif(comp STREQUAL "generic")
    # Thrust: prefer the CCCL that ships with the CUDA toolkit (it also runs on the CPU through
    # its CPP and OMP backends), else Debian's libthrust-dev.
    find_path(AMGRAD_THRUST_INCLUDE_DIR thrust/version.h
      HINTS ${CUDAToolkit_INCLUDE_DIRS}/cccl $ENV{CUDA_HOME}/include/cccl
      PATHS /usr/local/cuda/include/cccl /usr/include
      NO_DEFAULT_PATH)
    if(NOT AMGRAD_THRUST_INCLUDE_DIR)
      set(${out}_REASON "Thrust not found (install the CUDA toolkit, or apt-get install \
libthrust-dev libcub-dev, or set AMGRAD_THRUST_INCLUDE_DIR)" PARENT_SCOPE)
      if(arg_REQUIRED)
        message(FATAL_ERROR "amgrad: Thrust headers (thrust/version.h) not found; set "
                            "AMGRAD_THRUST_INCLUDE_DIR")
      endif()
      return()
    endif()
    if(NOT TARGET ${dep_target})
      add_library(${dep_target} INTERFACE IMPORTED ${global})
      target_include_directories(${dep_target} SYSTEM INTERFACE ${AMGRAD_THRUST_INCLUDE_DIR})
    endif()
  elseif(comp STREQUAL "cuda")
    set(${out}_REASON "CUDAToolkit not found" PARENT_SCOPE)
    find_dependency(CUDAToolkit)
    if(NOT TARGET ${dep_target})
      add_library(${dep_target} INTERFACE IMPORTED ${global})
      target_link_libraries(${dep_target} INTERFACE CUDA::cudart CUDA::cublas)
    endif()
  elseif(comp STREQUAL "torch")
    set(${out}_REASON "Boost not found (on Debian: apt-get install libboost-dev)" PARENT_SCOPE)
    find_dependency(Boost 1.70)        # Boost.Hana (header-only): the registry of the modules
    set(${out}_REASON "Torch not found (on Debian: apt-get install libtorch-dev)" PARENT_SCOPE)
    find_dependency(Torch)
    if(NOT TARGET ${dep_target})
      add_library(${dep_target} INTERFACE IMPORTED ${global})
      target_link_libraries(${dep_target} INTERFACE Boost::headers ${TORCH_LIBRARIES})
      separate_arguments(torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
      target_compile_options(${dep_target} INTERFACE ${torch_flags})
    endif()
  else()
    string(REPLACE ";" ", " all "${AMGRAD_ALL_COMPONENTS}")
    set(${out}_REASON "'${comp}' is not a component of amgrad (${all})" PARENT_SCOPE)
    return()
  endif()
  set(${out}_REASON "" PARENT_SCOPE)
  set(${out} TRUE PARENT_SCOPE)
endfunction()
