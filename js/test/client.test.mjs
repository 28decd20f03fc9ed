// The JavaScript client against a running channels-rpc server serving the
// example methods (examples/spec-methods). The Rust test js/tests/node_client.rs
// starts that server and runs this file with RPC_ADDR=127.0.0.1:PORT:
//   WebSocket at /ws/, HTTP at /rpc/, the client module at /channels-rpc.js.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

import { connect, RpcError, TimeoutError, ConnectionError, DEFAULTS } from "../channels-rpc.js";
import { startProxy } from "./proxy.mjs";

const addr = process.env.RPC_ADDR;
assert.ok(addr, "RPC_ADDR=host:port names the server under test");
const wsUrl = `ws://${addr}/ws/`;
const httpUrl = `http://${addr}/rpc/`;

/** Resolves with the first `method` notification's params. */
const next = (rpc, method) => new Promise((resolve) => {
  const off = rpc.on(method, (params) => {
    off();
    resolve(params);
  });
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("over WebSocket", () => {
  let rpc;
  test("connects and is live", async () => {
    rpc = await connect(wsUrl);
    assert.equal(rpc.state, "live");
  });
  after(() => rpc?.close());

  test("calls with positional and named params (the specification's subtract)", async () => {
    assert.equal(await rpc.call("subtract", [42, 23]), 19);
    assert.equal(await rpc.call("subtract", [23, 42]), -19);
    assert.equal(await rpc.call("subtract", { subtrahend: 23, minuend: 42 }), 19);
    assert.equal(await rpc.call("ping"), "pong");
  });

  test("a JSON-RPC error rejects with its code, message and data", async () => {
    const missing = await rpc.call("foobar").catch((e) => e);
    assert.ok(missing instanceof RpcError);
    assert.equal(missing.code, -32601);
    assert.equal(missing.message, "Method not found");
    const invalid = await rpc.call("subtract", ["a", 1]).catch((e) => e);
    assert.equal(invalid.code, -32602);
    assert.equal(invalid.message, "Invalid params");
    assert.ok(invalid.data !== undefined, "the server says which param is wrong in data");
  });

  test("rejects params that are neither an array nor an object before sending", async () => {
    await assert.rejects(rpc.call("echo", 5), TypeError);
  });

  test("on() receives the server's notifications; notify() sends one", async () => {
    const got = next(rpc, "hello.back");
    // notify_me pushes the notification `method(params)` to its caller; sent
    // as a notification it has no answer, only the push.
    await rpc.notify("notify_me", ["hello.back", { n: 1 }]);
    assert.deepEqual(await got, { n: 1 });
  });

  test("batches answer in the calls' order; notifications get undefined", async () => {
    const pushed = next(rpc, "in.batch");
    const answers = await rpc.batch([
      { method: "subtract", params: [1, 2] },
      { method: "nope" },
      { method: "notify_me", params: ["in.batch", [7]], notify: true },
      { method: "echo", params: [{ a: [1, "x"] }] },
    ]);
    assert.equal(answers.length, 4);
    assert.deepEqual(answers[0], { result: -1 });
    assert.ok(answers[1].error instanceof RpcError);
    assert.equal(answers[1].error.code, -32601);
    assert.equal(answers[2], undefined);
    assert.deepEqual(answers[3], { result: { a: [1, "x"] } });
    assert.deepEqual(await pushed, [7]);
  });

  test("a call past its timeout rejects with TimeoutError; the late answer is dropped", async () => {
    const e = await rpc.call("slow", [600], { timeout: 100 }).catch((e) => e);
    assert.ok(e instanceof TimeoutError, String(e));
    assert.equal(e.code, -32100);
    assert.deepEqual(e.data, { timeout_ms: 100 });
    await sleep(700); // the answer arrives now and is ignored
    assert.equal(rpc._pending.size, 0);
    assert.equal(await rpc.call("add", [2, 3]), 5);
  });

  test("many concurrent calls are matched by id", async () => {
    const values = Array.from({ length: 200 }, (_, i) => i);
    const results = await Promise.all(values.map((i) => rpc.call("add", [i, 1000])));
    assert.deepEqual(results, values.map((i) => i + 1000));
  });

  test("groups: join, then say reaches every member", async () => {
    const other = await connect(wsUrl);
    try {
      assert.equal(await rpc.call("join", ["js-room"]), true);
      assert.equal(await other.call("join", ["js-room"]), true);
      const a = next(rpc, "chat.message");
      const b = next(other, "chat.message");
      await other.call("say", ["js-room", "hi all"]);
      assert.deepEqual(await a, { room: "js-room", text: "hi all" });
      assert.deepEqual(await b, { room: "js-room", text: "hi all" });
    } finally {
      other.close();
    }
  });

  test("handle() answers the server's calls (ask_client asks this client)", async () => {
    const seen = [];
    const off = rpc.handle("confirm", async (params) => {
      seen.push(params);
      return { ok: true, echoed: params };
    });
    try {
      const named = await rpc.call("ask_client", { method: "confirm", params: { question: "really?" } });
      assert.deepEqual(named, { ok: true, echoed: { question: "really?" } });
      const positional = await rpc.call("ask_client", ["confirm", [1, 2]]);
      assert.deepEqual(positional, { ok: true, echoed: [1, 2] });
      assert.deepEqual(seen, [{ question: "really?" }, [1, 2]]);
    } finally {
      off();
    }
  });

  test("a handler's RpcError reaches the server as the client's error; no handler is Method not found", async () => {
    const off = rpc.handle("refuse", () => {
      throw new RpcError(4001, "user said no", { why: "busy" });
    });
    try {
      await assert.rejects(rpc.call("ask_client", ["refuse"]), (e) => {
        assert.ok(e instanceof RpcError);
        assert.equal(e.code, 4001);
        assert.equal(e.message, "user said no");
        assert.deepEqual(e.data, { why: "busy" });
        return true;
      });
    } finally {
      off();
    }
    // Removed: the client now answers the server's call with -32601.
    await assert.rejects(rpc.call("ask_client", ["refuse"]), (e) => {
      assert.ok(e instanceof RpcError);
      assert.equal(e.code, -32601);
      assert.match(e.message, /Method not found/);
      return true;
    });
  });

  test("close() rejects what is pending and refuses new calls", async () => {
    const c = await connect(wsUrl);
    const pending = c.call("slow", [2000]);
    c.close();
    assert.equal(c.state, "closed");
    assert.ok((await pending.catch((e) => e)) instanceof ConnectionError);
    assert.ok((await c.call("ping").catch((e) => e)) instanceof ConnectionError);
  });

  test("connecting to a port with nothing behind it rejects", async () => {
    const proxy = await startProxy(1);
    await proxy.down();
    const e = await connect(`ws://127.0.0.1:${proxy.port}/ws/`, { reconnect: false }).catch((e) => e);
    assert.ok(e instanceof ConnectionError, String(e));
  });
});

describe("reconnecting", () => {
  test("after a drop: in-flight calls reject, state goes reconnecting then live, onReconnect rejoins", async () => {
    const port = Number(addr.split(":")[1]);
    const proxy = await startProxy(port);
    const states = [];
    let rejoined = 0;
    const rpc = await connect(`ws://127.0.0.1:${proxy.port}/ws/`, {
      backoffInitial: 20,
      backoffMax: 200,
      onState: (s) => states.push(s),
      onReconnect: async (again) => {
        rejoined += 1;
        await again.call("join", ["js-reconnect"]);
      },
    });
    const speaker = await connect(wsUrl);
    try {
      await rpc.call("join", ["js-reconnect"]);
      const inFlight = rpc.call("slow", [1000]);
      await sleep(50);
      await proxy.down();
      assert.ok((await inFlight.catch((e) => e)) instanceof ConnectionError);
      await until("reconnecting", () => rpc.state === "reconnecting");
      // A call made while down waits in the queue and goes out after the reconnect.
      const queued = rpc.call("add", [20, 22]);
      await sleep(300); // several refused attempts, backing off
      await proxy.up();
      assert.equal(await queued, 42);
      await until("live", () => rpc.state === "live");
      assert.equal(rejoined, 1);
      // The rejoin made by onReconnect holds: a message to the room arrives.
      const got = next(rpc, "chat.message");
      await speaker.call("say", ["js-reconnect", "welcome back"]);
      assert.deepEqual(await got, { room: "js-reconnect", text: "welcome back" });
      assert.deepEqual(states.slice(0, 1), ["live"]);
      assert.ok(states.includes("reconnecting"), states.join(","));
      assert.equal(states.at(-1), "live");
    } finally {
      rpc.close();
      speaker.close();
      await proxy.close();
    }
  });

  test("calls waiting for the connection are bounded by maxQueued and by their timeout", async () => {
    const port = Number(addr.split(":")[1]);
    const proxy = await startProxy(port);
    const rpc = await connect(`ws://127.0.0.1:${proxy.port}/ws/`, { maxQueued: 2, backoffInitial: 50 });
    try {
      await proxy.down();
      await until("reconnecting", () => rpc.state === "reconnecting");
      const a = rpc.call("ping", undefined, { timeout: 200 });
      const b = rpc.call("ping", undefined, { timeout: 200 });
      const c = await rpc.call("ping").catch((e) => e);
      assert.equal(c.code, -32102, String(c));
      assert.ok((await a.catch((e) => e)) instanceof TimeoutError);
      assert.ok((await b.catch((e) => e)) instanceof TimeoutError);
      assert.equal(rpc._queued.length, 0, "timed-out calls leave the queue");
    } finally {
      rpc.close();
      await proxy.close();
    }
  });

  test("the defaults bound every wait", () => {
    assert.equal(DEFAULTS.timeout, 30_000);
    assert.equal(DEFAULTS.maxQueued, 1_000);
    assert.ok(DEFAULTS.backoffMax >= DEFAULTS.backoffInitial);
  });
});

describe("over HTTP", () => {
  test("calls, errors, notifications and batches with fetch", async () => {
    const rpc = await connect(httpUrl);
    assert.equal(await rpc.call("subtract", { minuend: 42, subtrahend: 23 }), 19);
    assert.equal(await rpc.call("sum", [1, 2, 4]), 7);
    const e = await rpc.call("foobar").catch((e) => e);
    assert.equal(e.code, -32601);
    await rpc.notify("update", [1, 2, 3, 4, 5]);
    const answers = await rpc.batch([
      { method: "sum", params: [1, 2, 4] },
      { method: "notify_hello", params: [7], notify: true },
      { method: "subtract", params: [42, 23] },
      { method: "foo.get", params: { name: "myself" } },
      { method: "get_data" },
    ]);
    assert.deepEqual(answers[0], { result: 7 });
    assert.equal(answers[1], undefined);
    assert.deepEqual(answers[2], { result: 19 });
    assert.equal(answers[3].error.code, -32601);
    assert.deepEqual(answers[4], { result: ["hello", 5] });
  });

  test("a batch of notifications only resolves with no answers", async () => {
    const rpc = await connect(httpUrl);
    const answers = await rpc.batch([
      { method: "notify_sum", params: [1, 2, 4], notify: true },
      { method: "notify_hello", params: [7], notify: true },
    ]);
    assert.deepEqual(answers, [undefined, undefined]);
  });

  test("a call past its timeout rejects with TimeoutError", async () => {
    const rpc = await connect(httpUrl, { timeout: 100 });
    const e = await rpc.call("slow", [1000]).catch((e) => e);
    assert.ok(e instanceof TimeoutError, String(e));
  });
});

describe("the served module", () => {
  test("is this file, as JavaScript, revalidated with its ETag", async () => {
    const response = await fetch(`http://${addr}/channels-rpc.js`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(response.headers.get("cache-control"), "no-cache");
    const served = await response.text();
    const source = await readFile(new URL("../channels-rpc.js", import.meta.url), "utf8");
    assert.equal(served, source);
    const etag = response.headers.get("etag");
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await fetch(`http://${addr}/channels-rpc.js`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
  });
});
