// The live room as the browser keeps it: the room's WebSocket, its frames and its state.
// The state follows the server's reducer (laotie/live/room/state.py) rule for rule: a snapshot
// replaces it, every event after it is applied in order, and every rule is idempotent, so
// an event the snapshot already reflects changes nothing when it is replayed.

const HEARTBEAT_MS = 15_000;
const FIRST_RETRY_MS = 500;
const LONGEST_RETRY_MS = 15_000;
const RECENT_CHAT = 50;
// Close codes of refusals (see live/room/ws.py): trying again would be refused again.
const FINAL_CLOSES = new Set([4403, 4404, 4422]);

/** Return the CSRF token of the page session, for fetch calls ('' when signed out). */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/** Return a random key of hex digits (works on plain-HTTP pages, unlike randomUUID). */
export function randomKey(bytes = 16) {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(values, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Call the JSON API with the page session; return the parsed answer or throw its message. */
export async function callApi(method, path, body, headers = {}) {
  const answer = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      "X-CSRF-Token": csrfToken(),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const error = new Error(data.message || `the server answered ${answer.status}`);
    error.status = answer.status;
    error.code = data.code;
    throw error;
  }
  return data;
}

const SYMBOLS = { CNY: "¥", USD: "$", EUR: "€", JPY: "¥", GBP: "£" };
const EXPONENTS = { JPY: 0, KRW: 0, BHD: 3, KWD: 3 };

/** Return the decimal places of a currency's minor unit. */
export function places(currency) {
  return EXPONENTS[currency] ?? 2;
}

/** Render minor units as the server does (core/money.py), with integers only. */
export function money(amount, currency) {
  if (amount === null || amount === undefined) return "";
  const exp = places(currency);
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  const scale = 10 ** exp;
  const whole = Math.floor(abs / scale).toLocaleString("en-US");
  const part = exp ? "." + String(abs % scale).padStart(exp, "0") : "";
  return `${sign}${SYMBOLS[currency] ?? `${currency} `}${whole}${part}`;
}

/** Read a price typed in major units (`99.90`) as minor units, without a float; null if bad. */
export function toMinor(text, currency) {
  const match = /^\s*(\d{1,12})(?:[.,](\d+))?\s*$/.exec(text);
  const exp = places(currency);
  if (!match || (match[2] ?? "").length > exp) return null;
  return Number(match[1]) * 10 ** exp + Number((match[2] ?? "").padEnd(exp, "0") || "0");
}

/** Return the state of a room before its snapshot arrives. */
export function emptyState() {
  return {
    session_id: null, title: "", status: "scheduled", cart: [], pin: null, sale: null,
    online: 0, likes: 0, chat: [], orders: 0, gmv_minor: 0, campaigns: {},
  };
}

const RULES = {
  status(state, data) { state.status = data.status; },
  cart(state, data) {
    state.cart = [...data.items];
    if (!state.cart.some((item) => item.product_id === state.pin)) state.pin = null;
  },
  pin(state, data) { state.pin = data.product_id; },
  stock(state, data) {
    for (const item of state.cart) {
      if (item.product_id !== data.product_id) continue;
      item.stock = data.stock;
      for (const sku of item.skus || []) if (data.skus && sku.sku_id in data.skus) sku.stock = data.skus[sku.sku_id];
    }
  },
  sale(state, data) { state.sale = { ...data }; },
  sale_left(state, data) {
    // Workers announce counts as they go; an older count reaching the log late is ignored.
    const sale = state.sale;
    if (!sale || sale.sale_id !== data.sale_id) return;
    if ((data.version || 0) >= (sale.version || 0)) {
      sale.left = data.left;
      sale.version = data.version || 0;
    }
  },
  sale_end(state, data) {
    if (state.sale && state.sale.sale_id === data.sale_id) state.sale = null;
  },
  chat(state, data) {
    if (!state.chat.some((line) => line.id === data.id)) {
      state.chat = [...state.chat, { ...data }].slice(-RECENT_CHAT);
    }
  },
  chat_delete(state, data) { state.chat = state.chat.filter((line) => line.id !== data.id); },
  likes(state, data) { state.likes = data.total; },
  online(state, data) { state.online = data.count; },
  bought(state, data) {
    state.orders = data.orders;
    state.gmv_minor = data.gmv_minor;
  },
  // A C2M campaign of the show, whole: the newest frame replaces the card.
  campaign(state, data) { state.campaigns = { ...(state.campaigns || {}), [data.id]: { ...data } }; },
};

/** Return the state after one event; the given state is left as it was. */
export function reduce(state, type, data) {
  const next = structuredClone(state);
  RULES[type]?.(next, data);
  return next;
}

/** Split `epoch:n` into its parts; null when malformed. */
export function parseSeq(text) {
  if (typeof text !== "string") return null;
  const at = text.lastIndexOf(":");
  const n = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(n)) return null;
  return { epoch: text.slice(0, at), n };
}

