"""The emulated GPU cluster components: nodes from pools, MIG manager, device plugin with
feature discovery, scheduler, kubelet and disruption controller."""
