"""Runs the chat consumer under uvicorn (uvloop, httptools, websockets' sans-I/O implementation) on
127.0.0.1:PORT, pinned to one CPU, with the open-file limit raised to its
hard limit: ``python3 serve.py PORT [CPU]``. rpc-bench's ``fanout`` binary
starts it; see bench/django/README.md."""

import os
import resource
import sys

import uvicorn


def die_with_parent():
    """Asks Linux to kill this process when the benchmark that started it dies."""
    try:
        import ctypes

        pr_set_pdeathsig, sigkill = 1, 9
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, sigkill, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main():
    die_with_parent()
    port = int(sys.argv[1])
    if len(sys.argv) > 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(sys.argv[2])})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    uvicorn.run(
        "asgi:application",
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        log_level="warning",
        access_log=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
