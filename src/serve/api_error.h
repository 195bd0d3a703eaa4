// An error that reaches the client as an OpenAI error object {"error": {"message", "type", "param", "code"}} with
// an HTTP status. Client mistakes are 4xx; nothing a client sends may produce a 5xx.
#pragma once
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace hyb::serve {

struct ApiError : std::runtime_error {
  int status;
  std::string type, param, code;
  ApiError(int status_, std::string message, std::string param_ = "", std::string code_ = "",
           std::string type_ = "invalid_request_error")
      : std::runtime_error(std::move(message)), status(status_), type(std::move(type_)), param(std::move(param_)),
        code(std::move(code_)) {}
  nlohmann::json body() const {
    auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
    return {{"error", {{"message", what()}, {"type", type}, {"param", opt(param)}, {"code", opt(code)}}}};
  }
};

}  // namespace hyb::serve
