#pragma once
// Result<T>: a value or an Error, in the shape of std::expected (C++23) and katran's
// SystemError results. OS paths return it; value() throws ToolkitError for code that
// prefers exceptions.
#include <utility>
#include <variant>

#include <cnikit/toolkit/Error.hpp>

namespace cnikit::toolkit {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    throwIfError();
    return std::get<0>(v_);
  }
  const T& value() const& {
    throwIfError();
    return std::get<0>(v_);
  }
  // By value: `for (auto& x : f().value())` must not iterate a destroyed temporary.
  T value() && {
    throwIfError();
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  T& operator*() & { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  void throwIfError() const {
    if (!ok()) throw ToolkitError(std::get<1>(v_));
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : failed_(true), error_(std::move(error)) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  void value() const {
    if (failed_) throw ToolkitError(error_);
  }
  const Error& error() const { return error_; }

 private:
  bool failed_ = false;
  Error error_;
};

using Status = Result<void>;

}  // namespace cnikit::toolkit
