// The viewer's room: draws the room's state from its WebSocket, chats, likes and buys.
// Every text that comes from people (chat, titles, names) is set with textContent.

import { drawCampaign, newestFirst, readCampaigns } from "/static/campaigns.js";
import { RoomLink, callApi, countdown, fill, make, money, randomKey } from "/static/live.js";

const root = document.querySelector("[data-room]");
const part = (name) => root.querySelector(`[data-role="${name}"]`);
const signedIn = root.dataset.signedIn === "yes";
const maxQuantity = Number(root.dataset.maxQuantity || 99);
const TOAST_MS = 4000;
// The viewer's fan level (0: no fan), the show's fan prices by SKU, the coupons it holds
// for this shop and those the anchor offers: drawn into the cart, checked by the server.
const fanLevel = Number(root.dataset.fanLevel || 0);
const fanPrices = JSON.parse(root.dataset.fanPrices || "{}");
let claims = JSON.parse(root.dataset.claims || "[]");
let offered = JSON.parse(root.dataset.offered || "[]");

let state = null;
// The show's C2M campaigns as read on joining; `campaign` frames in the state are newer.
let campaignsRead = {};
let likesShown = 0;
let likesHeard = -1;
let toastTimer = null;
// One key per purchase: a retry after a lost answer reuses it, so it makes one order.
const pendingKeys = new Map();

const link = new RoomLink(root.dataset.sessionId, root.dataset.source, {
  onState(next, events) {
    state = next;
    // Own likes show at once; the room's total replaces them when it moves.
    if (next.likes !== likesHeard) likesShown = likesHeard = next.likes;
    render();
    for (const frame of events) if (frame.type === "bought") toast(frame.data);
  },
  onError(frame) { showError(frame.message); },
  onLink(status, reason) {
    part("link").hidden = status === "open";
    part("link").textContent = status === "closed" ? `left the room: ${reason || "refused"}` : "reconnecting…";
  },
});

function render() {
  const badge = part("status-badge");
  badge.dataset.status = state.status;
  badge.textContent = state.status === "live" ? "LIVE" : state.status.toUpperCase();
  part("online").textContent = String(state.online);
  part("likes").textContent = String(likesShown);
  renderPinned();
  renderSale();
  renderCampaign();
  renderCart();
  renderChat();
}

function cartItem(productId) {
  return state?.cart.find((item) => item.product_id === productId) ?? null;
}

function renderPinned() {
  const item = cartItem(state.pin);
  const card = part("pinned");
  card.hidden = item === null;
  if (item === null) return;
  card.dataset.productId = item.product_id;
  part("pinned-title").textContent = item.title;
  part("pinned-price").textContent = money(item.price_minor, item.currency);
  const was = part("pinned-was");
  was.hidden = !(item.was_price_minor > item.price_minor);
  was.textContent = money(item.was_price_minor, item.currency);
  const image = part("pinned-image");
  image.hidden = !item.image;
  part("pinned-letter").hidden = Boolean(item.image);
  if (item.image) image.src = item.image;
  else part("pinned-letter").textContent = item.title.slice(0, 1);
}

function renderSale() {
  const sale = state.sale;
  const card = part("sale");
  card.hidden = sale === null;
  if (sale === null) return;
  card.dataset.saleId = sale.sale_id;
  part("sale-title").textContent = sale.title;
  part("sale-price").textContent = money(sale.price_minor, sale.currency);
  part("sale-was").textContent = money(sale.was_price_minor, sale.currency);
  part("sale-left").textContent = String(sale.left);
  tick();
  const quantity = part("sale-form").elements.quantity;
  quantity.max = String(Math.max(1, Math.min(sale.per_buyer_limit || maxQuantity, sale.left, maxQuantity)));
  part("sale-form").querySelector("button").disabled = sale.left <= 0;
}

/** Show the newest campaign still taking commitments (or the newest of all). */
function renderCampaign() {
  const every = newestFirst(campaignsRead, state);
  const campaign = every.find((c) => c.status === "open") ?? every[0] ?? null;
  part("campaign").hidden = campaign === null;
  if (campaign !== null) drawCampaign(part("campaign"), campaign);
}

