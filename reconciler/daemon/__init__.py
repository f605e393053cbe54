"""The long-running daemon behind `gpuctl run`: one work queue fed by the triggers, the
reconcile loop that drains it (coalescing, back-off, pre-emption), leader election, the
HTTP endpoints (webhooks, health, metrics, status) and the wiring that starts and stops
them together."""
