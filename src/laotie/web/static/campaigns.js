// A show's C2M campaigns in the browser, for the room and the console alike: read on joining,
// kept current by the room's `campaign` frames, drawn on the card of macros.html; and the
// console's form read into the terms the API takes. Texts from people are set as text.

import { countdown, money, toMinor } from "/static/live.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Read a show's campaigns as the API lists them, by id ({} when it cannot answer). */
export async function readCampaigns(sessionId) {
  try {
    const answer = await fetch(`/api/campaigns?session_id=${encodeURIComponent(sessionId)}`);
    if (!answer.ok) return {};
    return Object.fromEntries((await answer.json()).map((c) => [c.id, c]));
  } catch {
    return {};
  }
}

/** Return the show's campaigns newest first: those read on joining, replaced by the
 * room's frames, which are newer. */
export function newestFirst(read, state) {
  const every = Object.values({ ...read, ...(state?.campaigns || {}) });
  return every.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
}

/** Return the time until a deadline: days and hours a day or more ahead, else a countdown. */
export function timeLeft(deadline, now = Date.now()) {
  const left = Date.parse(deadline) - now;
  if (left < DAY_MS) return countdown(deadline, now);
  return `${Math.floor(left / DAY_MS)} d ${Math.floor((left % DAY_MS) / HOUR_MS)} h`;
}

/** Fill a campaign card with a campaign as the API answers it, and show the card. */
export function drawCampaign(card, campaign) {
  const part = (name) => card.querySelector(`[data-role="${name}"]`);
  card.hidden = false;
  card.dataset.campaignId = campaign.id;
  card.dataset.status = campaign.status;
  part("campaign-title").textContent = campaign.title;
  part("campaign-progress").value = Math.min(100, Math.round((100 * campaign.committed) / campaign.moq));
  part("campaign-committed").textContent = `${campaign.committed} of ${campaign.moq} committed`;
  part("campaign-deposit").textContent = money(campaign.deposit_unit_minor, campaign.currency);
  part("campaign-deadline").textContent = campaign.status === "open" ? `closes in ${timeLeft(campaign.deadline)}` : campaign.status;
  const link = part("campaign-link");
  link.href = `/campaigns/${encodeURIComponent(campaign.id)}`;
  link.hidden = campaign.status !== "open";
}

/** Read `colour: black, camel; size: M, L` as a campaign's options (as the back office's form does). */
export function parseOptions(text) {
  const options = {};
  for (const part of text.split(";").map((p) => p.trim()).filter(Boolean)) {
    const at = part.indexOf(":");
    const name = at < 0 ? "" : part.slice(0, at).trim();
    if (!name) throw new Error(`write an option as "name: value, value", not "${part}"`);
    options[name] = part.slice(at + 1).split(",").map((v) => v.trim()).filter(Boolean);
  }
  return options;
}

/** Read `100: 599.00; 300: 499.00` as price tiers: a unit price from a quantity on. */
export function parseTiers(text, currency) {
  return text.split(";").map((p) => p.trim()).filter(Boolean).map((part) => {
    const [quantity, price, ...rest] = part.split(":");
    const minor = price === undefined ? null : toMinor(price, currency);
    if (rest.length || !/^\s*\d+\s*$/.test(quantity) || minor === null) {
      throw new Error(`write a tier as "quantity: price", not "${part}"`);
    }
    return { min_quantity: Number(quantity), unit_price_minor: minor };
  });
}

/** Return the deposit a unit of these terms asks, as the API rounds it: the share of the
 * first tier's price (the highest), rounded up to the minor unit. */
export function depositPerUnit(tiers, depositBps) {
  return tiers.length ? Math.ceil((tiers[0].unit_price_minor * depositBps) / 10_000) : 0;
}

/** Read the console's campaign form as the body of `POST /api/campaigns` for the show;
 * throw a plain message when the options or the tiers are not written as shown. */
export function campaignTerms(form, { shopId, sessionId, currency, now = Date.now() }) {
  const fields = form.elements;
  const seconds = Number(fields.deadline_in.value) * Number(fields.deadline_unit.value);
  return {
    shop_id: shopId,
    session_id: sessionId,
    factory_id: fields.factory_id.value,
    title: fields.title.value.trim(),
    description: fields.description.value.trim(),
    category: fields.category.value,
    options: parseOptions(fields.options.value),
    price_tiers: parseTiers(fields.tiers.value, currency),
    moq: Number(fields.moq.value),
    cap_units: Number(fields.cap_units.value),
    deposit_bps: Math.round(Number(fields.deposit_percent.value) * 100),
    deadline: new Date(now + seconds * 1000).toISOString(),
  };
}
