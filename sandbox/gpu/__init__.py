"""The emulated cluster components: nodes from pools, MIG manager, device plugin with
feature discovery, scheduler, kubelet, disruption controller, and the Deployment/ReplicaSet
controllers with garbage collection of what they own."""
