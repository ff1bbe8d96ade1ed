"""Create and activate an example's workflows and channels on a running server.

    python examples/deploy.py examples/governed-orders [--url http://localhost:8080] [--api-key KEY]

Standard library only. Workflows first (each created as a draft, then activated), then channels.
Stops at the first refusal and prints the server's answer.
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path


def call(url: str, method: str, path: str, body: object, api_key: str | None) -> dict:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url + path, json.dumps(body).encode(), headers, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return json.load(response)["data"]
    except urllib.error.HTTPError as exc:
        sys.exit(f"{method} {path} answered {exc.code}: {exc.read().decode()}")


def deploy(directory: Path, url: str, api_key: str | None) -> None:
    for kind, id_field in (("workflows", "workflow_id"), ("channels", "channel_id")):
        file = directory / f"{kind}.json"
        for definition in json.loads(file.read_text(encoding="utf-8")) if file.exists() else []:
            created = call(url, "POST", f"/api/v1/admin/{kind}", definition, api_key)
            call(url, "PATCH", f"/api/v1/admin/{kind}/{created[id_field]}/status", {"status": "active"}, api_key)
            print(f"{kind[:-1]} {created[id_field]} ({created['name']}) is active")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("example", type=Path, help="an example folder, e.g. examples/quickstart")
    parser.add_argument("--url", default="http://localhost:8080")
    parser.add_argument("--api-key", help="admin key when [admin_auth] is enabled")
    args = parser.parse_args()
    deploy(args.example, args.url.rstrip("/"), args.api_key)


if __name__ == "__main__":
    main()
