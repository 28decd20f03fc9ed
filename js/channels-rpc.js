// channels-rpc.js: the browser (and node) client of channels-rpc.
//
// A dependency-free ES module. Over WebSocket it makes calls, sends
// notifications and batches, receives the server's notifications, answers the
// server's own calls, and reconnects with exponential backoff; over HTTP it
// makes calls, notifications and batches with `fetch`.
//
//   import { connect } from "/channels-rpc.js";
//   const rpc = await connect("ws://127.0.0.1:8000/ws/");
//   await rpc.call("subtract", [42, 23]);            // 19
//   await rpc.call("subtract", { minuend: 42, subtrahend: 23 });
//   rpc.on("chat.message", (params) => show(params));
//
// A JSON-RPC error rejects the call's promise with an `RpcError` carrying the
// response's `code`, `message` and `data`.

/** The error of a call: the server's JSON-RPC error, or one of this client's. */
export class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/** A call that got no answer in time. The server may still run it. */
export class TimeoutError extends RpcError {
  constructor(method, ms) {
    super(TIMEOUT, `no answer to ${method} within ${ms} ms`, { timeout_ms: ms });
    this.name = "TimeoutError";
  }
}

/** A call whose connection closed before its answer came. The server may have run it. */
export class ConnectionError extends RpcError {
  constructor(message) {
    super(CONNECTION_LOST, message);
    this.name = "ConnectionError";
  }
}

// Codes of this client's own errors: the implementation-defined server-error
// range is the server's, so these sit just below it.
const TIMEOUT = -32100;
const CONNECTION_LOST = -32101;
const QUEUE_FULL = -32102;

/** The defaults of `connect`'s options; every bound has one. */
export const DEFAULTS = Object.freeze({
  /** Milliseconds a call waits for its answer. */
  timeout: 30_000,
  /** Reconnect after the connection drops (WebSocket only). */
  reconnect: true,
  /** First delay before reconnecting, in milliseconds; doubles each attempt. */
  backoffInitial: 250,
  /** Longest delay between reconnect attempts, in milliseconds. */
  backoffMax: 10_000,
  /** Calls that may wait for the connection while it is down. */
  maxQueued: 1_000,
});

/**
 * Connects to a channels-rpc (or any JSON-RPC) endpoint. A `ws:`/`wss:` URL
 * gives a WebSocket client; `http:`/`https:` a fetch-based client. A path
 * (`"/ws/"`) is taken relative to the page, as WebSocket.
 *
 * Options: `timeout`, `reconnect`, `backoffInitial`, `backoffMax`,
 * `maxQueued` (see `DEFAULTS`), `onReconnect(rpc)` (awaited after every
 * reconnect, before queued calls go out: rejoin groups there),
 * `onState(state)`, `WebSocket` (a constructor, where there is no global
 * one), `headers` (HTTP only).
 */
export async function connect(url, options = {}) {
  const resolved = resolveUrl(url);
  if (resolved.protocol === "http:" || resolved.protocol === "https:") {
    return new HttpClient(resolved.href, options);
  }
  const client = new WebSocketClient(resolved.href, options);
  await client._firstOpen;
  return client;
}

function resolveUrl(url) {
  const base = globalThis.location?.href;
  const resolved = base ? new URL(url, base) : new URL(url);
  if (base && resolved.protocol === globalThis.location.protocol && /^\//.test(String(url))) {
    // A bare path means "this server's WebSocket", as in Channels' routing.
    resolved.protocol = resolved.protocol === "https:" ? "wss:" : "ws:";
  }
  return resolved;
}

function errorFromResponse(error) {
  if (error && typeof error === "object") {
    return new RpcError(error.code, String(error.message ?? "error"), error.data);
  }
  // JSON-RPC 1.0 allows any error value.
  return new RpcError(-32000, String(error), error);
}

/** Calls shared by both transports: builds requests and reads responses. */
class Requests {
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    this._nextId = 1;
  }

  _request(method, params, id) {
    if (typeof method !== "string") throw new TypeError("method must be a string");
    const message = { jsonrpc: "2.0", method };
    if (params !== undefined) {
      if (params === null || typeof params !== "object") {
        throw new TypeError("params must be an array (positional) or an object (named)");
      }
      message.params = params;
    }
    if (id !== undefined) message.id = id;
    return message;
  }

  _batchMessages(calls) {
    if (!Array.isArray(calls) || calls.length === 0) {
      throw new TypeError("a batch is a non-empty array of {method, params, notify}");
    }
    return calls.map((c) => this._request(c.method, c.params, c.notify ? undefined : this._nextId++));
  }
}

