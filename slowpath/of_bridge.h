// OfBridge: one OpenFlow bridge at run time (what ofproto is to Open
// vSwitch): its tables, its ports as translation sees them, and the lock that
// lets handler threads translate while the control plane changes rules.
// OfBridgeSet: the daemon's bridges by name.
//
// Locking, and why it is a reader-writer lock: the classifier allows
// concurrent lookups but not a lookup beside a writer, and XlateBridge is a
// plain value. Translation, crediting and dumps take the shared side;
// flow-mods, expiry, port changes and reclaiming retired rules take the
// exclusive side. Flow-mods are rare next to upcalls, so readers seldom wait.
//
// change_sequence() is how the revalidator knows a megaflow may be stale:
// every change that can alter a translation (a flow-mod, an expiry, a port
// added or removed) bumps it under the exclusive lock, and a megaflow
// translated at an older sequence is translated again in the next round.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"
#include "slowpath/of_tables.h"
#include "slowpath/xlate_bridge.h"

namespace flowlift {

class OfBridge {
 public:
  explicit OfBridge(std::string name) : name_(name), ports_(std::move(name)) {}
  OfBridge(const OfBridge&) = delete;
  OfBridge& operator=(const OfBridge&) = delete;

  const std::string& name() const { return name_; }

  std::shared_mutex& mutex() const { return mutex_; }
  OfTables& tables() { return tables_; }
  const OfTables& tables() const { return tables_; }
  XlateBridge& ports() { return ports_; }
  const XlateBridge& ports() const { return ports_; }

  uint64_t change_sequence() const { return change_sequence_.load(std::memory_order_acquire); }
  // Call with the exclusive lock held, after the change.
  void note_change() { change_sequence_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  const std::string name_;
  mutable std::shared_mutex mutex_;
  OfTables tables_;
  XlateBridge ports_;
  std::atomic<uint64_t> change_sequence_{1};
};

class OfBridgeSet {
 public:
  // EEXIST when a bridge of that name exists.
  Status add(std::shared_ptr<OfBridge> bridge) {
    std::lock_guard lock(mutex_);
    const std::string& name = bridge->name();
    if (bridges_.count(name)) return Status(EEXIST, "bridge " + name + " already exists");
    bridges_.emplace(name, std::move(bridge));
    republish();
    return Status::ok();
  }
  // ENOENT when there is none. The bridge lives on while someone holds it.
  Status remove(std::string_view name) {
    std::lock_guard lock(mutex_);
    auto it = bridges_.find(std::string(name));
    if (it == bridges_.end()) return Status(ENOENT, "no bridge named " + std::string(name));
    bridges_.erase(it);
    republish();
    return Status::ok();
  }
  std::shared_ptr<OfBridge> find(std::string_view name) const {
    std::lock_guard lock(mutex_);
    auto it = bridges_.find(std::string(name));
    return it == bridges_.end() ? nullptr : it->second;
  }
  // In name order.
  std::vector<std::shared_ptr<OfBridge>> all() const { return *snapshot(); }
  // The same list, shared: every upcall walks it, and a copy of the vector
  // (an allocation and a reference count per bridge) cost each one more
  // than finding its bridge. The list is rebuilt on add and remove only.
  using Snapshot = std::shared_ptr<const std::vector<std::shared_ptr<OfBridge>>>;
  Snapshot snapshot() const {
    std::lock_guard lock(mutex_);
    return snapshot_;
  }

 private:
  void republish() {
    auto list = std::make_shared<std::vector<std::shared_ptr<OfBridge>>>();
    list->reserve(bridges_.size());
    for (const auto& [name, bridge] : bridges_) list->push_back(bridge);
    snapshot_ = std::move(list);
  }

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<OfBridge>> bridges_;
  Snapshot snapshot_ = std::make_shared<const std::vector<std::shared_ptr<OfBridge>>>();
};

}  // namespace flowlift
