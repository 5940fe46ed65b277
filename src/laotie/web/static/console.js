// The anchor's console: joins the room like a viewer to see it live, and changes the show
// through the JSON API (session cookie + CSRF header). Chat text is set with textContent.

import {
  campaignTerms, depositPerUnit, drawCampaign, newestFirst, parseTiers, readCampaigns,
} from "/static/campaigns.js";
import { RoomLink, callApi, countdown, fill, make, money, toMinor } from "/static/live.js";

const root = document.querySelector("[data-console]");
const part = (name) => root.querySelector(`[data-role="${name}"]`);
const sessionId = root.dataset.sessionId;
const currency = root.dataset.currency;
const api = `/api/live/sessions/${encodeURIComponent(sessionId)}`;
const MUTE_MINUTES = 10;
const NOTICE_MS = 4000;

let state = null;
// The show's campaigns as read on joining (and as opened here); the room's frames are newer.
let campaignsRead = {};
// What the anchor should do about a refusal the API words for programs.
const CAMPAIGN_HINTS = {
  deposit_too_low: "The shop's free security deposit cannot stand behind this campaign: lower “At most” or the deposit %, or pay more into the deposit.",
  cap_below_moq: "“At most” must be at least the minimum batch.",
};

const link = new RoomLink(sessionId, "other", {
  onState(next) {
    state = next;
    render();
  },
  onError(frame) { showError(frame.message); },
});

function render() {
  showStatus(state.status);
  part("online").textContent = String(state.online);
  part("likes").textContent = String(state.likes);
  part("orders").textContent = String(state.orders);
  part("gmv").textContent = money(state.gmv_minor, currency);
  renderPins();
  renderSale();
  renderCampaigns();
  renderChat();
}

function showStatus(status) {
  const badge = part("status-badge");
  badge.dataset.status = status;
  badge.textContent = status.toUpperCase();
  part("go-live").hidden = status !== "scheduled";
  part("end").hidden = status !== "live";
  // Campaigns are opened on air, where the anchor pitches them and the room commits.
  const open = part("open-campaign");
  if (open) open.disabled = status !== "live";
  const wait = part("campaign-wait");
  if (wait) wait.hidden = status === "live";
}

function renderPins() {
  const inRoom = new Set(state.cart.map((item) => item.product_id));
  for (const row of root.querySelectorAll(".cart-row")) {
    const pinned = row.dataset.productId === state.pin;
    const button = row.querySelector("[data-pin]");
    row.classList.toggle("pinned", pinned);
    button.textContent = pinned ? "Unpin" : "Pin";
    button.disabled = !inRoom.has(row.dataset.productId) || state.status !== "live";
  }
}

function renderSale() {
  const sale = state.sale;
  part("sale").hidden = sale === null;
  if (sale === null) return;
  part("sale").dataset.saleId = sale.sale_id;
  part("sale-title").textContent = sale.title;
  part("sale-price").textContent = money(sale.price_minor, sale.currency);
  part("sale-was").textContent = money(sale.was_price_minor, sale.currency);
  part("sale-left").textContent = String(sale.left);
  tick();
}

function tick() {
  if (state?.sale) part("sale-countdown").textContent = countdown(state.sale.ends_at);
  renderCampaigns();
}

/** Draw one card per campaign of the show, newest first, each kept as the frames move it. */
function renderCampaigns() {
  const list = part("campaign-list");
  if (!list) return;
  const drawn = new Map(Array.from(list.children, (card) => [card.dataset.campaignId, card]));
  const template = part("campaign-card").content.firstElementChild;
  const cards = newestFirst(campaignsRead, state).map((campaign) => {
    const card = drawn.get(campaign.id) ?? template.cloneNode(true);
    drawCampaign(card, campaign);
    return card;
  });
  // Moved only when a campaign comes, so a focused link is not taken from under the anchor.
  if (cards.some((card, at) => list.children[at] !== card)) fill(list, cards);
  part("no-campaign").hidden = cards.length > 0;
}

/** Say what the terms typed so far ask of the shop's security deposit, before the API does. */
function showExposure() {
  const fields = part("campaign-form").elements;
  const box = part("campaign-exposure");
  let tiers;
  try {
    tiers = parseTiers(fields.tiers.value, currency);
  } catch {
    tiers = [];
  }
  const unit = depositPerUnit(tiers, Number(fields.deposit_percent.value) * 100);
  const exposure = unit * Number(fields.cap_units.value);
  const free = Number(part("free-deposit").dataset.minor);
  box.textContent = unit
    ? `Deposit ${money(unit, currency)} a unit: at most ${money(exposure, currency)} of the ${money(free, currency)} free.`
    : "";
  box.classList.toggle("danger", exposure > free);
}

/** Show why the campaign was not opened: the API's message (with its code), after what to
 * do about it where the API words it for programs. */
function showCampaignError(error) {
  const box = part("campaign-error");
  const hint = CAMPAIGN_HINTS[error.code];
  const said = make("span", hint ? "small" : "", error.code ? `${error.message} (${error.code})` : error.message);
  box.replaceChildren(...(hint ? [make("strong", "", hint), make("br"), said] : [said]));
  box.hidden = false;
}

