#include "runner/launcher.h"

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "bootstrap/bootstrap_config.h"
#include "bootstrap/local_bootstrap.h"
#include "bootstrap/tcp_bootstrap.h"
#include "bootstrap/thread_bootstrap.h"

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

}  // namespace

int launch_ranks(const CommonPlan& plan, bool ranks_as_threads, const RankMain& rank_main) {
  BootstrapFlags flags = plan.bootstrap;
  flags.timeout = plan.transport_options.timeout;
  auto config = resolve_bootstrap_config(flags, [](const char* name) { return std::getenv(name); });
  if (!config.ok()) {
    std::fprintf(stderr, "fabricbench: error: %s\n", config.status().to_string().c_str());
    return kExitUsage;
  }
  if (config->kind == "local") {
    if (ranks_as_threads) return launch_threads(plan, rank_main);
    return launch_forked(plan, rank_main);
  }
  if (ranks_as_threads) {
    std::fprintf(stderr, "fabricbench: error: transport '%s' runs ranks as threads of one process; "
                         "it cannot span a %s bootstrap (use --bootstrap local)\n",
                 plan.transport.c_str(), config->kind.c_str());
    return kExitUsage;
  }
  auto bootstrap = connect_tcp_bootstrap(config.value());
  if (!bootstrap.ok()) {
    std::fprintf(stderr, "fabricbench: error: %s\n", bootstrap.status().to_string().c_str());
    return kExitFailed;
  }
  return report_rank(**bootstrap, rank_main(**bootstrap));
}

}  // namespace fb
