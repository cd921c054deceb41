// What a results reader needs to know about each host: name, kernel, CPU, memory, GPUs and how
// they reach each other and the NICs, and the versions of the libraries that did the
// communicating. Each rank collects its own and the
// runner allgathers them (to_json / host_from_json in json_io.h carry it over the wire).
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabricbench/transport/registry.h"
#include "results/record.h"

namespace fb {

// This host, with the inventory of `fabricbench info` (CPU layout, network interfaces, RDMA
// devices), the library versions of every registered transport plus the ones found
// installed (rdma-core), and the GPUs nvidia-smi reports. A value that cannot be read is left
// empty or zero, never guessed; a host without nvidia-smi (or where it fails or hangs past a
// few seconds) has no GPUs listed.
HostInfo collect_host_info();

// The pieces, separate so they can be tested with made-up inputs.

// GPUs from the output of `nvidia-smi --query-gpu=index,name,pci.bus_id,memory.total,
// driver_version,uuid --format=csv,noheader,nounits` (memory.total in MiB; the uuid column may
// be left out). Lines that are not a GPU (a driver warning, "No devices were found", a GPU
// nvidia-smi cannot talk to) are skipped; "[N/A]" and similar read as empty or zero.
std::vector<GpuInfo> parse_nvidia_smi_gpus(std::string_view text);

// The matrix and NIC legend of `nvidia-smi topo -m`, without the legend of link codes (the
// same on every host) and without terminal escapes or trailing blanks; "" for blank output.
std::string gpu_topology_from_nvidia_smi(std::string_view text);

// The first "model name" line of /proc/cpuinfo ("" on CPUs that have none, such as most Arm).
std::string cpu_model_from_cpuinfo(std::istream& cpuinfo);

// The version of an installed Debian package from a dpkg status file, or nullopt when the
// package is absent, not installed, or the file cannot be read (a host without dpkg).
std::optional<std::string> dpkg_package_version(std::string_view package,
                                                const std::string& status_file);

// Libraries reported by the given transports (the registry's, in collect_host_info), then the
// installed ones not already named: what a transport loaded beats what a package says.
std::vector<LibraryVersion> collect_library_versions(
    const std::vector<const TransportInfo*>& transports, const std::string& dpkg_status_file);

}  // namespace fb
