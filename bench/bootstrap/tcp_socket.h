// The TCP plumbing of the tcp bootstrap: listen, connect with retry, name things in messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "bootstrap/unique_fd.h"
#include "fabricbench/transport/deadline.h"
#include "fabricbench/transport/status.h"

namespace fb {

// "node1:29500", "[fe80::1]:29500".
std::string format_host_port(const std::string& host, uint16_t port);
// "5 s", "1500 ms": how timeouts read in messages.
std::string format_duration(std::chrono::milliseconds d);
std::string this_hostname();

// Listens on host:port. A name of this host (or "0.0.0.0", "*", "") binds every IPv4
// address, because such names often resolve to a loopback alias (Debian maps the hostname
// to 127.0.1.1) that other hosts could not reach.
Expected<UniqueFd> listen_tcp(const std::string& host, uint16_t port, int backlog);

// Connects to host:port, retrying with backoff until the deadline so that ranks may start
// before rank 0 is listening. Fails with kUnavailable naming the last error.
Expected<UniqueFd> connect_tcp_with_retry(const std::string& host, uint16_t port,
                                          const Deadline& deadline);

// Bootstrap frames are small request/answer pairs: Nagle would only add latency.
void set_nodelay(int fd);

// "10.0.0.7:41234" for the peer of a connected socket, for logs.
std::string peer_address(int fd);
// True when the peer of a connected socket has closed it or reset it.
bool peer_closed(int fd);

}  // namespace fb