function renderChat() {
  const list = part("chat");
  fill(list, state.chat.map((line) => {
    const item = make("li", "chat-line");
    item.dataset.messageId = line.id;
    item.append(make("strong", "chat-author", line.author), " ", make("span", "chat-text", line.text));
    const tools = make("span", "moderate");
    tools.append(
      moderateButton("Delete", { action: "delete", message_id: line.id }),
      moderateButton(`Mute ${MUTE_MINUTES} min`, { action: "mute", user_id: line.user_id, minutes: MUTE_MINUTES }),
      moderateButton("Ban", { action: "ban", user_id: line.user_id }, `Ban ${line.author} from your rooms?`),
      moderateButton("Unban", { action: "unban", user_id: line.user_id }),
    );
    item.append(tools);
    return item;
  }));
  list.scrollTop = list.scrollHeight;
}

function moderateButton(label, body, question = "") {
  const button = make("button", "link small", label);
  button.type = "button";
  button.addEventListener("click", () => {
    if (question && !window.confirm(question)) return;
    act(`${api}/moderation`, body, `${label}: done.`, "POST");
  });
  return button;
}

function notice(message) {
  const box = part("notice");
  box.textContent = message;
  box.hidden = false;
  setTimeout(() => { box.hidden = true; }, NOTICE_MS);
}

function showError(message) {
  const box = part("error");
  box.textContent = message;
  box.hidden = false;
  setTimeout(() => { box.hidden = true; }, NOTICE_MS * 2);
}

/** Call the API; show what happened. The room's frames bring the change to every screen. */
async function act(path, body, done, method = "POST") {
  try {
    const answer = await callApi(method, path, body);
    notice(done);
    return answer;
  } catch (error) {
    showError(error.message);
    return null;
  }
}

function chosenCart() {
  return Array.from(root.querySelectorAll('.cart-row input[name="in_cart"]:checked'), (box) => box.value);
}

part("go-live").addEventListener("click", async () => {
  const answer = await act(`${api}/start`, undefined, "You are live!");
  if (answer) showStatus(answer.status);
});

part("end").addEventListener("click", async (event) => {
  if (!window.confirm(event.currentTarget.dataset.confirm)) return;
  const answer = await act(`${api}/end`, undefined, "The show has ended.");
  if (answer) showStatus(answer.status);
});

part("make-stream-key").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const question = button.dataset.confirm;
  if (question && !window.confirm(question)) return;
  const made = await act("/api/me/stream-key", undefined, "Your stream key is made: copy it now.");
  if (!made) return;
  // Shown this once: the server keeps only its hash.
  const shown = part("new-stream-key");
  shown.replaceChildren("Your stream key (shown once): ", make("code", "", made.stream_key));
  shown.hidden = false;
  part("stream-key-state").textContent = `in force, starts ${made.hint}…`;
  button.textContent = "Make a new stream key";
  button.dataset.confirm = "Make a new stream key? The one in force stops working.";
});

part("save-cart")?.addEventListener("click", () => {
  act(`${api}/cart`, { product_ids: chosenCart() }, "The room's cart is saved.", "PUT");
});

part("cart-editor")?.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  const row = button?.closest(".cart-row");
  if (!row) return;
  if (button.dataset.move === "up" && row.previousElementSibling) {
    row.previousElementSibling.before(row);
  } else if (button.dataset.move === "down" && row.nextElementSibling) {
    row.nextElementSibling.after(row);
  } else if (button.hasAttribute("data-pin")) {
    const unpin = state?.pin === row.dataset.productId;
    act(`${api}/pin`, { product_id: unpin ? null : row.dataset.productId }, unpin ? "Unpinned." : "Pinned.", "PUT");
  }
});

part("sale-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const fields = event.target.elements;
  const price = toMinor(fields.price.value, currency);
  if (price === null) {
    showError(`${fields.price.value} is not a price`);
    return;
  }
  act(`${api}/flash-sales`, {
    sku_id: fields.sku_id.value,
    price_minor: price,
    quantity: Number(fields.quantity.value),
    per_buyer_limit: Number(fields.per_buyer_limit.value),
    duration_s: Number(fields.duration_s.value),
  }, "The flash sale is on.");
});

part("end-sale").addEventListener("click", () => {
  const saleId = part("sale").dataset.saleId;
  if (saleId) act(`/api/live/flash-sales/${encodeURIComponent(saleId)}/end`, undefined, "The flash sale has ended.");
});

part("campaign-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  part("campaign-error").hidden = true;
  let terms;
  try {
    terms = campaignTerms(form, { shopId: part("campaigns").dataset.shopId, sessionId, currency });
  } catch (error) {
    showCampaignError(error);
    return;
  }
  const button = part("open-campaign");
  button.disabled = true;
  try {
    const opened = await callApi("POST", "/api/campaigns", terms);
    campaignsRead = { ...campaignsRead, [opened.id]: opened };
    const free = part("free-deposit");
    free.dataset.minor = String(Number(free.dataset.minor) - opened.cap_units * opened.deposit_unit_minor);
    free.textContent = money(Number(free.dataset.minor), currency);
    form.reset();
    showExposure();
    renderCampaigns();
    notice("The campaign is open: the room sees its card.");
  } catch (error) {
    showCampaignError(error);
  } finally {
    button.disabled = state?.status !== "live";
  }
});

part("campaign-form")?.addEventListener("input", showExposure);

setInterval(tick, 250);
link.connect();
readCampaigns(sessionId).then((read) => {
  campaignsRead = { ...read, ...campaignsRead };
  renderCampaigns();
});
// The page's buttons come disabled and work only once the listeners above are attached:
// a click made while this module was still loading would otherwise be lost without a word.
for (const control of root.querySelectorAll("[data-needs-script]")) control.disabled = false;
