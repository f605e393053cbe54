"""Build a `ClusterSpec` from a desired state (pools × nodes × GPUs with their MIG layouts and
device-plugin sharing), from a trace's node list, or as a uniform block of identical nodes."""

from __future__ import annotations

from schemas.catalogue import Catalogue, catalogue
from schemas.desired import DesiredState
from schemas.deviceplugin import DevicePluginConfig
from schemas.kinds import GPUNodePool
from schemas.migconfig import MigLayout, builtin_layout, layouts_for_gpus
from schemas.placement import fit_profiles
from simulator.cluster.spec import MILLI, ClusterSpec, DeviceKind, DeviceRow, ModelError, pack
from simulator.jobs import GPU_RESOURCE
from simulator.traces.openb import NodeList


def uniform(
    nodes: int,
    gpus_per_node: int,
    model: str = "A100-SXM4-80GB",
    cpu_milli: int = 128_000,
    memory_mib: int = 1 << 20,
) -> ClusterSpec:
    """`nodes` identical nodes of `gpus_per_node` whole GPUs each."""
    if nodes < 1 or gpus_per_node < 0:
        raise ModelError(f"a uniform cluster needs nodes ≥ 1 and GPUs ≥ 0, got {nodes} × {gpus_per_node}")
    row = [DeviceRow(DeviceKind.PLAIN, GPU_RESOURCE, MILLI) for _ in range(gpus_per_node)]
    return pack(
        [f"node-{i:05d}" for i in range(nodes)],
        [cpu_milli] * nodes,
        [memory_mib] * nodes,
        [model] * nodes,
        [gpus_per_node] * nodes,
        [list(row) for _ in range(nodes)],
    )


def from_node_list(nodes: NodeList) -> ClusterSpec:
    """A trace's own cluster (openb): every GPU whole and unshared; fractions are per pod."""
    devices = [[DeviceRow(DeviceKind.PLAIN, GPU_RESOURCE, MILLI) for _ in range(g)] for g in nodes.gpus]
    return pack(
        list(nodes.names),
        list(nodes.cpu_milli),
        list(nodes.memory_mib),
        list(nodes.models),
        list(nodes.gpus),
        devices,
    )


def _layouts(state: DesiredState, pool: GPUNodePool, cat: Catalogue) -> list[MigLayout | None]:
    gpu = pool.spec.gpu
    name = pool.spec.mig.config
    if state.mig_parted is not None and name in state.mig_parted.mig_configs:
        return layouts_for_gpus(state.mig_parted.mig_configs[name], gpu.model, gpu.per_node, cat)
    layout = builtin_layout(name, gpu.model, cat)
    if layout is None:
        raise ModelError(
            f"GPUNodePool {pool.metadata.name}: MIG config {name!r} is neither in the repository's "
            f"mig-parted config nor a built-in layout for {gpu.model}"
        )
    return [layout] * gpu.per_node


def _sharing(state: DesiredState, pool: GPUNodePool) -> DevicePluginConfig | None:
    if pool.spec.device_plugin is None:
        return None
    key = pool.spec.device_plugin.config
    if key not in state.device_plugin:
        raise ModelError(
            f"GPUNodePool {pool.metadata.name}: device-plugin config {key!r} is not in the repository's "
            f"device-plugin ConfigMap (known: {', '.join(sorted(state.device_plugin)) or 'none'})"
        )
    return state.device_plugin[key]


def _shared_row(
    resource: str, capacity: int, config: DevicePluginConfig | None, sm_share: float, memory_mib: int
) -> DeviceRow:
    """A device, shared by time-slicing or MPS when the device-plugin config says so."""
    if config is None or config.sharing_strategy == "none" or config.replicas_for(resource) <= 1:
        return DeviceRow(
            DeviceKind.PLAIN if sm_share == 1.0 else DeviceKind.MIG,
            resource,
            capacity,
            sm_share=sm_share,
            memory_mib=memory_mib,
        )
    replicas = config.replicas_for(resource)
    name = config.advertised_name(resource)
    if config.sharing_strategy == "mps":
        return DeviceRow(
            DeviceKind.MPS, name, capacity, replicas, sm_share / replicas, memory_mib // replicas
        )
    return DeviceRow(DeviceKind.TIMESLICED, name, capacity, replicas, sm_share, memory_mib)


