// The tracks layer: the reader's own fused picture (served, already filtered, by /crises/C/tracks.json)
// as MIL-STD-2525 symbols (milsymbol, from the 2525B code the server derives from each track's CoT
// type) with their history trails, and a detail panel of the track chosen. It follows the API's picture
// stream (/api/crises/C/tracks/stream, the same egress): each picture the reader may see makes the layer
// fetch itself again, at most once a second. The server decides everything shown, the banner included.

const L = window.L;
const ms = window.ms;
const MIN_INTERVAL_MS = 1000;

function trackIcon(track, selected) {
  const root = document.createElement("div");
  root.className = "track-marker" + (selected ? " selected" : "");
  root.dataset.track = track.id;
  root.dataset.sidc = track.sidc;
  root.dataset.affiliation = track.affiliation;
  const symbol = new ms.Symbol(track.sidc, { size: 20, standard: "2525" });
  root.innerHTML = symbol.asSVG(); // SVG from the code's letters only
  const anchor = symbol.getAnchor();
  const size = symbol.getSize();
  return L.divIcon({
    html: root,
    className: "track-icon",
    iconSize: [size.width, size.height],
    iconAnchor: [anchor.x, anchor.y],
  });
}

function setBanners(data) {
  for (const id of ["banner-top", "banner-bottom"]) {
    const banner = document.getElementById(id);
    if (!banner || banner.textContent === data.banner) continue;
    banner.textContent = data.banner;
    banner.className = `banner ${data.banner_class}`;
  }
}

export function trackLayer(map, element) {
  const url = element.dataset.tracksUrl;
  const detailUrl = element.dataset.trackDetailUrl;
  const panel = document.getElementById("track-detail");
  const count = document.getElementById("track-count");
  const trails = L.layerGroup().addTo(map);
  const symbols = L.layerGroup().addTo(map);
  let selected = null;
  let pending = null;
  let last = 0;

  async function showDetail(id) {
    const response = await fetch(`${detailUrl}/${encodeURIComponent(id)}`, { credentials: "same-origin" });
    if (selected !== id) return;
    if (response.status === 404) {
      // The track left the reader's picture: say so, keep what was last shown.
      panel.dataset.state = "gone";
      const note = panel.querySelector(".track-gone");
      if (note) note.hidden = false;
      return;
    }
    if (!response.ok) return;
    // Rendered by the server for this reader; morphed in place so focus and scrolling stay.
    window.Idiomorph.morph(panel, await response.text(), { morphStyle: "innerHTML" });
    panel.hidden = false;
    panel.dataset.track = id;
    panel.dataset.state = "shown";
  }

  panel.addEventListener("click", (event) => {
    if (!event.target.closest("[data-close-track]")) return;
    selected = null;
    panel.hidden = true;
    panel.replaceChildren();
    restyle();
  });

  // Markers and trails are kept by track id and moved in place, so a marker keeps focus and a click
  // is not lost when the picture changes under the pointer.
  const shown = new Map();
  function iconKey(track) {
    return `${track.sidc}|${track.id === selected}`;
  }
  function draw(data) {
    const seen = new Set();
    for (const track of data.tracks) {
      seen.add(track.id);
      let item = shown.get(track.id);
      if (!item) {
        const marker = L.marker([track.lat, track.lon], {
          icon: trackIcon(track, track.id === selected),
          title: `${track.label} ${track.portion} ${track.id}`,
          alt: `${track.label} ${track.id}`,
          keyboard: true,
          zIndexOffset: 1000,
        }).addTo(symbols);
        const trail = L.polyline(track.trail, {
          className: `track-trail affiliation-${track.affiliation}`,
          weight: 2,
          interactive: false,
        }).addTo(trails);
        item = { marker, trail, key: iconKey(track) };
        marker.on("click", () => choose(track.id));
        shown.set(track.id, item);
      } else {
        item.marker.setLatLng([track.lat, track.lon]);
        item.trail.setLatLngs(track.trail);
        if (item.key !== iconKey(track)) {
          item.marker.setIcon(trackIcon(track, track.id === selected));
          item.key = iconKey(track);
          item.marker.options.title = `${track.label} ${track.portion} ${track.id}`;
        }
      }
      item.track = track;
    }
    for (const [id, item] of shown) {
      if (seen.has(id)) continue;
      symbols.removeLayer(item.marker);
      trails.removeLayer(item.trail);
      shown.delete(id);
    }
    if (count) count.textContent = data.labels.count;
    element.dataset.tracks = String(data.tracks.length);
    element.dataset.tracksVersion = String(data.version);
  }

  function restyle() {
    for (const item of shown.values()) {
      if (item.key !== iconKey(item.track)) {
        item.marker.setIcon(trackIcon(item.track, item.track.id === selected));
        item.key = iconKey(item.track);
      }
    }
  }

  async function choose(id) {
    selected = id;
    restyle();
    await showDetail(id);
    // Keep the chosen track in sight, clear of the detail panel over the map's right side.
    const item = shown.get(id);
    if (item && !panel.hidden) {
      map.panInside(item.marker.getLatLng(), {
        paddingTopLeft: [40, 40],
        paddingBottomRight: [panel.offsetWidth + 60, 40],
      });
    }
  }

  async function refresh() {
    pending = null;
    last = Date.now();
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    draw(data);
    setBanners(data);
    if (selected) showDetail(selected);
    element.dispatchEvent(new CustomEvent("kizuna:tracks", { detail: data.version }));
  }

  function soon() {
    if (pending) return;
    pending = setTimeout(refresh, Math.max(0, MIN_INTERVAL_MS - (Date.now() - last)));
  }

  function follow() {
    const stream = new EventSource(element.dataset.tracksStream, { withCredentials: true });
    stream.addEventListener("picture", soon);
    stream.addEventListener("error", () => {
      // The browser reconnects by itself; a picture is whole, so nothing is lost in between.
      if (stream.readyState === EventSource.CLOSED) setTimeout(follow, 3000);
    });
  }

  document.getElementById("tracks-fit")?.addEventListener("click", () => {
    const points = [...shown.values()].flatMap((item) => item.track.trail.concat([[item.track.lat, item.track.lon]]));
    if (!points.length) return;
    // Leave room for the detail panel when it is open, so no track hides under it.
    const right = panel.hidden ? 30 : panel.offsetWidth + 40;
    map.fitBounds(L.latLngBounds(points), { maxZoom: 9, paddingTopLeft: [30, 30], paddingBottomRight: [right, 30] });
  });

  refresh().then(follow);
  return { trails, symbols, refresh };
}
