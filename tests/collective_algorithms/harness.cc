#include "harness.h"

#include <thread>

#include "bootstrap/thread_bootstrap.h"

namespace fb::collective_tests {
namespace {

Status run_rank(const std::string& transport, std::shared_ptr<ThreadGroup> group, int rank,
                const TransportOptions& options, const RankBody& body) {
  ThreadBootstrap bootstrap(std::move(group), rank);
  bootstrap.set_timeout(kTimeout);
  FB_TRY_ASSIGN(auto context, open_transport(transport, bootstrap, options));
  RankEnv env{*context, bootstrap};
  Status result = body(env);
  if (!result.ok()) return result;  // the others fail at their next wait or at close
  return context->close();
}

}  // namespace

std::vector<Status> run_ranks(const std::string& transport, int ranks, const RankBody& body,
                              TransportOptions options) {
  options.timeout = kTimeout;
  auto group = std::make_shared<ThreadGroup>(ranks);
  std::vector<Status> results(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < ranks; ++rank)
    threads.emplace_back([&, rank] {
      results[static_cast<size_t>(rank)] = run_rank(transport, group, rank, options, body);
    });
  for (auto& thread : threads) thread.join();
  return results;
}

std::string unusable_reason(const std::string& transport) {
  const TransportInfo* info = TransportRegistry::instance().find(transport);
  if (info == nullptr) {
    for (const auto& [name, reason] : TransportRegistry::not_built())
      if (name == transport) return "transport '" + transport + "' is not built in: " + reason;
    return "transport '" + transport + "' is not built in";
  }
  if (Status usable = info->probe(); !usable.ok())
    return "transport '" + transport + "' is not usable here: " + usable.to_string();
  return {};
}

}  // namespace fb::collective_tests
