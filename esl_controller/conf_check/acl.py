"""Network lists as FreeSWITCH 1.10's core evaluates them (``switch_core.c``,
``switch_utils.c``): the built-in ``*.auto`` lists, the lists of ``acl.conf``, and
CIDR literals used in place of a list name.

A list's nodes are searched for the longest prefix holding the address (a later node of
the same length wins); its ``type`` decides, else the list's ``default``. A name that is
neither a list nor a CIDR allows nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from esl_controller.conf_check.preprocess import Node, Where

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
_WAN_DENY = (*PRIVATE, "0.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10", "fe80::/10")


@dataclass(slots=True)
class NetworkList:
    name: str
    default_allow: bool
    nodes: list[tuple[Network, bool]] = field(default_factory=list)
    where: Where | None = None

    def allows(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        verdict, best = self.default_allow, -1
        for network, allow in self.nodes:
            if network.version == ip.version and ip in network and network.prefixlen >= best:
                verdict, best = allow, network.prefixlen
        return verdict


def _net(cidr: str) -> Network:
    return ipaddress.ip_network(cidr, strict=False)


def builtin_lists(local_ip: str, local_mask: str) -> dict[str, NetworkList]:
    """What the core creates before reading acl.conf (``switch_load_network_lists``)."""
    local = ipaddress.ip_network(f"{local_ip}/{local_mask}", strict=False)

    def make(name: str, default: bool, nodes: list[tuple[str, bool]]) -> NetworkList:
        return NetworkList(name, default, [(_net(c), a) for c, a in nodes])

    return {
        "rfc6598.auto": make("rfc6598.auto", False, [("100.64.0.0/10", True)]),
        "rfc1918.auto": make(
            "rfc1918.auto", False, [(c, True) for c in (*PRIVATE, "fe80::/10")]
        ),  # fmt: skip
        "wan.auto": make("wan.auto", True, [(c, False) for c in _WAN_DENY]),
        "wan_v6.auto": make("wan_v6.auto", True, [("0.0.0.0/0", False), ("fe80::/10", False)]),
        "wan_v4.auto": make(
            "wan_v4.auto", True, [(c, False) for c in (*_WAN_DENY[:-1], "::/0")]
        ),  # fmt: skip
        "any_v6.auto": make("any_v6.auto", True, [("0.0.0.0/0", False)]),
        "any_v4.auto": make("any_v4.auto", True, [("::/0", False)]),
        "nat.auto": NetworkList(
            "nat.auto",
            False,
            [(local, False)] + [(_net(c), True) for c in (*PRIVATE, "100.64.0.0/10")],
        ),  # fmt: skip
        "loopback.auto": make("loopback.auto", False, [("127.0.0.0/8", True), ("::1/128", True)]),
        "localnet.auto": NetworkList("localnet.auto", False, [(local, True)]),
    }


def load_lists(acl_conf: Node | None, local_ip: str, local_mask: str) -> dict[str, NetworkList]:
    """Built-in lists, then acl.conf's (a list of the same name replaces the built-in)."""
    lists = builtin_lists(local_ip, local_mask)
    if acl_conf is None:
        return lists
    for holder in acl_conf.find_all("network-lists"):
        for element in holder.find_all("list"):
            name = element.get("name")
            if not name:
                continue
            default = element.get("default", "allow").lower() != "deny"
            found = NetworkList(name, default, where=element.where)
            for node in element.find_all("node"):
                allow = node.get("type", "allow").lower() != "deny"
                cidr = node.get("cidr")
                if not cidr and node.get("host") and node.get("mask"):
                    cidr = f"{node.get('host')}/{node.get('mask')}"
                if not cidr:
                    continue  # domain= nodes: the directory's users' own cidr
                try:
                    found.nodes.append((_net(cidr), allow))
                except ValueError:
                    continue
            lists[name] = found
    return lists


def allowed(lists: dict[str, NetworkList], name: str, address: str) -> bool:
    """``switch_check_network_list_ip``: a list by name, or CIDRs in place of one."""
    if name in lists:
        return lists[name].allows(address)
    if "/" in name:
        ip = ipaddress.ip_address(address)
        for cidr in name.split(","):
            try:
                network = _net(cidr.strip())
            except ValueError:
                continue
            if network.version == ip.version and ip in network:
                return True
    return False


def known(lists: dict[str, NetworkList], name: str) -> bool:
    return name in lists or "/" in name
