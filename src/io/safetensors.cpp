#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include "core/json_parse.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace hyb {

using json = nlohmann::json;

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string shape_to_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string TensorView::shape_str() const { return shape_to_str(shape); }

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_shared<MappedFile>(path)) {
  const uint8_t* p = file_->data();
  const size_t n = file_->size();
  if (n < 8) fail(path, ": truncated safetensors file (", n, " bytes, no header length)");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = hlen << 8 | p[i];
  if (hlen > n - 8) fail(path, ": safetensors header length ", hlen, " runs past the end of the file (", n, " bytes)");
  if (hlen > (100u << 20)) fail(path, ": safetensors header length ", hlen, " is implausibly large");
  const json h = parse_json(std::string_view(reinterpret_cast<const char*>(p + 8), size_t(hlen)),
                            path + ": safetensors header");
  if (!h.is_object()) fail(path, ": safetensors header must be a JSON object");
  const uint8_t* base = p + 8 + hlen;
  const size_t data_size = n - 8 - hlen;
  for (auto& [key, e] : h.items()) {
    const std::string& name = key;  // a structured binding cannot be captured by the lambda below (clang < 16)
    if (name == "__metadata__") {
      if (e.is_object())
        for (auto& [k, v] : e.items())
          if (v.is_string()) metadata_[k] = v.get<std::string>();
      continue;
    }
    auto bad = [&](const std::string& why) { fail(path, ": tensor '", name, "': ", why); };
    if (!e.is_object()) bad("header entry is not an object");
    if (!e.contains("dtype") || !e["dtype"].is_string()) bad("missing 'dtype'");
    if (!e.contains("shape") || !e["shape"].is_array()) bad("missing 'shape'");
    if (!e.contains("data_offsets") || !e["data_offsets"].is_array() || e["data_offsets"].size() != 2)
      bad("missing 'data_offsets'");
    TensorView t;
    t.name = name;
    t.file = path;
    if (!dtype_from_name(e["dtype"].get<std::string>(), &t.dtype))
      bad("unsupported dtype '" + e["dtype"].get<std::string>() + "'");
    uint64_t numel = 1;
    for (auto& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) bad("shape entries must be non-negative integers");
      t.shape.push_back(d.get<int64_t>());
      if (t.shape.back() > 0 && numel > (uint64_t(1) << 50) / uint64_t(t.shape.back())) bad("shape too large");
      numel *= uint64_t(t.shape.back());
    }
    auto& off = e["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) bad("data_offsets must be non-negative integers");
    uint64_t b = off[0].get<uint64_t>(), en = off[1].get<uint64_t>();
    if (b > en) bad("data_offsets begin > end");
    if (en > data_size)
      bad(str("data_offsets [", b, ", ", en, ") point past the end of the data (", data_size,
              " bytes; file truncated?)"));
    if (en - b != numel * dtype_size(t.dtype))
      bad(str("data is ", en - b, " bytes but ", dtype_name(t.dtype), " ", t.shape_str(), " needs ",
              numel * dtype_size(t.dtype)));
    t.data = base + b;
    t.nbytes = size_t(en - b);
    tensors_.emplace(name, std::move(t));
  }
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

size_t TensorSpec::nbytes() const {
  size_t n = dtype_size(dtype);
  for (auto d : shape) n *= size_t(d);
  return n;
}

struct SafetensorsWriter::Impl {
  std::string path;
  std::vector<TensorSpec> specs;
  size_t next = 0;
  std::unique_ptr<AtomicFile> out;
};

SafetensorsWriter::SafetensorsWriter(const std::string& path, std::vector<TensorSpec> specs,
                                     const std::map<std::string, std::string>& metadata)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->specs = std::move(specs);
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t off = 0;
  for (auto& s : impl_->specs) {
    h[s.name] = {{"dtype", dtype_name(s.dtype)}, {"shape", s.shape}, {"data_offsets", {off, off + s.nbytes()}}};
    off += s.nbytes();
  }
  std::string hs = h.dump();
  hs.append((8 - hs.size() % 8) % 8, ' ');  // keep the data area 8-byte aligned
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(hs.size()) >> (8 * i));
  impl_->out = std::make_unique<AtomicFile>(path);
  impl_->out->write(len, 8);
  impl_->out->write(hs.data(), hs.size());
}

SafetensorsWriter::~SafetensorsWriter() = default;

void SafetensorsWriter::write(const std::string& name, const void* data, size_t nbytes) {
  if (impl_->next >= impl_->specs.size()) fail(impl_->path, ": more tensors written than declared");
  const auto& s = impl_->specs[impl_->next];
  if (s.name != name || s.nbytes() != nbytes)
    fail(impl_->path, ": tensor '", name, "' written out of order or with the wrong size");
  impl_->out->write(data, nbytes);
  ++impl_->next;
}

void SafetensorsWriter::finish() {
  if (impl_->next != impl_->specs.size())
    fail(impl_->path, ": only ", impl_->next, " of ", impl_->specs.size(), " tensors written");
  impl_->out->commit();
}

}  // namespace hyb
