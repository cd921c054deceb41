#include "runner/launcher.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bootstrap/bootstrap_config.h"
#include "bootstrap/local_bootstrap.h"
#include "bootstrap/tcp_bootstrap.h"
#include "bootstrap/thread_bootstrap.h"
#ifdef FABRICBENCH_HAVE_MPI_BOOTSTRAP
#include "bootstrap/mpi_bootstrap.h"
#endif

namespace fb {
namespace {

int report_rank(const Bootstrap& bootstrap, const Status& status) {
  if (status.ok()) return kExitOk;
  const std::string message = status.to_string();
  const std::string prefix = "rank " + std::to_string(bootstrap.rank()) + ": ";
  // Bootstrap errors already say which rank saw them.
  if (message.rfind(prefix, 0) == 0)
    std::fprintf(stderr, "fabricbench: %s\n", message.c_str());
  else
    std::fprintf(stderr, "fabricbench: %serror: %s\n", prefix.c_str(), message.c_str());
  if (std::getenv("FABRICBENCH_DEBUG")) std::fprintf(stderr, "%s\n", status.debug_string().c_str());
  std::fflush(stderr);
  return status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

int launch_threads(const CommonPlan& plan, const RankMain& rank_main) {
  auto group = std::make_shared<ThreadGroup>(plan.np);
  std::vector<int> codes(plan.np, kExitOk);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < plan.np; ++rank)
    threads.emplace_back([&, rank] {
      ThreadBootstrap bootstrap(group, rank);
      bootstrap.set_timeout(plan.transport_options.timeout);
      codes[rank] = report_rank(bootstrap, rank_main(bootstrap));
    });
  for (auto& t : threads) t.join();
  for (int code : codes)
    if (code != kExitOk) return code;
  return kExitOk;
}

int launch_forked(const CommonPlan& plan, const RankMain& rank_main) {
  LocalLaunchOptions options{.np = plan.np, .timeout = plan.transport_options.timeout};
  LocalLaunchResult result = launch_local(options, [&](Bootstrap& bootstrap) {
    return report_rank(bootstrap, rank_main(bootstrap));
  });
  if (result.status.ok()) return kExitOk;
  // Ranks print their own errors; a rank that died without a word is only known here.
  std::fprintf(stderr, "fabricbench: %s\n", result.status.to_string().c_str());
  for (const auto& r : result.ranks)
    if (r.exit_code == kExitUsage) return kExitUsage;
  return kExitFailed;
}

// Under mpirun or srun every process hits the same error before it knows its MPI rank; one
// copy is enough. Each tcp rank is started by hand, so each one says it.
bool speaks_for_the_job(const BootstrapConfig& config) { return config.kind != "mpi" || config.rank <= 0; }

Expected<std::unique_ptr<Bootstrap>> connect_one_rank(const BootstrapConfig& config) {
#ifdef FABRICBENCH_HAVE_MPI_BOOTSTRAP
  if (config.kind == "mpi") return connect_mpi_bootstrap(config);
#endif
  if (config.kind == "tcp") return connect_tcp_bootstrap(config);
  return Status::error(StatusCode::kInternal, "no bootstrap of kind '" + config.kind + "' in this build",
                       FB_HERE);
}

// The value of --np if the command line gave one. Under mpi the launcher sets the job size;
// a different --np means the user expected something else and is refused, not ignored.
std::optional<std::string> np_flag(const std::vector<std::string>& command_line) {
  for (size_t i = 0; i < command_line.size(); ++i) {
    const std::string& arg = command_line[i];
    if (arg == "--np" && i + 1 < command_line.size()) return command_line[i + 1];
    if (arg.starts_with("--np=")) return arg.substr(5);
  }
  return std::nullopt;
}

Status check_np(const CommonPlan& plan, const Bootstrap& bootstrap) {
  const std::optional<std::string> np = np_flag(plan.command_line);
  if (!np || *np == std::to_string(bootstrap.size())) return ok_status();
  return Status::error(StatusCode::kInvalidArgument,
                       "--np " + *np + " does not apply under mpirun or srun, which started " +
                           std::to_string(bootstrap.size()) +
                           " ranks: the launcher sets the rank count (mpirun -np N, srun -n N); "
                           "drop --np",
                       FB_HERE);
}

}  // namespace

int launch_ranks(const CommonPlan& plan, bool ranks_as_threads, const RankMain& rank_main) {
  BootstrapFlags flags = plan.bootstrap;
  flags.timeout = plan.transport_options.timeout;
  const GetenvFn getenv_fn = [](const char* name) { return std::getenv(name); };
  auto config = resolve_bootstrap_config(flags, getenv_fn);
  if (!config.ok()) {
    const auto launched = detect_launcher(getenv_fn);
    if (!launched || launched->rank <= 0)
      std::fprintf(stderr, "fabricbench: error: %s\n", config.status().to_string().c_str());
    return kExitUsage;
  }
  if (config->kind == "local") {
    if (ranks_as_threads) return launch_threads(plan, rank_main);
    return launch_forked(plan, rank_main);
  }
  if (ranks_as_threads) {
    if (speaks_for_the_job(*config)) {
      if (config->kind == "mpi")
        std::fprintf(stderr, "fabricbench: error: transport '%s' runs ranks as threads of one process; "
                             "it cannot run one rank per process under mpirun or srun (run it "
                             "without a launcher, or choose another --transport)\n",
                     plan.transport.c_str());
      else
        std::fprintf(stderr, "fabricbench: error: transport '%s' runs ranks as threads of one process; "
                             "it cannot span a %s bootstrap (use --bootstrap local)\n",
                     plan.transport.c_str(), config->kind.c_str());
    }
    return kExitUsage;
  }
  auto bootstrap = connect_one_rank(config.value());
  if (!bootstrap.ok()) {
    if (speaks_for_the_job(*config))
      std::fprintf(stderr, "fabricbench: error: %s\n", bootstrap.status().to_string().c_str());
    return kExitFailed;
  }
  if (config->kind == "mpi") {
    const Status np = check_np(plan, **bootstrap);
    if (!np.ok()) {
      if ((*bootstrap)->rank() == 0) std::fprintf(stderr, "fabricbench: error: %s\n", np.to_string().c_str());
      return kExitUsage;
    }
  }
  return report_rank(**bootstrap, rank_main(**bootstrap));
}

}  // namespace fb
