// Status / Result: error values instead of exceptions across library boundaries.
// An Error carries a human-readable message already formatted in the CLI's
// contract style ("<file>:<line>: <what> (<value>)") where a location is known.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace bqx {

struct Error {
  std::string message;
};

// Result<T>: either a value or an Error. Deliberately tiny (C++20 has no std::expected).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Result(Error error) : data_(std::move(error)) {}        // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<T>(data_); }
  const T& value() const& { assert(ok()); return std::get<T>(data_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<Error>(data_); }

 private:
  std::variant<T, Error> data_;
};

// Status: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  static Status Ok() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

}  // namespace bqx

// Propagate an error from an expression yielding Status or Result.
#define BQX_TRY(expr)                                   \
  do {                                                  \
    auto&& bqx_try_result_ = (expr);                    \
    if (!bqx_try_result_.ok()) return bqx_try_result_.error(); \
  } while (0)

// Binds the value of a Result expression to `decl`, or returns its error.
#define BQX_CONCAT_INNER_(a, b) a##b
#define BQX_CONCAT_(a, b) BQX_CONCAT_INNER_(a, b)
#define BQX_ASSIGN_OR_RETURN(decl, expr) BQX_ASSIGN_OR_RETURN_IMPL_(BQX_CONCAT_(bqx_result_, __LINE__), decl, expr)
#define BQX_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                \
  if (!tmp) return tmp.error();                     \
  decl = std::move(*tmp)
