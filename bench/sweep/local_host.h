// Where this rank runs, as a fabric sweep names hosts: its --label, its hostname, and the
// local address it reaches the job's rendezvous with.
#pragma once

#include <string>

#include "bootstrap/bootstrap_config.h"
#include "fabricbench/transport/bootstrap.h"
#include "fabric/host_map.h"
#include "plan.h"

namespace fb {

// labels: empty, one name, or one per local rank. The address is the source address of the
// route to the tcp bootstrap's rendezvous; empty with other bootstraps (the hostname then
// identifies the host).
Expected<RankHost> local_rank_host(const FabricPlan& fabric, const BootstrapFlags& flags, int local_rank);

// Collective: every rank's host, grouped. Fails when the job runs on fewer than two hosts,
// saying how to give it more (`command` names the benchmark in the message).
Expected<HostMap> agree_on_hosts(const FabricPlan& fabric, const BootstrapFlags& flags, Bootstrap& bootstrap,
                                 const std::string& command);

}  // namespace fb
