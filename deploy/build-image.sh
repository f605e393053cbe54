#!/usr/bin/env bash
# Build the gpuctl image without Docker: the image deploy/Dockerfile describes, from a Debian
# root filesystem (mmdebstrap), the project's wheels built with this machine's Python 3.11 and
# the non-root user 65532, written as an OCI image archive:
#
#   deploy/build-image.sh [--out build/gpuctl-image.tar] [--ref docker.io/library/gpuctl:dev]
#   ctr -n k8s.io images import build/gpuctl-image.tar     # on a containerd node
#
# Needs root, mmdebstrap and the Debian mirror. The base layer (Debian and the dependencies) is
# cached in ${GPUCTL_IMAGE_CACHE:-~/.cache/gpuctl/image} until pyproject.toml or the Dockerfile
# changes; only the gpuctl layer is rebuilt otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" -m sandbox.node.image "$@"
