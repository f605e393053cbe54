"""Writing to the cluster: staged server-side apply, the inventory, pruning."""
