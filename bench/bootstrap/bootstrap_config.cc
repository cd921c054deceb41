#include "bootstrap/bootstrap_config.h"

#include <charconv>
#include <string_view>

namespace fb {
namespace {

constexpr std::string_view kTcpScheme = "tcp://";
constexpr std::string_view kMpiScheme = "mpi://";
constexpr std::string_view kUsage =
    "use --bootstrap local, mpi (under mpirun or srun), or tcp://HOST:PORT with --rank and --size";

Status invalid(std::string message) {
  return Status::error(StatusCode::kInvalidArgument, std::move(message), FB_HERE);
}

// A value and where it came from ("--rank" or "FABRICBENCH_RANK"), so errors point at it.
template <typename T>
struct Sourced {
  std::optional<T> value;
  std::string source;
};

std::optional<std::string> env_value(const GetenvFn& getenv_fn, const char* name) {
  const char* v = getenv_fn ? getenv_fn(name) : nullptr;
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

Sourced<std::string> pick_string(const std::optional<std::string>& flag, const char* flag_name,
                                 const GetenvFn& getenv_fn, const char* env_name) {
  if (flag) return {flag, flag_name};
  return {env_value(getenv_fn, env_name), env_name};
}

Expected<Sourced<int>> pick_int(const std::optional<int>& flag, const char* flag_name,
                                const GetenvFn& getenv_fn, const char* env_name) {
  if (flag) return Sourced<int>{flag, flag_name};
  const std::optional<std::string> text = env_value(getenv_fn, env_name);
  if (!text) return Sourced<int>{std::nullopt, env_name};
  int value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size())
    return invalid(std::string(env_name) + "='" + *text + "' is not a whole number");
  return Sourced<int>{value, env_name};
}

Status parse_port(std::string_view text, const std::string& uri, uint16_t& port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535)
    return invalid("bad port '" + std::string(text) + "' in --bootstrap " + uri +
                   ": use a number from 1 to 65535 that every rank can reach on rank 0's host");
  port = static_cast<uint16_t>(value);
  return ok_status();
}

// "tcp://HOST:PORT" or "tcp://[V6ADDR]:PORT".
Status parse_tcp_uri(const std::string& uri, BootstrapConfig& config) {
  const std::string_view rest = std::string_view(uri).substr(kTcpScheme.size());
  const std::string form = "; the form is tcp://HOST:PORT (tcp://[ADDR]:PORT for IPv6)";
  std::string_view host;
  std::string_view port;
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return invalid("cannot read --bootstrap " + uri + form);
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos)
      return invalid("--bootstrap " + uri + " has no port" + form);
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return invalid("cannot read --bootstrap " + uri + ": put an IPv6 address in brackets" + form);
  }
  if (host.empty()) return invalid("--bootstrap " + uri + " has no host" + form);
  if (port.find('/') != std::string_view::npos)
    return invalid("cannot read --bootstrap " + uri + ": nothing may follow the port" + form);
  config.host = std::string(host);
  return parse_port(port, uri, config.port);
}

Status resolve_tcp(const std::string& uri, const BootstrapFlags& flags, const GetenvFn& getenv_fn,
                   BootstrapConfig& config) {
  config.kind = "tcp";
  FB_TRY(parse_tcp_uri(uri, config));
  FB_TRY_ASSIGN(const Sourced<int> rank, pick_int(flags.rank, "--rank", getenv_fn, "FABRICBENCH_RANK"));
  FB_TRY_ASSIGN(const Sourced<int> size, pick_int(flags.size, "--size", getenv_fn, "FABRICBENCH_SIZE"));
  if (!rank.value || !size.value)
    return invalid("--bootstrap tcp://HOST:PORT needs --rank and --size (or FABRICBENCH_RANK/FABRICBENCH_SIZE)");
  if (*size.value < 1)
    return invalid(size.source + " " + std::to_string(*size.value) +
                   " is not a job size: give the number of ranks, 1 or more");
  if (*rank.value < 0 || *rank.value >= *size.value)
    return invalid(rank.source + " " + std::to_string(*rank.value) + " is out of range for " +
                   size.source + " " + std::to_string(*size.value) + ": ranks are 0 to " +
                   std::to_string(*size.value - 1));
  config.rank = *rank.value;
  config.size = *size.value;
  config.token = pick_string(flags.token, "--token", getenv_fn, "FABRICBENCH_TOKEN").value.value_or("");
  return ok_status();
}

// A launcher's number, or fallback when it is missing or garbled (the launcher's own
// business; MPI's numbers are what the job uses).
int number_or(const std::optional<std::string>& text, int fallback) {
  if (!text) return fallback;
  int value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  return ec == std::errc() && end == text->data() + text->size() ? value : fallback;
}

// "mpi" or "mpi://" (an address means nothing to it).
bool is_mpi(const std::string& uri) { return uri == "mpi" || uri == kMpiScheme; }

