#include "fabricbench/transport/status.h"

#include <cstring>

namespace fb {

std::string_view to_string(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kUnsupported: return "unsupported";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kTimeout: return "timeout";
    case StatusCode::kPeerFailed: return "peer failed";
    case StatusCode::kProtocol: return "protocol error";
    case StatusCode::kIoError: return "I/O error";
    case StatusCode::kNative: return "native library error";
    case StatusCode::kDataCorruption: return "data corruption";
    case StatusCode::kInternal: return "internal error";
  }
  return "unknown";
}

Status Status::error(StatusCode code, std::string message, SourcePlace where) {
  auto rep = std::make_shared<Rep>();
  rep->code = code;
  rep->message = std::move(message);
  rep->trail.push_back(where);
  return Status(std::move(rep));
}

Status Status::from_errno(int err, std::string_view operation, SourcePlace where) {
  auto rep = std::make_shared<Rep>();
  rep->code = StatusCode::kIoError;
  rep->operation = std::string(operation);
  rep->message = std::string(operation) + ": " + std::strerror(err);
  rep->native_code = err;
  rep->trail.push_back(where);
  return Status(std::move(rep));
}

Status Status::native(std::string_view library, int64_t code, std::string_view code_text,
                      std::string_view operation, SourcePlace where) {
  auto rep = std::make_shared<Rep>();
  rep->code = StatusCode::kNative;
  rep->operation = std::string(operation);
  rep->message = std::string(operation) + " failed: " + std::string(code_text) + " (" +
                 std::string(library) + " code " + std::to_string(code) + ")";
  rep->native_code = code;
  rep->trail.push_back(where);
  return Status(std::move(rep));
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

const std::string& Status::operation() const {
  static const std::string kEmpty;
  return rep_ ? rep_->operation : kEmpty;
}

Status Status::with_context(std::string_view context) const {
  if (!rep_) return *this;
  auto rep = std::make_shared<Rep>(*rep_);
  rep->message = std::string(context) + ": " + rep->message;
  return Status(std::move(rep));
}

Status Status::through(SourcePlace where) const {
  if (!rep_) return *this;
  auto rep = std::make_shared<Rep>(*rep_);
  rep->trail.push_back(where);
  return Status(std::move(rep));
}

std::string Status::to_string() const { return rep_ ? rep_->message : "ok"; }

std::string Status::debug_string() const {
  if (!rep_) return "ok";
  std::string out = std::string(fb::to_string(rep_->code)) + ": " + rep_->message;
  for (const auto& place : rep_->trail) {
    const char* base = std::strrchr(place.file, '/');
    out += "\n  at " + std::string(base ? base + 1 : place.file) + ":" + std::to_string(place.line);
  }
  return out;
}

}  // namespace fb