/** Return the later of two positions; a position of another epoch replaces the old one. */
export function laterSeq(held, seen) {
  const a = parseSeq(held);
  const b = parseSeq(seen);
  if (b === null) return held;
  if (a === null || a.epoch !== b.epoch || b.n > a.n) return seen;
  return held;
}

/**
 * One viewer's link to a room: joins, keeps the state, rejoins after `after=<seq>`.
 *
 * Callbacks: onHello(hello), onState(state, frames) after every batch, onError(frame) for
 * refusals of what this viewer sent, onLink(status) with "open", "retrying" or "closed".
 */
export class RoomLink {
  constructor(sessionId, source, callbacks) {
    this.sessionId = sessionId;
    this.source = source;
    this.callbacks = callbacks;
    this.state = emptyState();
    this.seq = null;
    this.hello = null;
    this.socket = null;
    this.retryMs = FIRST_RETRY_MS;
    this.heartbeat = null;
    this.stopped = false;
  }

  /** Open the socket (again), asking only for what came after the last position seen. */
  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = new URLSearchParams({ source: this.source });
    if (this.seq) query.set("after", this.seq);
    const socket = new WebSocket(`${scheme}://${location.host}/ws/live/${encodeURIComponent(this.sessionId)}?${query}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.retryMs = FIRST_RETRY_MS;
      this.callbacks.onLink?.("open");
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.send({ type: "heartbeat" }), HEARTBEAT_MS);
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  /** Send a frame if the socket is open; return whether it went. */
  send(frame) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Leave the room for good. */
  stop() {
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.socket?.close();
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "hello") {
      this.hello = message;
      this.callbacks.onHello?.(message);
    } else if (message.type === "batch") {
      this.applyBatch(message.frames ?? []);
    } else if (message.type === "error") {
      this.callbacks.onError?.(message);
    } else {
      this.callbacks.onDirect?.(message);
    }
  }

  applyBatch(frames) {
    const events = [];
    for (const frame of frames) {
      if (frame.type === "snapshot") {
        this.state = { ...emptyState(), ...structuredClone(frame.data) };
        this.seq = frame.seq ?? this.seq;
        events.length = 0;
        continue;
      }
      if (frame.type === "error") {
        this.callbacks.onError?.({ type: "error", ...frame.data });
        continue;
      }
      this.state = reduce(this.state, frame.type, frame.data);
      if (frame.seq) this.seq = laterSeq(this.seq, frame.seq);
      events.push(frame);
    }
    this.callbacks.onState?.(this.state, events);
  }

  closed(socket, event) {
    clearInterval(this.heartbeat);
    if (socket !== this.socket || this.stopped) return;
    if (FINAL_CLOSES.has(event.code)) {
      this.callbacks.onLink?.("closed", event.reason);
      return;
    }
    this.callbacks.onLink?.("retrying");
    // Back off with jitter so that a restarted server is not hit by every viewer at once.
    const wait = this.retryMs * (0.5 + Math.random());
    this.retryMs = Math.min(this.retryMs * 2, LONGEST_RETRY_MS);
    setTimeout(() => this.connect(), wait);
  }
}

/** Replace an element's children with the given ones. */
export function fill(element, children) {
  element.replaceChildren(...children);
}

/** Make an element with a class and text (always as text, never as markup). */
export function make(tag, className = "", text = "") {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== "") element.textContent = text;
  return element;
}

/** Return "mm:ss" (or "h:mm:ss") until a moment; "00:00" once it is past. */
export function countdown(endsAt, now = Date.now()) {
  const left = Math.max(0, Math.floor((Date.parse(endsAt) - now) / 1000));
  const h = Math.floor(left / 3600);
  const m = String(Math.floor((left % 3600) / 60)).padStart(2, "0");
  const s = String(left % 60).padStart(2, "0");
  return h ? `${h}:${m}:${s}` : `${m}:${s}`;
}
