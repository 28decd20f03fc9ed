// The chat page's script: joins rooms, shows every room's messages, sends
// messages, and shows the connection's state. What other people typed is put
// on the page as text (textContent), never as HTML.
import { connect } from "/channels-rpc.js";

/** Messages kept on the page; older ones are removed. */
const MAX_MESSAGES = 500;

const $ = (id) => document.getElementById(id);
const joined = new Set();
let current = null;
let rpc = null;

function setState(state) {
  $("state").textContent = state;
  $("state").dataset.state = state;
}

function showError(e) {
  $("error").textContent = e ? String(e.message ?? e) : "";
}

function show({ room, text }) {
  const item = document.createElement("li");
  const roomTag = document.createElement("span");
  roomTag.className = "room";
  roomTag.textContent = room;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  item.append(roomTag, body);
  const list = $("messages");
  list.append(item);
  while (list.childElementCount > MAX_MESSAGES) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

function wsUrl() {
  const url = new URL("/ws/", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

async function start() {
  setState("connecting");
  // The first connection is retried too: the server may be starting.
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      rpc = await connect(wsUrl(), {
        onState: setState,
        // After a reconnect the server knows nothing of this page: rejoin.
        onReconnect: async (again) => {
          for (const room of joined) await again.call("join", [room]);
        },
      });
      break;
    } catch {
      setState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  rpc.on("chat.message", show);
  setState(rpc.state);
}

$("join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const room = $("room").value.trim();
  try {
    await rpc.call("join", [room]);
    joined.add(room);
    current = room;
    $("joined").textContent = `in #${room}`;
    showError(null);
  } catch (e) {
    showError(e);
  }
});

$("say-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current) return showError("join a room first");
  const text = $("text").value;
  try {
    await rpc.call("say", [current, text]);
    $("text").value = "";
    showError(null);
  } catch (e) {
    showError(e);
  }
});

start();
