#pragma once
// A small command-line parser: positional arguments, `--option VALUE` (or `--option=VALUE`),
// and flags. Anything unexpected is a usage_error (exit code 2).
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "amgrad/error.hpp"

namespace amgrad_lut {

// A mistake in how the tool was called, as opposed to a failure while running it.
class usage_error : public amgrad::error {
 public:
  using amgrad::error::error;
};

template <class... Parts>
[[noreturn]] void usage_fail(Parts&&... parts) {
  throw usage_error(amgrad::concat(std::forward<Parts>(parts)...));
}

class command_line {
 public:
  command_line(const std::vector<std::string>& args, const std::set<std::string>& value_options,
               const std::set<std::string>& flag_options) {
    for (std::size_t i = 0; i < args.size(); ++i) {
      std::string arg = args[i];
      const bool is_option = arg.size() > 1 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9');
      if (!is_option) {
        positional_.push_back(arg);
        continue;
      }
      std::optional<std::string> inline_value;
      if (const auto eq = arg.find('='); eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg.resize(eq);
      }
      if (value_options.count(arg) != 0) {
        if (!inline_value) {
          if (i + 1 >= args.size()) usage_fail("option ", arg, " needs a value");
          inline_value = args[++i];
        }
        if (!values_.emplace(arg, *inline_value).second) usage_fail("option ", arg, " given twice");
      } else if (flag_options.count(arg) != 0 && !inline_value) {
        flags_.insert(arg);
      } else {
        usage_fail("unknown option '", args[i], "'");
      }
    }
  }

  const std::vector<std::string>& positional() const { return positional_; }
  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  std::optional<std::string> value(const std::string& name) const {
    const auto it = values_.find(name);
    return it == values_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  std::string required(const std::string& name) const {
    const auto v = value(name);
    if (!v) usage_fail("missing required option ", name);
    return *v;
  }

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

inline int parse_int(const std::string& text, const std::string& what) {
  int value = 0;
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (status != std::errc{} || end != text.data() + text.size())
    usage_fail(what, " must be an integer, got '", text, "'");
  return value;
}

}  // namespace amgrad_lut
