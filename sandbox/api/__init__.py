"""The emulated Kubernetes API server: storage, verbs, server-side apply, watch, discovery,
CRDs and the HTTP front."""