/** Move the countdown; it runs on the viewer's clock between frames. */
function tick() {
  if (state?.sale) part("sale-countdown").textContent = countdown(state.sale.ends_at);
  if (state) renderCampaign();
}

function renderCart() {
  part("cart-count").textContent = String(state.cart.length);
  part("cart-empty").hidden = state.cart.length > 0;
  // Keep a viewer's choices while stock moves: rebuild only when the cart's products change.
  const list = part("cart-items");
  const shape = state.cart.map((item) => `${item.product_id}:${item.skus.map((s) => s.sku_id).join(",")}`).join("|");
  if (list.dataset.shape !== shape) {
    list.dataset.shape = shape;
    fill(list, state.cart.map(cartRow));
  }
  for (const item of state.cart) {
    const row = list.querySelector(`[data-product-id="${CSS.escape(item.product_id)}"]`);
    if (!row) continue;
    row.querySelector(".drawer-price").textContent = money(item.price_minor, item.currency);
    row.querySelector(".drawer-stock").textContent = item.stock > 0 ? `${item.stock} in stock` : "sold out";
    row.classList.toggle("pinned", item.product_id === state.pin);
    for (const option of row.querySelectorAll("option")) {
      const sku = item.skus.find((s) => s.sku_id === option.value);
      if (sku) option.textContent = skuLabel(sku, item.currency);
    }
  }
}

function skuLabel(sku, currency) {
  const name = Object.entries(sku.attributes).map(([k, v]) => `${k}: ${v}`).join(" · ") || "Standard";
  return `${name} — ${money(sku.price_minor, currency)}${sku.stock > 0 ? "" : " (sold out)"}`;
}

function cartRow(item) {
  const row = make("li", "drawer-item");
  row.dataset.productId = item.product_id;
  if (item.image) {
    const image = make("img", "drawer-thumb");
    image.src = item.image;
    image.alt = "";
    row.append(image);
  } else {
    row.append(make("div", "drawer-thumb placeholder", item.title.slice(0, 1)));
  }
  const body = make("div", "drawer-body");
  body.append(make("p", "drawer-title", item.title));
  const facts = make("p", "small");
  facts.append(make("span", "drawer-price price"), " · ", make("span", "drawer-stock muted"));
  body.append(facts);
  const trust = make("p", "small drawer-trust");
  trust.append(make("span", `tier tier-${item.tier}`, item.tier), ` · ${item.verified_sales} verified sales`);
  // Who sells and ships it: the room's own shop, or the shop of a pool product.
  if (item.shop_name) {
    const seller = make("span", "drawer-seller", ` · sold by ${item.shop_name}`);
    seller.dataset.testid = "drawer-seller";
    trust.append(seller);
  }
  body.append(trust);
  const form = make("form", "drawer-buy");
  const select = make("select");
  select.name = "sku_id";
  select.setAttribute("aria-label", `Variant of ${item.title}`);
  for (const sku of item.skus) {
    const option = make("option", "", skuLabel(sku, item.currency));
    option.value = sku.sku_id;
    option.disabled = sku.stock <= 0;
    select.append(option);
  }
  const firstInStock = item.skus.find((sku) => sku.stock > 0);
  if (firstInStock) select.value = firstInStock.sku_id;
  const quantity = make("input", "qty");
  Object.assign(quantity, { type: "number", name: "quantity", value: "1", min: "1", max: String(maxQuantity) });
  quantity.setAttribute("aria-label", `Quantity of ${item.title}`);
  const buy = make("button", "primary small", "Buy");
  buy.type = "submit";
  const fan = fanPriceChoice(select, item.currency);
  const coupon = couponChoice(item.currency);
  form.append(select, quantity, fan.label, coupon, buy);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const extra = {};
    if (fan.box.checked && !fan.label.hidden) extra.fan_price = true;
    if (coupon.value) extra.coupon_claim_id = coupon.value;
    buyInRoom(select.value, Number(quantity.value), buy, extra);
  });
  body.append(form);
  row.append(body);
  return row;
}

