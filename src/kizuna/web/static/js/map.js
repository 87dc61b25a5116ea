// The map: an offline basemap (Natural Earth 1:10m countries from the npm package world-atlas, converted
// to GeoJSON and kept to the theatre at build time by topojson-client, scripts/basemap.mjs) under
// Leaflet, drawn on a canvas, with no tile server. Layers are added
// by their own modules (symbols.js for sites and units); others (tracks) add theirs the same way.

const L = window.L;
// Basemap colours (a canvas layer cannot read the stylesheet); markings never come from here.
const style = getComputedStyle(document.documentElement);
const LAND = style.getPropertyValue("--land").trim() || "#f4f1e8";
const COAST = style.getPropertyValue("--coast").trim() || "#8d8a7e";

export function createMap(element) {
  const map = L.map(element, {
    zoomControl: false,
    zoomSnap: 0.25,
    worldCopyJump: false,
    attributionControl: true,
    keyboard: true,
    preferCanvas: false,
  });
  L.control.zoom({ zoomInTitle: element.dataset.zoomIn, zoomOutTitle: element.dataset.zoomOut }).addTo(map);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Natural Earth (world-atlas)");
  return map;
}

// Draw the basemap once the view is set (drawing it before would project every coastline twice).
export async function addBasemap(map, element) {
  const response = await fetch(element.dataset.basemap);
  const land = await response.json();
  performance.mark("kizuna:basemap-fetched");
  const renderer = L.canvas({ padding: 0.2 });
  L.geoJSON(land, { interactive: false, renderer, style: { fillColor: LAND, fillOpacity: 1, color: COAST, weight: 0.7 } }).addTo(map);
  performance.mark("kizuna:basemap-drawn");
  element.dataset.basemapReady = "true";
}
