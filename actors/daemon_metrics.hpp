// bangerd's metric families, in one table: what each actor updates where
// the thing happens, and what GET /metrics renders (api/metrics_page.cpp adds
// the values computed at scrape time: VMs by state, each VMM's CPU and RSS,
// the daemon process). docs/api.md lists them.
#pragma once

#include "messages/metrics.hpp"

namespace banger {

struct DaemonMetrics {
  /// {kind, outcome}: every finished operation (operations actor).
  metrics::Family operations{"banger_operations_total", metrics::Kind::counter,
                             "Operations finished, by kind and outcome"};
  /// {kind}: start to end of each finished operation.
  metrics::Family operation_seconds{"banger_operation_duration_seconds", metrics::Kind::histogram,
                                    "Operation duration, by kind", metrics::latency_buckets()};
  /// {method}: a helper request's round trip as the daemon sees it.
  metrics::Family helper_seconds{"banger_helper_request_duration_seconds",
                                 metrics::Kind::histogram,
                                 "banger-helper round-trip latency, by request",
                                 metrics::latency_buckets()};
  /// {method}: helper requests that failed (refused, unreachable, timed out).
  metrics::Family helper_failures{"banger_helper_request_failures_total", metrics::Kind::counter,
                                  "banger-helper requests that failed, by request"};
  /// Lifecycle requests waiting in VM actors' queues, all VMs together.
  metrics::Family vm_queue{"banger_vm_queue_depth", metrics::Kind::gauge,
                           "Lifecycle requests queued behind a running one, all VMs"};
  /// One SQLite group commit.
  metrics::Family store_commit_seconds{"banger_store_commit_duration_seconds",
                                       metrics::Kind::histogram, "SQLite group commit latency",
                                       metrics::latency_buckets()};
  /// Writes in one group commit.
  metrics::Family store_batch{"banger_store_commit_batch_size", metrics::Kind::histogram,
                              "Writes per SQLite group commit",
                              {1, 2, 4, 8, 16, 32, 64, 128, 256}};
  /// Events delivered into the buffer, and those readers missed.
  metrics::Family events{"banger_events_total", metrics::Kind::counter,
                         "Events this daemon produced (banger events, /v1/events)"};
  metrics::Family events_missed{"banger_events_missed_total", metrics::Kind::counter,
                                "Events readers fell too far behind to receive"};
  /// {method, code}: HTTP API requests by status code.
  metrics::Family api_requests{"banger_api_requests_total", metrics::Kind::counter,
                               "HTTP API requests, by method and status"};
  metrics::Family api_seconds{"banger_api_request_duration_seconds", metrics::Kind::histogram,
                              "HTTP API request latency, by method", metrics::latency_buckets()};
  /// HTTP connections refused at accept over api.max-connections.
  metrics::Family api_refused{"banger_api_connections_refused_total", metrics::Kind::counter,
                              "HTTP connections closed at accept over api.max-connections"};

  /// Every family in the order /metrics shows them.
  std::string render() const;
};

/// This process's families (one bangerd per process).
DaemonMetrics& daemon_metrics();

} // namespace banger
