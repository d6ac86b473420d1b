"""Run the node agent (the kubelet, kube-proxy and cluster DNS stand-in of the tests) until SIGTERM:

    python -m tests.kubernetes.node --kubeconfig admin.kubeconfig --root DIR --user-env .venv-user \\
        [--image-env registry.example.org/notebooks-hub=.venv] \\
        [--external-service jhub/hub:8081=127.0.0.1:34567] [--external-services-file FILE] \\
        [--service-names-file FILE]
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
from tests.kubernetes.node.images import Images, parse_mapping
from tests.kubernetes.node.services import ServiceProxy, parse_external


async def main(args: argparse.Namespace) -> None:
    await load_kube_config(config_file=str(args.kubeconfig))
    images = Images(args.user_env, dict(parse_mapping(text) for text in args.image_env))
    external = dict(parse_external(*text.split("=", 1)) for text in args.external_service)
    async with ApiClient() as client:
        api = CoreV1Api(client)
        agent = NodeAgent(api, args.node_name, args.root, images, args.sync_delay)
        agent.proxy = ServiceProxy(api, agent.endpoints, agent.services_changed, external,
                                   args.external_services_file, args.service_names_file, args.service_poll)
        task = asyncio.create_task(agent.run())
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            logging.getLogger(__name__).info("node agent stopped")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True, help="pods' and claims' directories")
    parser.add_argument("--user-env", type=Path, required=True,
                        help="the venv that stands in for every image not given with --image-env")
    parser.add_argument("--image-env", action="append", default=[], metavar="IMAGE=VENV",
                        help="run containers of IMAGE (its name without tag) from VENV; repeatable")
    parser.add_argument("--external-service", action="append", default=[], metavar="NS/NAME:PORT=HOST:PORT",
                        help="forward the Service name NS/NAME, port PORT, to a host address; repeatable")
    parser.add_argument("--external-services-file", type=Path,
                        help='JSON {"NS/NAME:PORT": "HOST:PORT"} of more external services, re-read as it '
                             "changes (it may appear later)")
    parser.add_argument("--service-names-file", type=Path,
                        help='where to write the JSON {"NS/NAME": "stand-in address"} of every Service')
    parser.add_argument("--service-poll", type=float, default=0.5,
                        help="seconds between polls of the Services and of the external services file")
    parser.add_argument("--node-name", default="notebooks-test-node")
    parser.add_argument("--sync-delay", type=float, default=2.0,
                        help="seconds between re-syncs of Secret and ConfigMap volumes")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(main(parser.parse_args()))
