"""A real node for tests and benchmarks, next to `sandbox.controlplane`: OCI image archives
written without a registry or a container engine (`oci`), the gpuctl image built the way
deploy/Dockerfile describes it (`image`, `image_spec`), the pod sandbox image (`pause`), and
containerd with a stock kubelet joining the control plane (`node`, `files`). Never imports
`reconciler`."""
