// Scheduling a live show from the back office: the form goes to the JSON API, then to the console.

import { callApi } from "/static/live.js";

const form = document.querySelector("[data-schedule-form]");
const START_IN_MS = 10 * 60_000;

/** Return a moment as the value of a datetime-local field, in the viewer's time. */
function localField(moment) {
  const shifted = new Date(moment.getTime() - moment.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

if (form && !form.elements.scheduled_at.value) {
  form.elements.scheduled_at.value = localField(new Date(Date.now() + START_IN_MS));
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const fields = form.elements;
  const error = form.querySelector('[data-role="error"]');
  const body = {
    // Left out by an anchor without a shop: its show sells the pool's products.
    shop_id: form.dataset.shopId || undefined,
    title: fields.title.value.trim(),
    // The field holds the viewer's local time; the API takes an exact instant.
    scheduled_at: new Date(fields.scheduled_at.value).toISOString(),
    product_ids: Array.from(form.querySelectorAll('input[name="product_ids"]:checked'), (box) => box.value),
  };
  if (fields.cover_url.value.trim()) body.cover_url = fields.cover_url.value.trim();
  try {
    const session = await callApi("POST", "/api/live/sessions", body);
    location.assign(`/live/${encodeURIComponent(session.id)}/console`);
  } catch (problem) {
    error.textContent = problem.message;
    error.hidden = false;
  }
});