def _gpu_devices(
    pool: GPUNodePool, layout: MigLayout | None, config: DevicePluginConfig | None, cat: Catalogue
) -> list[DeviceRow]:
    model_name = pool.spec.gpu.model
    model = cat.model(model_name)
    if layout is None or not layout.enabled:
        return [_shared_row(GPU_RESOURCE, MILLI, config, 1.0, model.memory_mib)]
    fit = fit_profiles(model_name, layout.devices, cat)
    if not fit.fits:
        raise ModelError(
            f"GPUNodePool {pool.metadata.name}: MIG layout {layout.devices} does not fit "
            f"{model_name}: {fit.reason}"
        )
    strategy = pool.spec.mig.strategy
    if strategy == "none":
        return []  # MIG on, but the plugin advertises no MIG devices: the GPU serves nothing
    slices = cat.geometry(model_name).compute_slices
    rows = []
    for name in layout.instances():
        profile = cat.profile(model_name, name)
        resource = GPU_RESOURCE if strategy == "single" else profile.resource_name
        share = profile.sm_count / model.sm_count if strategy == "single" else 1.0
        capacity = MILLI * profile.sm_slices // slices
        row = _shared_row(resource, capacity, config, share, profile.memory_mib)
        if row.kind is DeviceKind.PLAIN:
            row.kind = DeviceKind.MIG
        rows.append(row)
    return rows


def from_desired_state(state: DesiredState, cat: Catalogue | None = None) -> ClusterSpec:
    """Every pool's `nodes` nodes, each with `perNode` GPUs carrying the pool's MIG layout (from
    the repository's mig-parted config or a built-in one) and device-plugin sharing."""
    cat = cat or catalogue()
    names: list[str] = []
    cpus: list[int] = []
    mems: list[int] = []
    models: list[str] = []
    gpus: list[int] = []
    devices: list[list[DeviceRow]] = []
    racks: list[int] = []
    zones: list[int] = []
    zone_names: list[str] = []
    rack_base = 0
    for pool in state.pools:
        spec = pool.spec
        if not cat.has_model(spec.gpu.model):
            raise ModelError(
                f"GPUNodePool {pool.metadata.name}: GPU model {spec.gpu.model!r} is not in "
                f"the catalogue (known: {', '.join(cat.model_names)})"
            )
        layouts = _layouts(state, pool, cat)
        config = _sharing(state, pool)
        node_devices = []
        for gpu_index, layout in enumerate(layouts):
            for row in _gpu_devices(pool, layout, config, cat):
                row.gpu = gpu_index
                node_devices.append(row)
        zone_name = spec.topology.zone or ""
        if zone_name not in zone_names:
            zone_names.append(zone_name)
        per_rack = spec.topology.nodes_per_rack or spec.topology.nvlink_domain_size or 1
        for i in range(spec.nodes):
            names.append(f"{pool.metadata.name}-{i:04d}")
            cpus.append(round(spec.node_resources.cpu * 1000))
            mems.append(round(spec.node_resources.memory_gib * 1024))
            models.append(spec.gpu.model)
            gpus.append(spec.gpu.per_node)
            devices.append([DeviceRow(**vars(r)) for r in node_devices])
            racks.append(rack_base + i // per_rack)
            zones.append(zone_names.index(zone_name))
        rack_base += -(-spec.nodes // per_rack)
    if not names:
        raise ModelError("the desired state declares no GPUNodePool with nodes; nothing to simulate")
    return pack(names, cpus, mems, models, gpus, devices, racks, zones)
