// The exercise clock (the top bar's, and an exercise page's): runs the exercise time on between changes.
//
// The server renders the clock's state (anchor, the wall-clock moment of the last change, speed,
// running) and its own wall time. This module estimates the server's clock from the moment the page's
// response began to arrive, then every half second writes the exercise time as `D+1 06:00` (in the
// exercise's zone) and `H+25:30`. A change of the clock comes on the stream (`exercise-clock`) and the
// live refresh re-renders the slot with the new state; nothing here decides anything.

function serverSkew() {
  const slot = document.querySelector("[data-exercise-clock]");
  if (!slot) return 0;
  const nav = performance.getEntriesByType("navigation")[0];
  const arrived = nav ? performance.timeOrigin + nav.responseStart : Date.now();
  return Date.parse(slot.dataset.server) - arrived;
}

const skew = serverSkew();

function parts(ms, zone, offsetMinutes) {
  if (zone) {
    const format = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
    const p = Object.fromEntries(format.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return { day: Date.UTC(+p.year, +p.month - 1, +p.day), hh: p.hour, mm: p.minute };
  }
  const d = new Date(ms + offsetMinutes * 60000);
  const pad = (n) => String(n).padStart(2, "0");
  return {
    day: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()),
    hh: pad(d.getUTCHours()), mm: pad(d.getUTCMinutes()),
  };
}

function tick() {
  for (const slot of document.querySelectorAll("[data-exercise-clock]")) show(slot);
}

function show(slot) {
  if (slot.dataset.running !== "true" || !slot.dataset.anchorWall) return;
  const now = Date.now() + skew;
  const anchor = Date.parse(slot.dataset.anchor);
  const exercise = anchor + (now - Date.parse(slot.dataset.anchorWall)) * Number(slot.dataset.speed);
  const start = Date.parse(slot.dataset.start);
  const zone = slot.dataset.zone;
  const offset = Number(slot.dataset.offset || 0);
  const here = parts(exercise, zone, offset);
  const first = parts(start, zone, offset);
  const day = Math.round((here.day - first.day) / 86400000);
  const minutes = Math.floor((exercise - start) / 60000);
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  const dayEl = slot.querySelector(".exclock-day");
  const hoursEl = slot.querySelector(".exclock-hours");
  if (dayEl) dayEl.textContent = `D${day < 0 ? "-" : "+"}${Math.abs(day)} ${here.hh}:${here.mm}`;
  if (hoursEl) hoursEl.textContent = `H${sign}${Math.floor(abs / 60)}:${String(abs % 60).padStart(2, "0")}`;
}

setInterval(tick, 500);
tick();