/**
 * Settles a batch's answers in the order of its calls: `{ result }` or
 * `{ error: RpcError }` for each call, `undefined` for each notification.
 */
function settleBatch(messages, responses) {
  const byId = new Map();
  for (const r of responses) byId.set(r.id, r);
  return messages.map((m) => {
    if (m.id === undefined) return undefined;
    const r = byId.get(m.id);
    if (!r) return { error: new ConnectionError(`no answer for ${m.method} in the batch`) };
    return "error" in r && r.error !== null ? { error: errorFromResponse(r.error) } : { result: r.result };
  });
}

/** Calls over HTTP POST, one request per call or batch. */
class HttpClient extends Requests {
  constructor(url, options) {
    super(options);
    this.url = url;
    this.state = "live";
  }

  async _post(body, timeout) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    try {
      const response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.options.headers },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      const text = await response.text();
      if (text === "") {
        if (response.ok) return undefined;
        throw new RpcError(-32000, `HTTP ${response.status}`, { status: response.status });
      }
      try {
        return JSON.parse(text);
      } catch {
        throw new RpcError(-32700, `HTTP ${response.status}: not JSON`, { status: response.status, body: text.slice(0, 200) });
      }
    } catch (e) {
      if (controller.signal.aborted) throw new TimeoutError(body.method ?? "batch", timeout);
      throw e instanceof RpcError ? e : new ConnectionError(String(e?.message ?? e));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Calls `method` with `params` (an array or an object); resolves to its result. */
  async call(method, params, { timeout = this.options.timeout } = {}) {
    const response = await this._post(this._request(method, params, this._nextId++), timeout);
    if (response === undefined || Array.isArray(response)) {
      throw new RpcError(-32603, "the server sent no single response", { response });
    }
    if ("error" in response && response.error !== null) throw errorFromResponse(response.error);
    return response.result;
  }

  /** Sends a notification; resolves once the server has taken it. */
  async notify(method, params) {
    await this._post(this._request(method, params), this.options.timeout);
  }

  /** Sends `calls` ({method, params, notify}) as one batch; see `settleBatch`. */
  async batch(calls, { timeout = this.options.timeout } = {}) {
    const messages = this._batchMessages(calls);
    const responses = await this._post(messages, timeout);
    return settleBatch(messages, Array.isArray(responses) ? responses : []);
  }

  /** Nothing to close over HTTP; here for symmetry with the WebSocket client. */
  close() {
    this.state = "closed";
  }
}

/** Calls, notifications and server calls over one WebSocket that reconnects. */
class WebSocketClient extends Requests {
  constructor(url, options) {
    super(options);
    this.url = url;
    this.state = "connecting";
    this._WebSocket = this.options.WebSocket ?? globalThis.WebSocket;
    if (typeof this._WebSocket !== "function") {
      throw new TypeError("no WebSocket here: pass options.WebSocket (node 20: --experimental-websocket)");
    }
    this._pending = new Map(); // id -> {resolve, reject, timer, method}
    this._queued = []; // messages waiting for the connection
    this._listeners = new Map(); // method -> Set of notification handlers
    this._handlers = new Map(); // method -> server-call handler
    this._stateListeners = new Set();
    this._attempt = 0;
    this._closed = false;
    if (this.options.onState) this._stateListeners.add(this.options.onState);
    this._firstOpen = new Promise((resolve, reject) => {
      this._open(resolve, reject);
    });
  }

  /** Calls `method` with `params` (an array or an object); resolves to its result. */
  call(method, params, { timeout = this.options.timeout } = {}) {
    return new Promise((resolve, reject) => {
      const id = this._nextId++;
      const message = this._request(method, params, id);
      const timer = setTimeout(() => {
        this._pending.delete(id);
        this._unqueue(message);
        reject(new TimeoutError(method, timeout));
      }, timeout);
      this._pending.set(id, { resolve, reject, timer, method, message });
      this._send(message, () => {
        clearTimeout(timer);
        this._pending.delete(id);
      }, reject);
    });
  }

  /** Sends a notification: no answer comes. */
  notify(method, params) {
    return new Promise((resolve, reject) => {
      this._send(this._request(method, params), () => {}, reject);
      resolve();
    });
  }

