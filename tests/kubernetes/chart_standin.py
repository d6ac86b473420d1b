"""Test-only stand-in for the Zero to JupyterHub chart's own hub configuration, which turns `singleuser`
values into KubeSpawner settings. The chart cannot be fetched here, so this does the same for exactly
the keys `notebooks kubernetes values` renders (as documented for the chart's 4.4.0 release) and refuses
any other key, so the render cannot grow a key these tests would silently ignore. Not part of the product.
"""

from __future__ import annotations

from typing import Any

RENDERED_KEYS = {"image", "uid", "fsGid", "storage", "startTimeout", "networkPolicy", "profileList", "cpu",
                 "memory"}


def apply_singleuser(c: Any, singleuser: dict[str, Any]) -> None:
    unknown = set(singleuser) - RENDERED_KEYS
    if unknown:
        raise ValueError(f"the chart stand-in does not implement singleuser.{', '.join(sorted(unknown))}")
    spawner = c.KubeSpawner
    spawner.image = f"{singleuser['image']['name']}:{singleuser['image']['tag']}"
    spawner.uid = singleuser["uid"]
    spawner.fs_gid = singleuser["fsGid"]
    spawner.start_timeout = singleuser["startTimeout"]
    storage = singleuser["storage"]
    if storage["type"] != "dynamic":
        raise ValueError(f"the chart stand-in implements dynamic storage only, not {storage['type']}")
    spawner.storage_pvc_ensure = True
    spawner.pvc_name_template = "claim-{user_server}"
    spawner.storage_capacity = storage["capacity"]
    spawner.storage_access_modes = ["ReadWriteOnce"]
    spawner.storage_class = storage.get("dynamic", {}).get("storageClass")
    spawner.volumes = [{"name": "volume-{user_server}", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}]
    spawner.volume_mounts = [{"name": "volume-{user_server}", "mountPath": storage["homeMountPath"]}]
    spawner.working_dir = storage["homeMountPath"]
    if "profileList" in singleuser:
        spawner.profile_list = singleuser["profileList"]
    for key, (limit, guarantee) in {"cpu": ("cpu_limit", "cpu_guarantee"),
                                    "memory": ("mem_limit", "mem_guarantee")}.items():
        if key in singleuser:
            setattr(spawner, limit, singleuser[key]["limit"])
            setattr(spawner, guarantee, singleuser[key]["guarantee"])
    # networkPolicy: this cluster enforces no network policies (no CNI); the objects are still
    # accepted by the API server in test_rendered_objects.py
