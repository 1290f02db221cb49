#pragma once
// Gate-level netlists to product tables in one call:
//   auto lut = amgrad::netlist::import_table("mul8u_17C8.v");            // or .blif
//   amgrad::table_multiplier model{lut};
// read_blif / read_verilog give the flattened circuit; simulate() its exhaustive table.
#include <string>

#include "amgrad/error.hpp"
#include "amgrad/netlist/blif.hpp"
#include "amgrad/netlist/circuit.hpp"
#include "amgrad/netlist/verilog.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad::netlist {

enum class netlist_format { blif, verilog };

// By extension: .blif is BLIF; .v, .sv and .vg are Verilog.
inline netlist_format format_of(const std::string& path) {
  const auto dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  if (ext == ".blif") return netlist_format::blif;
  if (ext == ".v" || ext == ".sv" || ext == ".vg") return netlist_format::verilog;
  amgrad::fail("amgrad::netlist::format_of", path,
               ": unknown netlist extension (expected .blif, .v, .sv or .vg)");
}

inline circuit read_netlist(const std::string& path, netlist_format format,
                            const std::string& top = "") {
  return format == netlist_format::blif ? read_blif(path, top) : read_verilog(path, top);
}

// Reads and simulates a netlist: the product table of its top module.
inline product_table import_table(const std::string& path, const port_map& ports = {},
                                  const std::string& top = "") {
  return simulate(read_netlist(path, format_of(path), top), ports);
}
inline product_table import_table(const std::string& path, netlist_format format,
                                  const port_map& ports = {}, const std::string& top = "") {
  return simulate(read_netlist(path, format, top), ports);
}

}  // namespace amgrad::netlist
