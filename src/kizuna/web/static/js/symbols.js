// The symbol layer: every site of the structure as a marker carrying the MIL-STD-2525D symbols
// (milsymbol) of the organizations there, labelled in the user's language by the server. Sites close
// together on screen are spread around their centre with leader lines, so none hides another.

const L = window.L;
const ms = window.ms;
const SPREAD_PX = 46;

function symbolSvg(sidc, size) {
  return new ms.Symbol(sidc, { size, standard: "2525" }).asSVG();
}

function siteIcon(site) {
  const root = document.createElement("div");
  root.className = "site-marker";
  root.dataset.site = site.id;
  const row = document.createElement("div");
  row.className = "site-symbols";
  for (const org of site.orgs) {
    const holder = document.createElement("span");
    holder.className = "site-symbol" + (org.acting ? " acting" : "");
    holder.dataset.sidc = org.sidc;
    if (org.id) holder.dataset.org = org.id;
    holder.title = org.name;
    holder.innerHTML = symbolSvg(org.sidc, site.orgs.length > 3 ? 14 : 18); // SVG from the SIDC's digits only
    row.append(holder);
  }
  const label = document.createElement("span");
  label.className = "site-label";
  label.textContent = site.label;
  root.append(row, label);
  return L.divIcon({ html: root, className: "site-icon", iconSize: null });
}

function popup(site, labels) {
  const box = document.createElement("div");
  const title = document.createElement("strong");
  title.textContent = site.name;
  const time = document.createElement("div");
  const hours = site.offset_h === 0 ? "" : ` (${site.offset_h > 0 ? "+" : ""}${site.offset_h} h)`;
  time.textContent = `${labels.local}: ${site.local}${hours}`;
  const list = document.createElement("ul");
  for (const org of site.orgs) {
    const item = document.createElement("li");
    item.textContent = org.name;
    if (org.acting) item.className = "acting";
    list.append(item);
  }
  box.append(title, time, list);
  return box;
}

export function siteLayer(map, data) {
  const group = L.layerGroup().addTo(map);
  const leaders = L.layerGroup().addTo(map);
  const markers = data.sites.map((site) => {
    const marker = L.marker([site.lat, site.lon], {
      icon: siteIcon(site),
      title: site.name,
      alt: site.name,
      keyboard: true,
      riseOnHover: true,
    });
    marker.bindPopup(() => popup(site, data.labels));
    marker.site = site;
    marker.addTo(group);
    return marker;
  });

  function declutter() {
    leaders.clearLayers();
    const points = markers.map((m) => map.latLngToLayerPoint([m.site.lat, m.site.lon]));
    const seen = new Set();
    markers.forEach((marker, i) => {
      if (seen.has(i)) return;
      const cluster = [i];
      for (let j = i + 1; j < markers.length; j += 1) {
        if (!seen.has(j) && points[i].distanceTo(points[j]) < SPREAD_PX) cluster.push(j);
      }
      cluster.forEach((k) => seen.add(k));
      if (cluster.length === 1) {
        marker.setLatLng([marker.site.lat, marker.site.lon]);
        return;
      }
      const centre = cluster.reduce((acc, k) => acc.add(points[k]), L.point(0, 0)).divideBy(cluster.length);
      const radius = 22 + 9 * cluster.length;
      cluster.forEach((k, n) => {
        const angle = (2 * Math.PI * n) / cluster.length - Math.PI / 2;
        const shown = map.layerPointToLatLng(centre.add(L.point(Math.cos(angle) * radius, Math.sin(angle) * radius)));
        markers[k].setLatLng(shown);
        L.polyline([[markers[k].site.lat, markers[k].site.lon], shown], { className: "leader", weight: 1, interactive: false }).addTo(leaders);
        L.circleMarker([markers[k].site.lat, markers[k].site.lon], { radius: 2, className: "leader-dot", interactive: false }).addTo(leaders);
      });
    });
  }
  map.on("zoomend", declutter);
  declutter();
  return { group, markers, declutter };
}

export function theatreBounds(data) {
  const inside = data.sites.filter((s) => s.theatre);
  return L.latLngBounds((inside.length ? inside : data.sites).map((s) => [s.lat, s.lon]));
}
