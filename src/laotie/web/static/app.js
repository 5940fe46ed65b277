// Progressive enhancement for laotie's pages: every form also works without this script.

/** Return the CSRF token of the page session, for fetch calls. */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/** Show the chosen SKU's price, "was" price and stock, and bound the quantity by the stock. */
function wireSkuChoice(form) {
  const price = document.querySelector('[data-role="price"]');
  const was = document.querySelector('[data-role="was"]');
  const quantity = form.querySelector('input[name="quantity"]');
  const maxQuantity = Number(quantity?.max || 99);
  for (const radio of form.querySelectorAll('input[name="sku_id"]')) {
    radio.addEventListener("change", () => {
      if (price) price.textContent = radio.dataset.price;
      if (was) {
        was.textContent = radio.dataset.was;
        was.hidden = !radio.dataset.was;
      }
      if (quantity) {
        const stock = Number(radio.dataset.stock);
        quantity.max = String(Math.max(1, Math.min(stock, maxQuantity)));
        if (Number(quantity.value) > Number(quantity.max)) quantity.value = quantity.max;
      }
    });
  }
}

/** Let the new-product form grow by one SKU row at a time. */
function wireSkuRows(form) {
  const button = form.querySelector("[data-add-sku-row]");
  const body = form.querySelector(".sku-rows tbody");
  const limit = Number(form.dataset.maxRows || 20);
  button?.addEventListener("click", () => {
    const rows = body.querySelectorAll(".sku-row");
    if (rows.length >= limit) return;
    const copy = rows[rows.length - 1].cloneNode(true);
    for (const input of copy.querySelectorAll("input")) {
      input.name = input.name.replace(/_\d+$/, `_${rows.length}`);
      input.value = "";
      input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/\d+$/, String(rows.length + 1)));
    }
    body.append(copy);
    if (rows.length + 1 >= limit) button.disabled = true;
  });
}

/** Ask before destructive actions, and stop a second click from sending a form twice. */
function wireSubmits() {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    // Re-enable after a while, in case the answer was a download or the user came back.
    setTimeout(() => delete form.dataset.sent, 4000);
  });
}

/** Keep the menu's unread count current: the user's own socket says when a show went live. */
function wireInbox(link) {
  const count = link.querySelector('[data-role="inbox-count"]');
  let pause = 1000;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/me`);
    socket.addEventListener("message", (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "hello") count.textContent = String(frame.unread);
      if (frame.type === "notification") {
        count.textContent = String(Number(count.textContent || 0) + 1);
        link.title = `${frame.data.anchor_name} is live: ${frame.data.title}`;
      }
      pause = 1000;
    });
    socket.addEventListener("close", (closed) => {
      if (closed.code === 4401) return; // signed out: nothing to hear
      setTimeout(open, pause);
      pause = Math.min(pause * 2, 60000);
    });
  };
  open();
}

document.querySelectorAll("[data-inbox]").forEach(wireInbox);
document.querySelectorAll("[data-buy-form]").forEach(wireSkuChoice);
document.querySelectorAll("[data-sku-form]").forEach(wireSkuRows);
wireSubmits();