/** A "fan price" tick for the chosen SKU, shown when the show has one for it. */
function fanPriceChoice(select, currency) {
  const label = make("label", "fan-price small");
  const box = make("input");
  box.type = "checkbox";
  box.name = "fan_price";
  const text = make("span");
  label.append(box, " ", text);
  const update = () => {
    const price = fanPrices[select.value];
    label.hidden = !price;
    if (!price) return;
    const allowed = fanLevel >= price.min_level;
    box.disabled = !allowed;
    box.checked = allowed;
    text.textContent = `Fan price ${money(price.price_minor, currency)}` +
      (allowed ? "" : ` (fans of level ${price.min_level}+)`);
  };
  select.addEventListener("change", update);
  update();
  return { label, box };
}

/** A choice of the coupons the viewer holds for this shop (none chosen by default). */
function couponChoice(currency) {
  const choice = make("select", "coupon-choice");
  choice.name = "coupon_claim_id";
  choice.setAttribute("aria-label", "Coupon");
  choice.hidden = claims.length === 0;
  const none = make("option", "", "No coupon");
  none.value = "";
  choice.append(none);
  for (const claim of claims) {
    const option = make("option", "", `${claim.title}: ${money(claim.amount_off_minor, currency)} off`);
    option.value = claim.id;
    choice.append(option);
  }
  return choice;
}

/** Rebuild the cart's forms, whose coupon choices changed. */
function redrawCart() {
  part("cart-items").dataset.shape = "";
  if (state) renderCart();
}

/** The anchor's coupons the viewer may claim, each with its Claim button. */
function renderCoupons() {
  const box = part("coupons");
  box.hidden = offered.length === 0;
  fill(part("coupon-list"), offered.map((coupon) => {
    const row = make("li", "coupon");
    const claim = make("button", "secondary small", "Claim");
    claim.type = "button";
    claim.addEventListener("click", () => claimCoupon(coupon, claim));
    row.append(
      make("strong", "", coupon.title), ` ${money(coupon.amount_off_minor, coupon.currency)} off`,
      coupon.min_spend_minor ? ` from ${money(coupon.min_spend_minor, coupon.currency)}` : "",
      ` · fans of level ${coupon.min_fan_level}+ `, claim,
    );
    return row;
  }));
}

async function claimCoupon(coupon, button) {
  if (!signedIn) {
    location.assign(root.dataset.signIn);
    return;
  }
  button.disabled = true;
  try {
    const claim = await callApi("POST", `/api/coupons/${encodeURIComponent(coupon.id)}/claim`);
    claims = [...claims, {
      id: claim.id, title: coupon.title,
      amount_off_minor: coupon.amount_off_minor, min_spend_minor: coupon.min_spend_minor,
    }];
    offered = offered.filter((other) => other.id !== coupon.id);
    renderCoupons();
    redrawCart();
  } catch (error) {
    showError(error.message);
    button.disabled = false;
  }
}

function renderChat() {
  const list = part("chat");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  fill(list, state.chat.map((line) => {
    const item = make("li", "chat-line");
    item.dataset.messageId = line.id;
    if (line.fan_level) item.append(make("span", "fan-badge", `Lv ${line.fan_level}`), " ");
    item.append(make("strong", "chat-author", line.author), " ", make("span", "chat-text", line.text));
    return item;
  }));
  if (nearBottom) list.scrollTop = list.scrollHeight;
}

function toast(data) {
  const box = part("toast");
  box.textContent = `${data.who} just bought ${data.title} × ${data.quantity}`;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, TOAST_MS);
}

function showError(message) {
  const box = part("error");
  box.textContent = message;
  box.hidden = false;
  setTimeout(() => { box.hidden = true; }, TOAST_MS);
}

