"""A Django Channels peer for the compatibility tests, using the real
channels_redis against the redis-servers the test started.

    channels_peer.py listen LAYER HOSTS GROUP COUNT EXPECT
        COUNT Channels consumers (AsyncJsonWebsocketConsumer) in GROUP ("-" for
        none); prints "ready" and their channel names on one line, then each
        event their `rpc_notification` handler receives, as the JSON line
        {"channel": NAME, "event": EVENT}, until EXPECT events came
    channels_peer.py group_send LAYER HOSTS GROUP JSON
    channels_peer.py send LAYER HOSTS CHANNELS JSON
        sends to each of the comma-separated CHANNELS; prints "sent", or
        "full" on ChannelFull, one line each
    channels_peer.py group_add LAYER HOSTS GROUP CHANNEL

LAYER is core (channels_redis.core.RedisChannelLayer) or pubsub
(channels_redis.pubsub.RedisPubSubChannelLayer); HOSTS a comma-separated list
of redis:// URLs, in channels_redis' `hosts` order. The environment variable
PEER_CONFIG may hold more CONFIG entries as JSON (capacity, expiry, ...).
Prefix: channels_redis' default, "asgi".
"""

import asyncio
import json
import os
import sys

import django
from django.conf import settings

BACKENDS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


def configure(layer, hosts):
    config = {"hosts": hosts.split(",")}
    config.update(json.loads(os.environ.get("PEER_CONFIG", "{}")))
    settings.configure(
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={"default": {"BACKEND": BACKENDS[layer], "CONFIG": config}},
    )
    django.setup()


async def listen(group, count, expect):
    # channels.testing needs daphne; asgiref's communicator is what it wraps.
    from asgiref.testing import ApplicationCommunicator
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    class RoomConsumer(AsyncJsonWebsocketConsumer):
        groups = [] if group == "-" else [group]

        async def websocket_connect(self, message):
            await super().websocket_connect(message)
            await self.send_json({"channel": self.channel_name})

        async def rpc_notification(self, event):
            """Channels' handler for messages of type "rpc.notification"."""
            await self.send_json({"channel": self.channel_name, "event": event})

    scope = {"type": "websocket", "path": "/ws/", "headers": [], "subprotocols": []}
    communicators = []
    names = []
    for _ in range(count):
        communicator = ApplicationCommunicator(RoomConsumer.as_asgi(), scope)
        await communicator.send_input({"type": "websocket.connect"})
        accepted = await communicator.receive_output(timeout=10)
        assert accepted["type"] == "websocket.accept", accepted
        hello = await communicator.receive_output(timeout=10)
        names.append(json.loads(hello["text"])["channel"])
        communicators.append(communicator)
    print("ready", *names, flush=True)

    events = asyncio.Queue()

    async def drain(communicator):
        while True:
            sent = await communicator.receive_output(timeout=60)
            await events.put(sent["text"])

    drains = [asyncio.ensure_future(drain(c)) for c in communicators]
    for _ in range(expect):
        print(await asyncio.wait_for(events.get(), timeout=60), flush=True)
    for task in drains:
        task.cancel()
    # All at once: channels_redis' core layer may take its 5 s BZPOPMIN
    # timeout to let each one go.
    for communicator in communicators:
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    # A consumer still inside that timeout when the wait ends is cancelled.
    await asyncio.gather(*(c.wait(timeout=15) for c in communicators), return_exceptions=True)


async def group_send(group, message):
    from channels.layers import get_channel_layer

    await get_channel_layer().group_send(group, message)


async def send(channels, message):
    from channels.exceptions import ChannelFull
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    for channel in channels.split(","):
        try:
            await layer.send(channel, message)
            print("sent", flush=True)
        except ChannelFull:
            print("full", flush=True)


async def group_add(group, channel):
    from channels.layers import get_channel_layer

    await get_channel_layer().group_add(group, channel)


def main():
    mode, layer, hosts, target = sys.argv[1:5]
    configure(layer, hosts)
    if mode == "listen":
        asyncio.run(listen(target, int(sys.argv[5]), int(sys.argv[6])))
    elif mode == "group_send":
        asyncio.run(group_send(target, json.loads(sys.argv[5])))
    elif mode == "send":
        asyncio.run(send(target, json.loads(sys.argv[5])))
    elif mode == "group_add":
        asyncio.run(group_add(target, sys.argv[5]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
