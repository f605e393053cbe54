"""The files a real node needs: containerd's CRI config, the CNI bridge network, the kubelet's
config and its kubeconfig (client certificate CN `system:node:NAME`, O `system:nodes`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from sandbox.node.pause import PAUSE_REF


@dataclass(frozen=True)
class NodeNetwork:
    """The pod network: a Linux bridge on the host with the pods' gateway address."""

    bridge: str = "gpuctl0"
    subnet: str = "10.88.0.0/24"
    gateway: str = "10.88.0.1"


@dataclass(frozen=True)
class NodeFiles:
    directory: Path

    @property
    def containerd_config(self) -> Path:
        return self.directory / "containerd.toml"

    @property
    def containerd_socket(self) -> Path:
        return self.directory / "containerd" / "containerd.sock"

    @property
    def cni_dir(self) -> Path:
        return self.directory / "cni"

    @property
    def kubelet_config(self) -> Path:
        return self.directory / "kubelet.yaml"

    @property
    def pod_logs(self) -> Path:
        return self.directory / "pod-logs"

    @property
    def kubelet_root(self) -> Path:
        return self.directory / "kubelet"


def containerd_toml(files: NodeFiles) -> str:
    """containerd 1.6 CRI settings that work here: cgroupfs (cgroup v1), overlayfs, no
    AppArmor, and `restrict_oom_score_adj` (runc cannot lower oom_score_adj without
    CAP_SYS_RESOURCE, which the machine withholds)."""
    state = files.directory / "containerd"
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{state / 'root'}"
state = "{state / 'state'}"

[grpc]
  address = "{files.containerd_socket}"

[ttrpc]
  address = "{state / 'containerd.sock.ttrpc'}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{state / 'opt'}"

[{cri}]
  sandbox_image = "{PAUSE_REF}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "{files.cni_dir}"
"""


def cni_conflist(files: NodeFiles, network: NodeNetwork) -> str:
    """A bridge network with host-local addresses. `isGateway` stays off so the plugin does not
    turn on IP forwarding: the bridge already carries the gateway address, and pods reach
    only this host."""
    config = {
        "cniVersion": "1.0.0",
        "name": "gpuctl-node",
        "plugins": [
            {
                "type": "bridge",
                "bridge": network.bridge,
                "isGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(files.directory / "cni-ipam"),
                    "ranges": [[{"subnet": network.subnet, "gateway": network.gateway}]],
                    "routes": [{"dst": "0.0.0.0/0", "gw": network.gateway}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(config, indent=2)


def kubelet_yaml(files: NodeFiles, port: int, healthz_port: int) -> str:
    """The kubelet's config: cgroup v1 with cgroupfs, swap allowed, bound to loopback.
    Anonymous requests are authorised (`AlwaysAllow`) because the apiserver has no kubelet
    client certificate; acceptable on loopback only."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "failSwapOn": False,
        "address": "127.0.0.1",
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "containerRuntimeEndpoint": f"unix://{files.containerd_socket}",
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
        "authorization": {"mode": "AlwaysAllow"},
        "serializeImagePulls": False,
        "maxPods": 30,
        # The tests' disks are shared and often more than 85 % full: no eviction for disk.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "nodeStatusUpdateFrequency": "5s",
        "syncFrequency": "5s",
        "fileCheckFrequency": "5s",
        "resolvConf": "",
        "podLogsDir": str(files.pod_logs),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_node_files(directory: Path, network: NodeNetwork, port: int, healthz_port: int) -> NodeFiles:
    files = NodeFiles(directory)
    for path in (files.directory / "containerd", files.cni_dir, files.kubelet_root, files.pod_logs):
        path.mkdir(parents=True, exist_ok=True)
    files.containerd_config.write_text(containerd_toml(files))
    (files.cni_dir / "10-gpuctl.conflist").write_text(cni_conflist(files, network))
    files.kubelet_config.write_text(kubelet_yaml(files, port, healthz_port))
    return files
