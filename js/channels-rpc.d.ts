// Types of channels-rpc.js, the channels-rpc client for browsers and node.

/** Positional (an array) or named (an object) parameters. */
export type Params = unknown[] | Record<string, unknown>;

/** The error of a call: the server's JSON-RPC error, or one of this client's. */
export class RpcError extends Error {
  constructor(code: number, message: string, data?: unknown);
  readonly name: "RpcError" | "TimeoutError" | "ConnectionError";
  /** The JSON-RPC error code (-32100: timeout, -32101: connection lost, -32102: queue full). */
  readonly code: number;
  /** The error's `data`, when the server sent one. */
  readonly data?: unknown;
}

/** A call that got no answer in time; `data.timeout_ms` says the limit. The server may still run it. */
export class TimeoutError extends RpcError {}

/** A call whose connection closed before its answer came. The server may have run it. */
export class ConnectionError extends RpcError {}

/** The state of a WebSocket client. */
export type State = "connecting" | "live" | "reconnecting" | "closed";

/** One call of a batch; `notify: true` makes it a notification. */
export interface BatchCall {
  method: string;
  params?: Params;
  notify?: boolean;
}

/** The answer to one call of a batch; `undefined` stands for a notification. */
export type BatchAnswer = { result: unknown } | { error: RpcError } | undefined;

export interface Options {
  /** Milliseconds a call waits for its answer (default 30,000). */
  timeout?: number;
  /** Reconnect after the connection drops (default true; WebSocket only). */
  reconnect?: boolean;
  /** First reconnect delay in milliseconds, doubling per attempt (default 250). */
  backoffInitial?: number;
  /** Longest reconnect delay in milliseconds (default 10,000). */
  backoffMax?: number;
  /** Calls that may wait for the connection while it is down (default 1,000). */
  maxQueued?: number;
  /** Awaited after every reconnect, before queued calls go out: rejoin groups here. */
  onReconnect?: (rpc: WebSocketClient) => unknown;
  /** Called on every change of state. */
  onState?: (state: State) => void;
  /** A WebSocket constructor, where there is no global one. */
  WebSocket?: new (url: string) => WebSocket;
  /** Extra request headers (HTTP only), e.g. `authorization`. */
  headers?: Record<string, string>;
}

export interface CallOptions {
  /** Milliseconds this call waits for its answer. */
  timeout?: number;
}

/** What both transports do. */
export interface Client {
  readonly state: State;
  /** Calls `method`; resolves to its result, rejects with an `RpcError`. */
  call<T = unknown>(method: string, params?: Params, options?: CallOptions): Promise<T>;
  /** Sends a notification: no answer comes. */
  notify(method: string, params?: Params): Promise<void>;
  /** Sends the calls as one batch; the answers come in the calls' order. */
  batch(calls: BatchCall[], options?: CallOptions): Promise<BatchAnswer[]>;
  close(): void;
}

/** A client over one WebSocket that reconnects. */
export interface WebSocketClient extends Client {
  /** Calls `handler(params)` for each server notification `method`; returns an unsubscribe function. */
  on(method: string, handler: (params: unknown) => void): () => void;
  /** Answers the server's calls of `method`; a thrown `RpcError` becomes the error. */
  handle(method: string, handler: (params: unknown) => unknown | Promise<unknown>): () => void;
  /** Calls `listener` on every change of state; returns an unsubscribe function. */
  onState(listener: (state: State) => void): () => void;
}

/** The defaults of `connect`'s options. */
export const DEFAULTS: Readonly<Required<Pick<Options, "timeout" | "reconnect" | "backoffInitial" | "backoffMax" | "maxQueued">>>;

/** Connects over WebSocket (`ws:`, `wss:` or a path on this page's server). */
export function connect(url: `ws:${string}` | `wss:${string}` | `/${string}`, options?: Options): Promise<WebSocketClient>;
/** A client over HTTP POST (`http:` or `https:`). */
export function connect(url: `http:${string}` | `https:${string}`, options?: Options): Promise<Client>;
export function connect(url: string | URL, options?: Options): Promise<Client>;