// why: what asked for mpi ("--bootstrap", "FABRICBENCH_BOOTSTRAP" or a launcher variable).
Expected<BootstrapConfig> resolve_mpi(BootstrapConfig config, const BootstrapFlags& flags,
                                      const GetenvFn& getenv_fn, const std::string& why,
                                      bool mpi_built) {
  const auto launched = detect_launcher(getenv_fn);
  if (!mpi_built) {
    const std::string asked = launched && why == launched->variable
                                  ? "this process was started by " + launched->launcher + " (" + why +
                                        " is set)"
                                  : "the mpi bootstrap was asked for (" + why + ")";
    return Status::error(StatusCode::kUnavailable,
                         asked + ", but this build has no MPI; rebuild with libopenmpi-dev "
                                 "installed (scripts/install-deps.sh), or use --bootstrap "
                                 "tcp://HOST:PORT with --rank and --size",
                         FB_HERE);
  }
  if (flags.rank || flags.size)
    return invalid("--rank and --size only apply to --bootstrap tcp://HOST:PORT; under mpirun or "
                   "srun the launcher numbers the ranks (mpirun -np N, srun -n N)");
  config.kind = "mpi";
  config.detected_by = why;
  if (launched) {
    config.rank = launched->rank;
    config.size = launched->size;
  }
  return config;
}

}  // namespace

std::optional<LauncherEnv> detect_launcher(const GetenvFn& getenv_fn) {
  const auto get = [&](const char* name) { return env_value(getenv_fn, name); };
  if (const auto rank = get("OMPI_COMM_WORLD_RANK"))
    return LauncherEnv{"OMPI_COMM_WORLD_RANK", "mpirun", number_or(rank, -1),
                       number_or(get("OMPI_COMM_WORLD_SIZE"), -1)};
  if (const auto rank = get("PMIX_RANK"); rank && get("PMIX_NAMESPACE")) {
    // srun announces its task count beside PMIx; other PMIx launchers do not.
    return LauncherEnv{"PMIX_RANK", get("SLURM_STEP_ID") ? "srun" : "a PMIx launcher",
                       number_or(rank, -1), number_or(get("SLURM_STEP_NUM_TASKS"), -1)};
  }
  if (const auto rank = get("PMI_RANK"))
    return LauncherEnv{"PMI_RANK", get("SLURM_STEP_ID") ? "srun" : "a PMI launcher",
                       number_or(rank, -1), number_or(get("PMI_SIZE"), -1)};
  // A batch script also sees SLURM_PROCID=0 and the allocation's SLURM_NTASKS, but no step:
  // fabricbench started there by hand is not one rank of anything.
  if (const auto rank = get("SLURM_PROCID"); rank && get("SLURM_STEP_ID")) {
    const int tasks = number_or(get("SLURM_STEP_NUM_TASKS"), number_or(get("SLURM_NTASKS"), 1));
    if (tasks > 1) return LauncherEnv{"SLURM_PROCID", "srun", number_or(rank, -1), tasks};
  }
  return std::nullopt;
}

bool mpi_bootstrap_built() {
#ifdef FABRICBENCH_HAVE_MPI_BOOTSTRAP
  return true;
#else
  return false;
#endif
}

Expected<BootstrapConfig> resolve_bootstrap_config(const BootstrapFlags& flags,
                                                   const GetenvFn& getenv_fn) {
  return resolve_bootstrap_config(flags, getenv_fn, mpi_bootstrap_built());
}

Expected<BootstrapConfig> resolve_bootstrap_config(const BootstrapFlags& flags,
                                                   const GetenvFn& getenv_fn, bool mpi_built) {
  BootstrapConfig config;
  if (flags.timeout) {
    if (flags.timeout->count() <= 0)
      return invalid("the bootstrap timeout must be positive, got " +
                     std::to_string(flags.timeout->count()) + " ms");
    config.timeout = *flags.timeout;
  }
  const Sourced<std::string> uri =
      pick_string(flags.bootstrap, "--bootstrap", getenv_fn, "FABRICBENCH_BOOTSTRAP");
  if (!uri.value) {
    // Started by mpirun or srun: every process is one rank of the launcher's job, where the
    // local default would start a whole job in each of them.
    if (const auto launched = detect_launcher(getenv_fn))
      return resolve_mpi(config, flags, getenv_fn, launched->variable, mpi_built);
  }
  const std::string which = uri.value.value_or("");
  if (which.empty() || which == "local") {
    if (flags.rank || flags.size)
      return invalid("--rank and --size only apply to --bootstrap tcp://HOST:PORT; the local "
                     "bootstrap starts and numbers its own ranks");
    return config;
  }
  if (which.starts_with(kTcpScheme)) {
    FB_TRY(resolve_tcp(which, flags, getenv_fn, config));
    return config;
  }
  if (is_mpi(which)) return resolve_mpi(config, flags, getenv_fn, uri.source, mpi_built);
  if (which.starts_with(kMpiScheme))
    return invalid("--bootstrap " + which + ": mpi takes no address; use --bootstrap mpi");
  return invalid("unknown bootstrap '" + which + "' (from " + uri.source + "); " + std::string(kUsage));
}

}  // namespace fb
