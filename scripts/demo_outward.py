"""make demo, outward part: a WebSocket client subscribes to an experiment while the experiment is
paused and resumed, and prints the status messages it receives (docs/integrations.md).

    python3 scripts/demo_outward.py HOST PORT TOKEN EXPERIMENT PSQL_COMMAND...
The PSQL_COMMAND (a psql invocation taking SQL on stdin) makes the changes once subscribed."""
import asyncio
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "gateway"))
from ws_client import WebSocket  # noqa: E402  (the tests' stdlib RFC 6455 client)


async def main(host, port, token, code, psql):
    ws = await WebSocket.connect(host, int(port), headers={"Authorization": f"Bearer {token}"})
    await ws.send({"type": "subscribe", "experimentCode": code})
    print("  <-", json.dumps(await ws.recv_json()))
    sql = f"SELECT abx.pause('{code}') IS NOT NULL; SELECT abx.resume('{code}') IS NOT NULL;"
    subprocess.run(psql, input=sql, text=True, check=True, stdout=subprocess.DEVNULL)
    print(f"  (paused and resumed '{code}' in psql)")
    for _ in range(2):
        print("  <-", json.dumps(await ws.recv_json(timeout=10)))
    await ws.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5], sys.argv[5:]))
