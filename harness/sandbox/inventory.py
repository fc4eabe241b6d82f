"""The endpoint objects a request may name (datacenter, folders, the resource pool, hosts,
datastores, a network), found with property reads from ``ServiceContent.rootFolder``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..vmodl.values import MoRef
from .reads import property_value


@dataclass
class Inventory:
    """What the endpoint has, as far as requests need it (moIds)."""

    root_folder: str
    datacenter: str | None = None
    vm_folder: str | None = None
    host_folder: str | None = None
    compute: tuple[str, str] | None = None  # (managed type, moid) of the first compute resource
    pool: str | None = None
    hosts: list[str] = field(default_factory=list)
    datastores: list[str] = field(default_factory=list)
    datastore_name: str | None = None
    network: str | None = None  # a standard port group (type Network) the sandbox's adapters connect to
    network_name: str | None = None

    def pool_refs(self) -> dict[str, list[MoRef]]:
        """A reference pool for :func:`harness.gen.strategies.requests` (real objects by type)."""
        out: dict[str, list[MoRef]] = {"Folder": [MoRef("Folder", f) for f in (self.vm_folder,) if f]}
        if self.datacenter:
            out["Datacenter"] = [MoRef("Datacenter", self.datacenter)]
        if self.pool:
            out["ResourcePool"] = [MoRef("ResourcePool", self.pool)]
        out["HostSystem"] = [MoRef("HostSystem", h) for h in self.hosts]
        out["Datastore"] = [MoRef("Datastore", d) for d in self.datastores]
        return out


def discover(client: Any) -> Inventory:
    """The first datacenter's folders, compute resource, pool, hosts and datastores."""
    root = client.content["rootFolder"]["value"]
    inv = Inventory(root_folder=root)
    for child in property_value(client, "Folder", root, "childEntity") or []:
        if child.get("type") == "Datacenter":
            inv.datacenter = child["value"]
            break
    if inv.datacenter is None:
        return inv
    dc = inv.datacenter
    inv.vm_folder = (property_value(client, "Datacenter", dc, "vmFolder") or {}).get("value")
    inv.host_folder = (property_value(client, "Datacenter", dc, "hostFolder") or {}).get("value")
    inv.datastores = [d["value"] for d in property_value(client, "Datacenter", dc, "datastore") or []]
    if inv.datastores:
        summary = property_value(client, "Datastore", inv.datastores[0], "summary") or {}
        inv.datastore_name = summary.get("name")
    for net in property_value(client, "Datacenter", dc, "network") or []:
        if isinstance(net, dict) and net.get("type") == "Network":  # not a distributed port group
            name = property_value(client, "Network", net["value"], "name")
            if isinstance(name, str):
                inv.network, inv.network_name = net["value"], name
                break
    folders = [inv.host_folder] if inv.host_folder else []
    while folders and inv.compute is None:
        for child in property_value(client, "Folder", folders.pop(0), "childEntity") or []:
            if child.get("type") == "Folder":
                folders.append(child["value"])
            elif child.get("type") in ("ComputeResource", "ClusterComputeResource"):
                inv.compute = (child["type"], child["value"])
                break
    if inv.compute:
        ctype, cid = inv.compute
        inv.pool = (property_value(client, ctype, cid, "resourcePool") or {}).get("value")
        inv.hosts = [h["value"] for h in property_value(client, ctype, cid, "host") or []]
    return inv
