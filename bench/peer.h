#pragma once

// The Node peer (../shared/peer: fastify, pg, undici, node:cluster) deployed as bench_load
// deploys lab-orders: its own junction-sim started the same way, a new database of its own on
// a PostgreSQL server, the same kind of token, so the same loads can run against it in turn
// with lab-orders and each figure can be set beside lab-orders' (load_report.h).

#include <filesystem>
#include <string>

#include "load_phases.h"

namespace lab_orders::bench {

// node on the PATH, or "" when there is none.
std::string FindNode();

// The peer in options.peer_dir (server.js, node_modules installed) on options.peer_database,
// with its defaults (2 workers, 32 database connections each) and --peer-set; the token is
// minted by `lab-orders token` with the secret the peer is given. Returns once every worker
// listens.
Deployment DeployPeer(const std::string& name, const LoadOptions& options,
                      const std::filesystem::path& directory, const std::string& run_id,
                      int sim_latency_ms, int sim_threads);

}  // namespace lab_orders::bench
