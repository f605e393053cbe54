"""Node-by-node GPU reconfiguration: targets per pool, progress in Node annotations,
a re-entrant step per node and a runner bounded by maxUnavailable."""
