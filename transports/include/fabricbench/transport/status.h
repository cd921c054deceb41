// Errors are values: a Status carries what failed (operation), why (message, native code) and
// where (file:line, plus the places it was propagated through).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace fb {

enum class StatusCode {
  kOk,
  kInvalidArgument,  // the user asked for something malformed
  kUnsupported,      // valid request this transport/host cannot do: reported as skipped
  kUnavailable,      // a resource (library, device, rendezvous) cannot be reached
  kTimeout,          // a deadline passed; the message names who did not answer
  kPeerFailed,       // a peer rank died or closed its connection
  kProtocol,         // a peer sent something malformed (bad token, bad frame)
  kIoError,          // a system call failed
  kNative,           // a native library (UCX, verbs, CUDA) returned an error code
  kDataCorruption,   // verification found wrong data
  kInternal,
};

std::string_view to_string(StatusCode code);

struct SourcePlace {
  const char* file = "";
  int line = 0;
};
#define FB_HERE (::fb::SourcePlace{__FILE__, __LINE__})

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok

  static Status error(StatusCode code, std::string message, SourcePlace where);
  // errno from a system call; operation is the call ("connect", "fork").
  static Status from_errno(int err, std::string_view operation, SourcePlace where);
  // A native library error: library ("ucx"), its numeric code and its own text for it.
  static Status native(std::string_view library, int64_t code, std::string_view code_text,
                       std::string_view operation, SourcePlace where);

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  const std::string& operation() const;
  int64_t native_code() const { return rep_ ? rep_->native_code : 0; }

  // Returns a copy whose message is prefixed with context ("rank 1: ...").
  Status with_context(std::string_view context) const;
  // Records a place the error was propagated through (FB_TRY does this).
  Status through(SourcePlace where) const;

  // One line for users: "<message>"; the full form adds operation, code and places.
  std::string to_string() const;
  std::string debug_string() const;

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    std::string operation;
    int64_t native_code = 0;
    std::vector<SourcePlace> trail;
  };
  explicit Status(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}
  std::shared_ptr<const Rep> rep_;
};

inline Status ok_status() { return Status(); }

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(Status status) : v_(std::move(status)) {}  // NOLINT: must be an error

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace fb

#define FB_CONCAT_INNER(a, b) a##b
#define FB_CONCAT(a, b) FB_CONCAT_INNER(a, b)

// Propagates a failed Status, adding this place to its trail.
#define FB_TRY(expr)                                         \
  do {                                                       \
    ::fb::Status fb_try_status_ = (expr);                    \
    if (!fb_try_status_.ok()) return fb_try_status_.through(FB_HERE); \
  } while (0)

// FB_TRY_ASSIGN(auto x, expected_expr): declares x from the value or propagates the error.
#define FB_TRY_ASSIGN(decl, expr) FB_TRY_ASSIGN_IMPL(FB_CONCAT(fb_expected_, __LINE__), decl, expr)
#define FB_TRY_ASSIGN_IMPL(tmp, decl, expr)                      \
  auto tmp = (expr);                                             \
  if (!tmp.ok()) return tmp.status().through(FB_HERE);           \
  decl = std::move(tmp).value()
