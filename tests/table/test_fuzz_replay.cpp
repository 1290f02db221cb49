// Replays the fuzzers' checked-in inputs in the regular build (no libFuzzer, any compiler):
// every file under tests/fuzz/corpus/<reader>/ (the seeds) and tests/fuzz/regressions/<reader>/
// (every crasher the fuzzers found, docs/fuzzing.md) goes through the same target function as
// the fuzzer, which must return or throw amgrad::error; an oracle failure or any other
// exception fails the test, naming the file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "../fuzz/fuzz_targets.hpp"

namespace fs = std::filesystem;

namespace {

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Feeds every file of `folder` to `target`; returns how many there were.
std::size_t replay(const amgrad::fuzz::target& target, const fs::path& folder) {
  if (!fs::is_directory(folder)) return 0;
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file() || entry.path().filename().string().front() == '.') continue;
    ++count;
    CAPTURE(entry.path().string());
    const std::string bytes = bytes_of(entry.path());
    try {
      target.run(bytes);
    } catch (const amgrad::error&) {
      // the documented refusal
    } catch (const amgrad::fuzz::oracle_failure& e) {
      FAIL_CHECK("oracle failure: " << std::string(e.what()));
    } catch (const std::exception& e) {
      FAIL_CHECK("an exception other than amgrad::error: " << std::string(e.what()));
    }
  }
  return count;
}

}  // namespace

TEST_CASE("fuzz replay: every seed and every regression input is read or refused with amgrad::error") {
  const fs::path root = AMGRAD_FUZZ_DIR;
  for (const auto& target : amgrad::fuzz::targets) {
    CAPTURE(target.name);
    const std::size_t seeds = replay(target, root / "corpus" / target.name);
    replay(target, root / "regressions" / target.name);
    CHECK(seeds > 0);  // the seed corpus of each reader is checked in
  }
}
