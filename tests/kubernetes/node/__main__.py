"""Run the node agent (the kubelet stand-in of the tests) until SIGTERM:

    python -m tests.kubernetes.node --kubeconfig admin.kubeconfig --root DIR --user-env .venv-user
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.config import load_kube_config

from tests.kubernetes.node.agent import NodeAgent


async def main(args: argparse.Namespace) -> None:
    await load_kube_config(config_file=str(args.kubeconfig))
    async with ApiClient() as client:
        agent = NodeAgent(CoreV1Api(client), args.node_name, args.root, args.user_env, args.sync_delay)
        task = asyncio.create_task(agent.run())
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            logging.getLogger(__name__).info("node agent stopped")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True, help="pods' and claims' directories")
    parser.add_argument("--user-env", type=Path, required=True, help="the venv that stands in for the image")
    parser.add_argument("--node-name", default="notebooks-test-node")
    parser.add_argument("--sync-delay", type=float, default=2.0,
                        help="seconds between re-syncs of Secret and ConfigMap volumes")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(main(parser.parse_args()))
