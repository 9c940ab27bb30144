// TcPortTable: datapath port number -> the netdev the TC translation uses.
#include "offload/tc_port_table.h"

#include <utility>

namespace flowlift {

void TcPortTable::set(uint32_t dp_port, TcPortInfo info) { ports_[dp_port] = std::move(info); }

void TcPortTable::remove(uint32_t dp_port) { ports_.erase(dp_port); }

const TcPortInfo* TcPortTable::find(uint32_t dp_port) const {
  auto it = ports_.find(dp_port);
  return it == ports_.end() ? nullptr : &it->second;
}

}  // namespace flowlift
