#include "p2p/p2p_record.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "results/fabric_json.h"
#include "runner/stats.h"

namespace fb {

Bytes serialize(const RankResult& r) {
  const auto& m = r.measurement;
  const size_t kept = std::min<size_t>(m.samples_us.size(), kGatheredSampleCap);
  nlohmann::json j = {
      {"rank", r.rank}, {"host", r.host}, {"role", r.role}, {"peer", r.peer},
      {"ok", r.status.ok()}, {"error", r.status.to_string()},
      {"samples_us", std::vector<double>(m.samples_us.begin(), m.samples_us.begin() + kept)},
      {"samples_total", m.samples_us.size()}, {"sample_unit", m.sample_unit},
      {"iterations", m.iterations}, {"warmup", m.warmup}, {"elapsed_s", m.elapsed_s},
      {"bytes_sent", m.bytes_sent}, {"messages", m.messages},
  };
  if (r.soak) j["soak"] = to_json(*r.soak);
  const std::string text = j.dump();
  const auto* first = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(first, first + text.size());
}

Expected<RankResult> deserialize_rank_result(ByteSpan bytes) {
  try {
    const auto j = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                                         reinterpret_cast<const char*>(bytes.data()) + bytes.size());
    RankResult r;
    r.rank = j.at("rank");
    r.host = j.at("host");
    r.role = j.at("role");
    r.peer = j.at("peer");
    if (!j.at("ok").get<bool>())
      r.status = Status::error(StatusCode::kPeerFailed, j.at("error").get<std::string>(), FB_HERE);
    auto& m = r.measurement;
    m.samples_us = j.at("samples_us").get<std::vector<double>>();
    m.sample_unit = j.at("sample_unit");
    m.iterations = j.at("iterations");
    m.warmup = j.at("warmup");
    m.elapsed_s = j.at("elapsed_s");
    m.bytes_sent = j.at("bytes_sent");
    m.messages = j.at("messages");
    if (j.contains("soak")) {
      auto soak = soak_from_json(j.at("soak"), "soak");
      if (!soak.ok()) return soak.status();
      r.soak = std::move(soak.value());
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Status::error(StatusCode::kProtocol, std::string("malformed per-rank result: ") + e.what(), FB_HERE);
  }
}

namespace {

RankSummary summarize_rank(const RankResult& r) {
  const auto& m = r.measurement;
  RankSummary s;
  s.rank = r.rank;
  s.host = r.host;
  s.role = r.role;
  s.peer = r.peer;
  s.iterations = m.iterations;
  s.elapsed_s = m.elapsed_s;
  s.latency_us = summarize(m.samples_us);
  s.bandwidth = bandwidth_from(static_cast<double>(m.bytes_sent), m.elapsed_s);
  s.msg_rate = m.elapsed_s > 0 ? static_cast<double>(m.messages) / m.elapsed_s : 0;
  return s;
}

const RankResult* find_rank(const std::vector<RankResult>& ranks, int rank) {
  for (const auto& r : ranks)
    if (r.rank == rank) return &r;
  return nullptr;
}

}  // namespace

Record skipped_record(RecordIdentity identity, std::string reason) {
  Record record;
  record.id = std::move(identity);
  record.status = RecordStatus::kSkipped;
  record.reason = std::move(reason);
  return record;
}

Record build_p2p_record(RecordIdentity identity, int window, const std::vector<RankResult>& ranks) {
  Record record;
  record.id = std::move(identity);
  record.samples_cap = kRecordSampleCap;
  const bool latency = record.id.test == "latency";
  if (!latency) record.window = window;

  for (const auto& r : ranks) {
    record.per_rank.push_back(summarize_rank(r));
    if (!r.status.ok() && record.status == RecordStatus::kOk) {
      record.status = RecordStatus::kFailed;
      record.reason = r.status.to_string();
    }
  }
  if (record.status != RecordStatus::kOk) return record;

  std::vector<double> merged;
  double bytes_per_s = 0;
  double messages_per_s = 0;
  for (const auto& initiator : ranks) {
    if (initiator.role != "initiator") continue;
    const auto& m = initiator.measurement;
    merged.insert(merged.end(), m.samples_us.begin(), m.samples_us.end());
    const RankResult* responder = find_rank(ranks, initiator.peer);
    const double elapsed = std::max(m.elapsed_s, responder ? responder->measurement.elapsed_s : 0.0);
    double pair_bytes = static_cast<double>(m.bytes_sent);
    double pair_messages = static_cast<double>(m.messages);
    if (record.id.test == "bibw" && responder) {
      pair_bytes += static_cast<double>(responder->measurement.bytes_sent);
      pair_messages += static_cast<double>(responder->measurement.messages);
    }
    if (!latency && elapsed > 0) {
      bytes_per_s += pair_bytes / elapsed;
      messages_per_s += pair_messages / elapsed;
    }
    if (initiator.soak && !record.soak) record.soak = initiator.soak;
    if (initiator.rank == 0 || record.samples_us.empty()) {
      record.iterations = m.iterations;
      record.warmup = m.warmup;
      record.sample_unit = m.sample_unit;
      record.samples_total = m.samples_us.size();
      const size_t kept = std::min<size_t>(m.samples_us.size(), kRecordSampleCap);
      record.samples_us.assign(m.samples_us.begin(), m.samples_us.begin() + kept);
    }
  }
  record.latency_us = summarize(std::move(merged));
  if (latency && record.latency_us.mean > 0) {
    // Each pair delivers one message per one-way latency.
    const double pairs = static_cast<double>(ranks.size() / 2);
    messages_per_s = pairs / (record.latency_us.mean * 1e-6);
    bytes_per_s = messages_per_s * static_cast<double>(record.id.bytes);
  }
  record.bandwidth = bandwidth_from(bytes_per_s, 1.0);
  record.msg_rate = messages_per_s;
  return record;
}

}  // namespace fb