  /** Sends `calls` ({method, params, notify}) as one batch; see `settleBatch`. */
  batch(calls, { timeout = this.options.timeout } = {}) {
    const messages = this._batchMessages(calls);
    const ids = messages.filter((m) => m.id !== undefined).map((m) => m.id);
    if (ids.length === 0) {
      return new Promise((resolve, reject) => {
        this._send(messages, () => {}, reject);
        resolve(messages.map(() => undefined));
      });
    }
    return new Promise((resolve, reject) => {
      const answers = [];
      const finish = () => {
        clearTimeout(timer);
        for (const id of ids) this._pending.delete(id);
      };
      const fail = (e) => {
        finish();
        reject(e);
      };
      const timer = setTimeout(() => {
        finish();
        this._unqueue(messages);
        reject(new TimeoutError("batch", timeout));
      }, timeout);
      for (const id of ids) {
        this._pending.set(id, {
          method: "batch",
          message: messages,
          timer,
          reject: fail,
          // Every member of the batch settles through here; the whole batch
          // resolves when the last one has.
          response: (r) => {
            answers.push(r);
            if (answers.length === ids.length) {
              finish();
              resolve(settleBatch(messages, answers));
            }
          },
        });
      }
      this._send(messages, finish, reject);
    });
  }

  /** Calls `handler(params)` for every server notification `method`; returns an unsubscribe function. */
  on(method, handler) {
    let set = this._listeners.get(method);
    if (!set) this._listeners.set(method, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /**
   * Answers the server's calls of `method` with `handler(params)` (its
   * return value, awaited, is the result; a thrown `RpcError` is the error).
   * Returns a function that removes the handler.
   */
  handle(method, handler) {
    this._handlers.set(method, handler);
    return () => {
      if (this._handlers.get(method) === handler) this._handlers.delete(method);
    };
  }

  /** Calls `listener(state)` on every change of `state`: connecting, live, reconnecting, closed. */
  onState(listener) {
    this._stateListeners.add(listener);
    return () => this._stateListeners.delete(listener);
  }

  /** Closes the connection for good: pending calls reject, no reconnect. */
  close() {
    this._closed = true;
    clearTimeout(this._retryTimer);
    this._queued = [];
    this._failAll(new ConnectionError("the client closed the connection"));
    this._ws?.close(1000);
    this._setState("closed");
  }

  // --- connection ---------------------------------------------------------

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this._stateListeners) {
      try {
        listener(state);
      } catch (e) {
        console.error("channels-rpc: onState listener failed", e);
      }
    }
  }

  _open(firstResolve, firstReject) {
    let ws;
    try {
      ws = new this._WebSocket(this.url);
    } catch (e) {
      if (firstReject) return firstReject(new ConnectionError(String(e?.message ?? e)));
      return this._retry();
    }
    this._ws = ws;
    let opened = false;
    ws.onopen = async () => {
      opened = true;
      const reconnecting = this._attempt > 0 || !firstResolve;
      this._attempt = 0;
      if (reconnecting && this.options.onReconnect) {
        try {
          await this.options.onReconnect(this);
        } catch (e) {
          console.error("channels-rpc: onReconnect failed", e);
        }
      }
      if (this._ws !== ws || ws.readyState !== 1) return;
      this._setState("live");
      this._flush();
      firstResolve?.(this);
      firstResolve = firstReject = undefined;
    };
    ws.onmessage = (event) => this._receive(event.data);
    let lost = false;
    const onLost = (code, reason) => {
      if (lost || this._ws !== ws) return;
      lost = true;
      this._ws = undefined;
      this._failAll(new ConnectionError(`connection closed (${code}${reason ? ": " + reason : ""})`));
      if (firstReject && !opened) {
        this._setState("closed");
        firstReject(new ConnectionError(`cannot connect to ${this.url} (${code})`));
        return;
      }
      if (this._closed || !this.options.reconnect) {
        this._setState("closed");
        return;
      }
      this._retry();
    };
    ws.onclose = (event) => onLost(event.code, event.reason);
    // Browsers follow an error with a close event; node 20's WebSocket does
    // not when the connection is refused, so an error before the open ends
    // the attempt too.
    ws.onerror = () => {
      if (!opened) {
        onLost(1006, "connection failed");
        try {
          ws.close();
        } catch {
          // already closing
        }
      }
    };
  }