/** Order in the room (through the flash sale when one runs for the SKU), then pay. */
async function buyInRoom(skuId, quantity, button, extra = {}) {
  if (!signedIn) {
    location.assign(root.dataset.signIn);
    return;
  }
  if (!link.hello) {
    showError("still joining the room; try again in a moment");
    return;
  }
  const purpose = `${skuId}:${quantity}:${extra.fan_price ? "fan" : ""}:${extra.coupon_claim_id ?? ""}`;
  const key = pendingKeys.get(purpose) ?? randomKey();
  pendingKeys.set(purpose, key);
  button.disabled = true;
  try {
    const placed = await callApi(
      "POST",
      `/api/live/sessions/${encodeURIComponent(link.sessionId)}/orders`,
      { sku_id: skuId, quantity, visit_id: link.hello.visit_id, ...extra },
      { "Idempotency-Key": key },
    );
    pendingKeys.delete(purpose);
    if (extra.coupon_claim_id) {
      claims = claims.filter((claim) => claim.id !== extra.coupon_claim_id);
      redrawCart();
    }
    const unpaid = placed.orders.filter((order) => order.status === "pending_payment");
    if (unpaid.length === 0) {
      location.assign("/orders");
      return;
    }
    const payment = await callApi("POST", "/api/payments", { order_ids: unpaid.map((o) => o.id) });
    payInRoom(payment, button);
  } catch (error) {
    // A refusal is final for this key; a lost answer keeps it for the retry.
    if (error.status) pendingKeys.delete(purpose);
    showError(error.message);
    button.disabled = false;
  }
}

/**
 * Pay in a drawer over the room: the provider's page in a frame, so the show goes on.
 * The provider sends a framed payer to its "paid" page; then the drawer closes once the
 * payment has reached laotie (its webhook may come a moment later than the page).
 */
function payInRoom(payment, button) {
  const drawer = part("pay-drawer");
  const frame = part("pay-frame");
  const close = () => {
    drawer.hidden = true;
    frame.removeAttribute("src");
    button.disabled = false;
  };
  part("close-pay").onclick = close;
  frame.onload = async () => {
    let path = "";
    try {
      path = frame.contentWindow.location.pathname;
    } catch {
      return; // not our origin: nothing to read
    }
    if (!path.startsWith("/sandbox/paid/")) return;
    const settled = await waitForPayment(payment.id);
    close();
    const note = part("paid");
    note.textContent = settled === "succeeded" ? "Paid ✓ — the seller will ship it" : `Payment ${settled}`;
    note.hidden = false;
    setTimeout(() => { note.hidden = true; }, 3 * TOAST_MS);
  };
  frame.src = payment.pay_url;
  drawer.hidden = false;
}

/** Poll the payment until it leaves "pending", for a bounded while: a minute, since the
 * provider's webhook is sent again with a backoff when a first delivery fails. */
async function waitForPayment(paymentId) {
  let status = "pending";
  for (let tries = 0; tries < 120 && status === "pending"; tries += 1) {
    try {
      status = (await callApi("GET", `/api/payments/${encodeURIComponent(paymentId)}`)).status;
    } catch {
      // a lost answer: ask again
    }
    if (status === "pending") await new Promise((done) => { setTimeout(done, 500); });
  }
  return status;
}

part("like").addEventListener("click", () => {
  if (link.send({ type: "like", count: 1 })) {
    likesShown += 1;
    part("likes").textContent = String(likesShown);
  }
});

part("chat-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = event.target.elements.text;
  const text = input.value.trim();
  if (text && link.send({ type: "chat", text })) input.value = "";
});

part("pinned-buy").addEventListener("click", () => {
  openCart();
  const row = part("cart-items").querySelector(`[data-product-id="${CSS.escape(state.pin)}"]`);
  row?.scrollIntoView({ block: "nearest" });
  row?.querySelector("select")?.focus();
});

part("sale-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state?.sale) return;
  const quantity = Number(event.target.elements.quantity.value) || 1;
  buyInRoom(state.sale.sku_id, quantity, event.target.querySelector("button"));
});

function openCart() { part("drawer").hidden = false; }
part("open-cart").addEventListener("click", () => { part("drawer").hidden = !part("drawer").hidden; });
part("close-cart").addEventListener("click", () => { part("drawer").hidden = true; });

setInterval(tick, 250);
link.connect();
readCampaigns(root.dataset.sessionId).then((read) => {
  campaignsRead = read;
  if (state) renderCampaign();
});

renderCoupons();
