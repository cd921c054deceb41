// Which devices' counters describe a run on this host.
#pragma once

#include <map>
#include <string>

#include "counters/counter_snapshot.h"

namespace fb {

// From what the transport says it uses (Context::describe()): the verbs transport names its
// RDMA device ("device", "port") and the netdev of its GID ("gid.netdev"); only those are
// read. A transport that names no device (UCX picks its own lanes, loopback uses none) gets
// every port of every RDMA device and every NIC that is up (virtual netdevs such as veths and
// bridges only where no NIC is up), except lo: loopback traffic
// never leaves the host, so lo is read only when every rank of the run is on this host (their
// sockets meet there) or when no other netdev is up. A "device" that sysfs does not list as
// an RDMA device (cuda-ipc names its GPU so) gets the host-wide choice. ethtool statistics
// are read live.
CounterScope counter_scope(const std::string& sysfs_root, const std::map<std::string, std::string>& transport_details,
                           bool all_ranks_on_this_host);

}  // namespace fb
