// The crisis overview page: the map with its symbol layer, kept current with the live regions.

import { addBasemap, createMap } from "./map.js";
import { siteLayer, theatreBounds } from "./symbols.js";
import { trackLayer } from "./tracks.js";

const element = document.getElementById("map");

async function mapData() {
  const response = await fetch(element.dataset.mapUrl, { credentials: "same-origin" });
  return response.json();
}

function listElsewhere(map, data) {
  const box = document.getElementById("map-elsewhere");
  const away = data.sites.filter((s) => !s.theatre);
  box.replaceChildren();
  if (!away.length) return;
  const label = document.createElement("span");
  label.textContent = `${data.labels.elsewhere}: `;
  box.append(label);
  for (const site of away) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = `${site.name} (${site.local})`;
    button.addEventListener("click", () => map.setView([site.lat, site.lon], 8));
    box.append(button, " ");
  }
}

async function start() {
  const map = createMap(element);
  let data = await mapData();
  // Room around the sites for the spread of crowded places (Tokyo, Okinawa) and their labels.
  map.fitBounds(theatreBounds(data).pad(0.05), { padding: [100, 100] });
  let layer = siteLayer(map, data);
  await addBasemap(map, element);
  listElsewhere(map, data);
  trackLayer(map, element);
  element.dataset.ready = "true";
  performance.mark("kizuna:map-ready");
  document.addEventListener("kizuna:refreshed", async () => {
    data = await mapData();
    map.removeLayer(layer.group);
    layer = siteLayer(map, data);
  });
}

start();
