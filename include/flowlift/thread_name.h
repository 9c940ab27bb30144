// Names the calling thread as `top -H`, `ps -L`, perf and
// /proc/PID/task/*/comm show it (as ovs-vswitchd names its handler,
// revalidator and pmd threads), so that an operator can tell where the
// daemon's CPU goes. Linux keeps 15 bytes; longer names are cut.
#pragma once

#include <pthread.h>

#include <string>

namespace flowlift {

inline void set_thread_name(const std::string& name) {
  (void)pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace flowlift
