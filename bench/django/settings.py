"""Minimal Django settings for the fan-out benchmark's Channels server.

The channel layer comes from FANOUT_DJANGO_LAYER: ``memory`` (Channels'
InMemoryChannelLayer, the default), ``redis`` (channels_redis'
RedisChannelLayer) or ``redis-pubsub`` (RedisPubSubChannelLayer), the last
two on the Redis at FANOUT_REDIS_URL.
"""

import os

SECRET_KEY = "fanout-benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
ROOT_URLCONF = None
ASGI_APPLICATION = "asgi.application"
USE_TZ = True

# redis-py's asyncio pool allows 100 connections by default, and raises
# MaxConnectionsError past them: too few for the benchmark's 200 members
# joining at a time.
_REDIS = {"address": os.environ.get("FANOUT_REDIS_URL", "redis://127.0.0.1:6379"), "max_connections": 1000}

_LAYERS = {
    "memory": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
    "redis": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [_REDIS]},
    },
    "redis-pubsub": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [_REDIS]},
    },
}
CHANNEL_LAYERS = {"default": _LAYERS[os.environ.get("FANOUT_DJANGO_LAYER", "memory")]}