  _retry() {
    this._setState("reconnecting");
    const base = Math.min(this.options.backoffMax, this.options.backoffInitial * 2 ** this._attempt);
    this._attempt += 1;
    // Jitter: half to all of the delay, so clients dropped together do not return together.
    const delay = base / 2 + Math.random() * (base / 2);
    this._retryTimer = setTimeout(() => {
      if (!this._closed) this._open();
    }, delay);
  }

  _send(message, forget, reject) {
    if (this._ws && this._ws.readyState === 1) {
      this._ws.send(JSON.stringify(message));
      return;
    }
    if (this._closed || (this.state === "closed" && !this.options.reconnect)) {
      forget();
      reject(new ConnectionError("the connection is closed"));
      return;
    }
    if (this._queued.length >= this.options.maxQueued) {
      forget();
      reject(new RpcError(QUEUE_FULL, `more than ${this.options.maxQueued} calls wait for the connection`));
      return;
    }
    this._queued.push(message);
  }

  _unqueue(message) {
    const i = this._queued.indexOf(message);
    if (i >= 0) this._queued.splice(i, 1);
  }

  _flush() {
    const queued = this._queued;
    this._queued = [];
    for (const message of queued) this._ws.send(JSON.stringify(message));
  }

  /**
   * Rejects every call that was sent and not answered: whether the server ran
   * it is unknown. Calls still queued (never sent) keep waiting for the
   * reconnect, within their own timeouts.
   */
  _failAll(error) {
    const failed = new Set();
    for (const [id, p] of this._pending) {
      if (this._queued.includes(p.message)) continue;
      this._pending.delete(id);
      clearTimeout(p.timer);
      failed.add(p.reject); // a batch's ids share one
    }
    for (const reject of failed) reject(error);
  }

  // --- incoming -----------------------------------------------------------

  _receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      console.warn("channels-rpc: ignored a message that is not JSON");
      return;
    }
    if (Array.isArray(message)) {
      const answers = [];
      for (const m of message) {
        const reply = this._dispatch(m);
        if (reply) answers.push(reply);
      }
      if (answers.length) {
        Promise.all(answers).then((replies) => {
          const sent = replies.filter(Boolean);
          if (sent.length) this._reply(sent);
        });
      }
      return;
    }
    const reply = this._dispatch(message);
    reply?.then((r) => r && this._reply(r));
  }

  _reply(message) {
    if (this._ws && this._ws.readyState === 1) this._ws.send(JSON.stringify(message));
  }

  /** Handles one message; returns a promise of the reply when it is a server call. */
  _dispatch(m) {
    if (!m || typeof m !== "object") return undefined;
    if (typeof m.method === "string") {
      if (m.id === undefined || m.id === null) {
        this._notify(m.method, m.params);
        return undefined;
      }
      return this._answer(m);
    }
    const pending = this._pending.get(m.id);
    if (!pending) return undefined; // late, duplicate or unknown: dropped
    this._pending.delete(m.id);
    if (pending.response) {
      pending.response(m);
      return undefined;
    }
    clearTimeout(pending.timer);
    if ("error" in m && m.error !== null && m.error !== undefined) pending.reject(errorFromResponse(m.error));
    else pending.resolve(m.result);
    return undefined;
  }

  _notify(method, params) {
    const set = this._listeners.get(method);
    if (!set) return;
    for (const handler of set) {
      try {
        handler(params);
      } catch (e) {
        console.error(`channels-rpc: handler of ${method} failed`, e);
      }
    }
  }

  async _answer(m) {
    const version = m.jsonrpc === "2.0" ? { jsonrpc: "2.0" } : {};
    const handler = this._handlers.get(m.method);
    if (!handler) {
      return { ...version, id: m.id, error: { code: -32601, message: "Method not found" }, ...(version.jsonrpc ? {} : { result: null }) };
    }
    try {
      const result = await handler(m.params);
      return { ...version, id: m.id, result: result === undefined ? null : result, ...(version.jsonrpc ? {} : { error: null }) };
    } catch (e) {
      const error =
        e instanceof RpcError
          ? { code: e.code, message: e.message, ...(e.data !== undefined ? { data: e.data } : {}) }
          : { code: -32000, message: String(e?.message ?? e) };
      return { ...version, id: m.id, error, ...(version.jsonrpc ? {} : { result: null }) };
    }
  }
}
