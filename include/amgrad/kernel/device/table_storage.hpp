#pragma once
// Where the device forward kernel keeps a product table (a kernel reports it: tests and logs).
#include <cstdint>

#include "amgrad/config.hpp"

namespace amgrad::kernel::device {

// Where a product table lives on the device: 16-bit entries in shared memory when every value
// fits one of the 16-bit types, else 32-bit entries read from global memory (never truncated).
enum class table_storage { shared_int16, shared_uint16, global_int32 };

AMGRAD_HOST_DEVICE constexpr table_storage choose_storage(std::int64_t min_value,
                                                          std::int64_t max_value) {
  // (Literal bounds: std::numeric_limits is not callable from device code.)
  if (min_value >= -32768 && max_value <= 32767) return table_storage::shared_int16;
  if (min_value >= 0 && max_value <= 65535)
    return table_storage::shared_uint16;
  return table_storage::global_int32;
}

inline const char* to_string(table_storage s) {
  switch (s) {
    case table_storage::shared_int16: return "shared int16";
    case table_storage::shared_uint16: return "shared uint16";
    case table_storage::global_int32: return "global int32";
  }
  return "?";
}

}  // namespace amgrad::kernel::device
