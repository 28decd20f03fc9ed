"""A Python `websockets` client that answers a server-to-client call.

Run by tests/client_calls.rs: `python3 answer_server_calls.py ws://HOST:PORT/ws/`.
It calls `ask_client("confirm", ["sure?"])`, answers the server's `confirm`
request (told apart from the response to its own call: it has a `method`),
then prints the response to its own call as one JSON line.
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect


async def main(url: str) -> None:
    async with connect(url) as socket:
        await socket.send(json.dumps(
            {"jsonrpc": "2.0", "method": "ask_client", "params": ["confirm", ["sure?"]], "id": "py-1"}))
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if "method" in message:
                # The server's call: answer it by its id.
                answer = "python says yes to " + message["params"][0]
                await socket.send(json.dumps({"jsonrpc": "2.0", "result": answer, "id": message["id"]}))
            else:
                print(json.dumps(message))
                return


asyncio.run(main(sys.argv[1]))
