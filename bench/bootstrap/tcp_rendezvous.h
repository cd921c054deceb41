// Joining a tcp bootstrap job: rank 0 admits one connection per rank, checking each hello
// (job token, size, rank), then sends every rank the roster of hosts; other ranks connect,
// introduce themselves and wait for that roster.
#pragma once

#include <string>
#include <vector>

#include "bootstrap/tcp_bootstrap.h"
#include "bootstrap/unique_fd.h"
#include "fabricbench/transport/status.h"

namespace fb {

inline constexpr uint32_t kHelloMagic = 0x46424253;  // "FBBS"
inline constexpr uint32_t kTcpProtocolVersion = 1;

struct Hello {
  uint32_t magic = kHelloMagic;
  uint32_t version = kTcpProtocolVersion;
  int rank = -1;
  int size = -1;
  std::string token;
  std::string hostname;
};

Bytes encode_hello(const Hello& hello);
Expected<Hello> decode_hello(ByteSpan payload);

struct Rendezvous {
  std::vector<std::string> hostnames;  // indexed by rank
  UniqueFd root;                       // members: the connection to rank 0
  std::vector<UniqueFd> members;       // rank 0: indexed by rank, empty at 0
};

// hostname: this rank's, already defaulted.
Expected<Rendezvous> rendezvous_as_root(const TcpBootstrapOptions& options, const std::string& hostname);
Expected<Rendezvous> rendezvous_as_member(const TcpBootstrapOptions& options, const std::string& hostname);

}  // namespace fb
