// libFuzzer entry point for one table reader, chosen at compile time by AMGRAD_FUZZ_TARGET
// (date_text, date_gz, approxtorch, tfapprox or detect; see fuzz_targets.hpp). amgrad::error is
// the readers' documented way to refuse an input; anything else that escapes (another
// exception, an oracle_failure) or a sanitizer report is a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    amgrad::fuzz::AMGRAD_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const amgrad::error&) {
  }
  return 0;
}
