"""A real Ray cluster on this machine for the cluster tests: a head and worker node processes started by
ray.cluster_utils (what Ray's own tests use), every node on 127.0.0.1."""

from __future__ import annotations

import os

import pytest

# Ray advertises the machine's network address unless told this before it starts: keep every node on loopback.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"


def start_cluster(workers: int, num_cpus: float = 1):  # noqa: ANN201 - a ray.cluster_utils.Cluster
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})  # the head runs no task
    nodes = [cluster.add_node(num_cpus=num_cpus) for _ in range(workers)]
    cluster.wait_for_nodes()
    assert cluster.address.startswith("127.0.0.1:"), cluster.address
    return cluster, nodes


@pytest.fixture(scope="module")
def two_nodes():
    cluster, nodes = start_cluster(2)
    yield cluster, nodes
    cluster.shutdown()

