#include "collective/collective_record.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runner/stats.h"

namespace fb {
namespace {

// A flat little-endian encoding: the sender and receiver are the same program.
class Writer {
 public:
  template <typename T>
  void put(const T& value) {
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    out_.insert(out_.end(), p, p + sizeof(T));
  }
  void put_text(const std::string& text) {
    put<uint64_t>(text.size());
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    out_.insert(out_.end(), p, p + text.size());
  }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteSpan in) : in_(in) {}
  template <typename T>
  bool get(T& value) {
    if (in_.size() - at_ < sizeof(T)) return false;
    std::memcpy(&value, in_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool get_text(std::string& text) {
    uint64_t n = 0;
    if (!get(n) || in_.size() - at_ < n) return false;
    text.assign(reinterpret_cast<const char*>(in_.data() + at_), n);
    at_ += n;
    return true;
  }
  bool done() const { return at_ == in_.size(); }

 private:
  ByteSpan in_;
  size_t at_ = 0;
};

}  // namespace

Bytes serialize(const CollectiveRankResult& r) {
  Writer w;
  w.put<int32_t>(r.rank);
  w.put_text(r.host);
  w.put<int32_t>(static_cast<int32_t>(r.status.code()));
  w.put_text(r.status.ok() ? std::string() : r.status.to_string());
  w.put<uint64_t>(r.iterations);
  w.put<double>(r.elapsed_s);
  w.put<uint8_t>(r.device_elapsed_s ? 1 : 0);
  w.put<double>(r.device_elapsed_s.value_or(0));
  w.put<uint8_t>(r.checked ? 1 : 0);
  w.put<uint64_t>(r.wrong);
  const size_t n = std::min<size_t>(r.samples_us.size(), kCollectiveSampleCap);
  w.put<uint64_t>(n);
  for (size_t i = 0; i < n; ++i) w.put<double>(r.samples_us[i]);
  w.put_text(counters_to_json(r.counters).dump());
  return w.take();
}

Expected<CollectiveRankResult> deserialize_collective_result(ByteSpan bytes) {
  Reader in(bytes);
  CollectiveRankResult r;
  int32_t rank = 0, code = 0;
  std::string error;
  uint8_t checked = 0, timed_on_device = 0;
  double device_elapsed_s = 0;
  uint64_t samples = 0;
  bool ok = in.get(rank) && in.get_text(r.host) && in.get(code) && in.get_text(error) &&
            in.get(r.iterations) && in.get(r.elapsed_s) && in.get(timed_on_device) &&
            in.get(device_elapsed_s) && in.get(checked) && in.get(r.wrong) && in.get(samples) &&
            samples <= kCollectiveSampleCap;
  for (uint64_t i = 0; ok && i < samples; ++i) {
    double s = 0;
    ok = in.get(s);
    r.samples_us.push_back(s);
  }
  std::string counters;
  ok = ok && in.get_text(counters) && nlohmann::json::accept(counters);
  if (ok) {
    auto parsed = host_counters_from_json(nlohmann::json::parse(counters));
    ok = parsed.ok();
    if (ok) r.counters = std::move(parsed.value());
  }
  if (!ok || !in.done())
    return Status::error(StatusCode::kProtocol, "a rank sent a malformed collective result", FB_HERE);
  r.rank = rank;
  r.checked = checked != 0;
  if (timed_on_device) r.device_elapsed_s = device_elapsed_s;
  if (code != static_cast<int32_t>(StatusCode::kOk))
    r.status = Status::error(static_cast<StatusCode>(code), error, FB_HERE);
  return r;
}

double bus_factor(CollectiveKind kind, int ranks) {
  if (ranks < 1) return 0;
  const double n = ranks;
  return kind == CollectiveKind::kAllReduce ? 2 * (n - 1) / n : (n - 1) / n;
}

Record build_collective_record(const CollectiveCase& c, const std::vector<CollectiveRankResult>& ranks) {
  Record record;
  record.id = c.identity;
  record.warmup = c.warmup;
  record.sample_unit = "one iteration of the collective";
  CollectiveResult result;
  result.count = c.shape.count;
  result.bytes_requested = c.bytes_requested;

  const CollectiveRankResult* slowest = nullptr;
  const CollectiveRankResult* failed = nullptr;
  std::vector<int> wrong_ranks;
  result.checked = !ranks.empty();
  for (const auto& r : ranks) {
    add_host_counters(record, r.counters);
    if (!r.status.ok() && !failed) failed = &r;
    if (!slowest || r.elapsed_s * static_cast<double>(std::max<uint64_t>(slowest->iterations, 1)) >
                        slowest->elapsed_s * static_cast<double>(std::max<uint64_t>(r.iterations, 1)))
      slowest = &r;
    result.checked = result.checked && r.checked;
    result.wrong += r.wrong;
    if (r.wrong > 0) wrong_ranks.push_back(r.rank);
    RankSummary summary;
    summary.rank = r.rank;
    summary.host = r.host;
    summary.role = "member";
    summary.iterations = r.iterations;
    summary.elapsed_s = r.elapsed_s;
    summary.latency_us = summarize(r.samples_us);
    summary.bandwidth =
        bandwidth_from(static_cast<double>(c.identity.bytes) * static_cast<double>(r.iterations), r.elapsed_s);
    record.per_rank.push_back(summary);
  }
  if (slowest && slowest->iterations > 0) {
    record.iterations = slowest->iterations;
    result.slowest_rank = slowest->rank;
    result.time_us = slowest->elapsed_s * 1e6 / static_cast<double>(slowest->iterations);
    if (slowest->device_elapsed_s)
      result.device_time_us = *slowest->device_elapsed_s * 1e6 / static_cast<double>(slowest->iterations);
    if (result.time_us > 0) {
      result.algbw_gbytes_per_s = static_cast<double>(c.identity.bytes) / (result.time_us * 1e3);
      result.busbw_gbytes_per_s = result.algbw_gbytes_per_s * bus_factor(c.shape.kind, c.shape.ranks);
      record.bandwidth = bandwidth_from(static_cast<double>(c.identity.bytes), result.time_us * 1e-6);
      record.msg_rate = 1e6 / result.time_us;
    }
    record.latency_us = summarize(slowest->samples_us);
    record.samples_us = slowest->samples_us;
    record.samples_total = slowest->iterations;
    record.samples_cap = kCollectiveSampleCap;
  }
  record.collective = result;
  if (failed) {
    record.status = RecordStatus::kFailed;
    record.reason = "rank " + std::to_string(failed->rank) + ": " + failed->status.to_string();
  } else if (result.wrong > 0) {
    record.status = RecordStatus::kFailed;
    std::string where;
    for (int r : wrong_ranks) where.append(where.empty() ? "" : ",").append(std::to_string(r));
    record.reason = std::to_string(result.wrong) + " wrong element" + (result.wrong == 1 ? "" : "s") +
                    " (ranks " + where + ")";
  }
  return record;
}

}  // namespace fb
