"""A Django Channels peer for the compatibility tests, using the real
channels_redis RedisPubSubChannelLayer against the test's redis-server.

    channels_peer.py listen URL GROUP      # a Channels consumer in GROUP; prints "ready",
                                           # then the first event its handler receives, as JSON
    channels_peer.py group_send URL GROUP JSON
    channels_peer.py send URL CHANNEL JSON

Prefix: channels_redis' default, "asgi".
"""

import asyncio
import json
import sys

import django
from django.conf import settings


def configure(url):
    settings.configure(
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [url]},
            }
        },
    )
    django.setup()


async def listen(group):
    # channels.testing needs daphne; asgiref's communicator is what it wraps.
    from asgiref.testing import ApplicationCommunicator
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    class RoomConsumer(AsyncJsonWebsocketConsumer):
        groups = [group]

        async def rpc_notification(self, event):
            """Channels' handler for messages of type "rpc.notification"."""
            await self.send_json(event)

    scope = {"type": "websocket", "path": "/ws/", "headers": [], "subprotocols": []}
    communicator = ApplicationCommunicator(RoomConsumer.as_asgi(), scope)
    await communicator.send_input({"type": "websocket.connect"})
    accepted = await communicator.receive_output(timeout=10)
    assert accepted["type"] == "websocket.accept", accepted
    print("ready", flush=True)
    sent = await communicator.receive_output(timeout=30)
    print(sent["text"], flush=True)
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    await communicator.wait(timeout=5)


async def group_send(group, message):
    from channels.layers import get_channel_layer

    await get_channel_layer().group_send(group, message)


async def send(channel, message):
    from channels.layers import get_channel_layer

    await get_channel_layer().send(channel, message)


def main():
    mode, url, target = sys.argv[1:4]
    configure(url)
    if mode == "listen":
        asyncio.run(listen(target))
    elif mode == "group_send":
        asyncio.run(group_send(target, json.loads(sys.argv[4])))
    elif mode == "send":
        asyncio.run(send(target, json.loads(sys.argv[4])))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
