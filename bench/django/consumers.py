"""The Django Channels twin of spec-methods' chat methods: ``join(room)``
adds the connection to the group, ``say(room, text)`` sends
``chat.message({"room", "text"})`` to every member through the channel
layer, as channels-rpc's `say` does. Answers and notifications are compact
JSON, byte for byte what channels-rpc sends, so one client checks both."""

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        method = content.get("method")
        room, *rest = content.get("params") or [None]
        if method == "join":
            await self.channel_layer.group_add(room, self.channel_name)
        elif method == "say":
            await self.channel_layer.group_send(
                room, {"type": "chat.message", "room": room, "text": rest[0]}
            )
        else:
            await self.send_json(
                {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": content.get("id")}
            )
            return
        await self.send_json({"jsonrpc": "2.0", "result": True, "id": content.get("id")})

    async def chat_message(self, event):
        await self.send_json(
            {"jsonrpc": "2.0", "method": "chat.message", "params": {"room": event["room"], "text": event["text"]}}
        )

    @classmethod
    async def encode_json(cls, content):
        return json.dumps(content, separators=(",", ":"))
