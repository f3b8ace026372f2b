#include "actors/daemon_metrics.hpp"

namespace banger {

std::string DaemonMetrics::render() const {
  std::string out;
  for (auto* f : {&operations, &operation_seconds, &helper_seconds, &helper_failures, &vm_queue,
                  &store_commit_seconds, &store_batch, &events, &events_missed, &api_requests,
                  &api_seconds, &api_refused})
    f->render(out);
  return out;
}

DaemonMetrics& daemon_metrics() {
  static DaemonMetrics& metrics = [] () -> DaemonMetrics& {
    static DaemonMetrics m;
    m.vm_queue.set({}, 0);
    m.events.add({}, 0);
    m.events_missed.add({}, 0);
    m.api_refused.add({}, 0);
    return m;
  }();
  return metrics;
}

} // namespace banger
