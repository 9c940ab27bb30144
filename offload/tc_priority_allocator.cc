// TcPriorityAllocator (see tc_priority_allocator.h). A shape is encoded as
// bytes (protocol, then field number and mask bytes per masked key, in the
// match's field order) so that one hash map lookup finds it.
#include "offload/tc_priority_allocator.h"

#include <cstring>
#include <mutex>

namespace flowlift {

TcPriorityAllocator::TcPriorityAllocator(uint16_t first, uint16_t last)
    : first_(first == 0 ? 1 : first), last_(last), next_(first == 0 ? 1 : first) {}

std::string TcPriorityAllocator::shape_of(const TcFlowerRule& rule) {
  std::string shape;
  shape.reserve(2 + rule.match.keys.size() * 8);
  char protocol[sizeof(rule.protocol)];
  std::memcpy(protocol, &rule.protocol, sizeof(protocol));
  shape.append(protocol, sizeof(protocol));
  // TcFlowerMatch keeps keys sorted by field, each at most once, so equal
  // shapes encode equally.
  for (const TcFlowerKey& key : rule.match.keys) {
    if (key.field >= TcFlowerField::kCount) continue;
    const uint8_t width = key.width();
    bool masked = false;
    for (uint8_t i = 0; i < width; ++i) masked = masked || key.mask[i] != 0;
    if (!masked) continue;  // a zero mask matches every value: no part of the shape
    shape.push_back(static_cast<char>(key.field));
    shape.append(reinterpret_cast<const char*>(key.mask.data()), width);
  }
  return shape;
}

Result<uint16_t> TcPriorityAllocator::priority_for(const TcFlowerRule& rule) {
  const std::string shape = shape_of(rule);
  {
    std::shared_lock lock(mutex_);
    if (auto it = priorities_.find(shape); it != priorities_.end()) return it->second;
  }
  std::unique_lock lock(mutex_);
  if (auto it = priorities_.find(shape); it != priorities_.end()) return it->second;  // raced
  if (next_ > last_)
    return Status(ENOSPC, "all " + std::to_string(last_ >= first_ ? last_ - first_ + 1 : 0) +
                              " TC priorities (" + std::to_string(first_) + ".." + std::to_string(last_) +
                              ") already name a (protocol, mask shape); the flow table has more distinct "
                              "match shapes than TC can hold apart");
  const auto priority = static_cast<uint16_t>(next_++);
  priorities_.emplace(shape, priority);
  return priority;
}

size_t TcPriorityAllocator::shapes() const {
  std::shared_lock lock(mutex_);
  return priorities_.size();
}

}  // namespace flowlift
