// CAF-free error values for code that must not pull in CAF (storage, host
// operations, fc-stub helpers). Actors convert them with to_caf_error()
// (messages/error.hpp) at the boundary, adding the op_id.
#pragma once

#include "messages/errc.hpp"

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace banger {

struct Error {
  Errc code = Errc::internal;
  std::string message;
};

/// Builds an Errc::system error naming the call, the object and errno's text.
Error system_error(std::string_view call, std::string_view object, int errnum);

/// A value or an Error; the storage and host-operation layers return these.
template <class T>
class [[nodiscard]] Result {
public:
  Result(T value) : data_(std::move(value)) {}
  Result(Error error) : data_(std::move(error)) {}

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(data_); }
  const T& value() const& { assert(ok()); return std::get<0>(data_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(data_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(data_)); }

private:
  std::variant<T, Error> data_;
};

/// Result of an operation that produces no value.
template <>
class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const& { assert(failed_); return error_; }
  Error&& error() && { assert(failed_); return std::move(error_); }

private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

} // namespace banger
