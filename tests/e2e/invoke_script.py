"""Run by the e2e tests in a subprocess configured like the server (same POLOS_HOME and settings).

    DJANGO_SETTINGS_MODULE=polos_django.server.settings python -m tests.e2e.invoke_script <project_id> <n>

Invokes ``e2e_server_double`` through the in-process client, waits for the result (the server's
worker runs it) and prints it as JSON.
"""

from __future__ import annotations

import json
import sys

import django


def main() -> None:
    django.setup()
    from polos_django import client

    project_id, n = sys.argv[1], int(sys.argv[2])
    handle = client.invoke("e2e_server_double", {"n": n}, project_id=project_id)
    result = client.wait_for_result(handle.id, timeout=30)
    execution = client.get_execution(handle.id)
    print(json.dumps({"result": result, "status": execution["status"], "project_id": execution.get("project_id")}))


if __name__ == "__main__":
    main()
