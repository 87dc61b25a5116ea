// The event stream: follow /api/events/stream and refresh the page's live regions from the server.
//
// The page was drawn at log position `data-seq`; the stream starts there, so nothing between the
// drawing and the subscription is lost. Each event's id is its log sequence number: after a dropped
// connection the stream is reopened after the last id seen, so nothing is lost or repeated. On each
// event (debounced) the page fetches itself again and morphs every `[data-live]` region in place with
// the server's new rendering (Idiomorph keeps focus, and what a user is typing is left alone). The
// browser decides nothing: it shows what the server rendered for this user.

const body = document.body;
const status = document.getElementById("live-status");
const types = JSON.parse(body.dataset.streamEvents || "[]");
let lastSeq = Number(body.dataset.seq || 0);
let source = null;
let backoff = 500;
let timer = null;
let running = false;
let again = false;

function setStatus(state) {
  if (!status) return;
  status.dataset.state = state;
  const label = status.dataset[state === "live" ? "labelLive" : "labelReconnecting"];
  if (label) status.textContent = label;
}

function onEvent(event) {
  const seq = Number(event.lastEventId);
  if (Number.isFinite(seq) && seq > lastSeq) lastSeq = seq;
  document.dispatchEvent(new CustomEvent("kizuna:event", { detail: { type: event.type, seq, data: event.data } }));
  schedule();
}

function connect() {
  source = new EventSource(`/api/events/stream?after=${lastSeq}`);
  source.addEventListener("open", () => {
    backoff = 500;
    setStatus("live");
  });
  for (const type of types) source.addEventListener(type, onEvent);
  source.addEventListener("error", () => {
    // Reopen after the last event seen (not the page's first position): no loss, no repeat.
    source.close();
    setStatus("reconnecting");
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10000);
  });
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(refresh, 40);
}

function keepTyped(old, next) {
  // A field the user is typing in keeps what they typed; an opened disclosure stays open.
  if (old instanceof HTMLInputElement || old instanceof HTMLTextAreaElement) {
    return old.value === old.defaultValue;
  }
  if (old instanceof HTMLDetailsElement && old.open) next.setAttribute("open", "");
  return true;
}

export async function refresh() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    const response = await fetch(window.location.href, { headers: { "X-Kizuna-Live": "1" }, credentials: "same-origin" });
    if (response.redirected && new URL(response.url).pathname === "/login") {
      window.location.assign(response.url); // the session expired: sign in again
      return;
    }
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const region of document.querySelectorAll("[data-live]")) {
      const next = fresh.getElementById(region.id);
      if (next) {
        window.Idiomorph.morph(region, next, {
          ignoreActiveValue: true,
          callbacks: { beforeNodeMorphed: (old, next) => keepTyped(old, next) },
        });
        if (window.htmx) window.htmx.process(region);
      }
    }
    document.dispatchEvent(new CustomEvent("kizuna:refreshed"));
  } finally {
    running = false;
    if (again) {
      again = false;
      schedule();
    }
  }
}

// A form of this page succeeded: show its effect now, without waiting for the stream.
document.body.addEventListener("kizuna-changed", schedule);
connect();
