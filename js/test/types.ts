// Compiled with `tsc --noEmit --strict` by js/tests/node_client.rs: the type
// declarations (channels-rpc.d.ts) accept what the README shows and refuse
// misuse (each `@ts-expect-error` must meet an error, or tsc fails).
import { connect, DEFAULTS, RpcError, TimeoutError, type BatchAnswer, type Client, type WebSocketClient } from "../channels-rpc.js";

export async function usage(): Promise<void> {
  const rpc: WebSocketClient = await connect("ws://127.0.0.1:8000/ws/", {
    timeout: 5_000,
    onReconnect: (again) => again.call("join", ["lobby"]),
    onState: (state) => {
      const known: "connecting" | "live" | "reconnecting" | "closed" = state;
      void known;
    },
  });
  const difference: number = await rpc.call<number>("subtract", { minuend: 42, subtrahend: 23 });
  await rpc.call("subtract", [42, 23], { timeout: 100 });
  await rpc.notify("update", [1, 2, 3]);
  const answers: BatchAnswer[] = await rpc.batch([{ method: "sum", params: [1, 2] }, { method: "hello", notify: true }]);
  const off: () => void = rpc.on("chat.message", (params) => void params);
  rpc.handle("confirm", async (params) => params !== null);
  off();
  rpc.close();

  const http: Client = await connect("http://127.0.0.1:8000/rpc/", { headers: { authorization: "Bearer x" } });
  await http.call("ping");
  const ms: number = DEFAULTS.timeout;

  try {
    await http.call("boom");
  } catch (e) {
    if (e instanceof TimeoutError) void e.data;
    if (e instanceof RpcError) {
      const code: number = e.code;
      void code;
    }
  }
  void difference, answers, ms;

  // @ts-expect-error params are an array or an object, never a number
  await rpc.call("subtract", 42);
  // @ts-expect-error an HTTP client has no server notifications
  http.on("chat.message", () => {});
  // @ts-expect-error the options have no such bound
  await connect("ws://127.0.0.1:8000/ws/", { retries: 3 });
  // @ts-expect-error the defaults are read-only
  DEFAULTS.timeout = 1;
}
