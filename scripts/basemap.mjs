// Build the console's basemap: Natural Earth countries (npm world-atlas, 1:10m, so the Nansei islands
// show), simplified with topojson-simplify (shared borders stay shared; small islands keep their
// shape), converted from TopoJSON to GeoJSON with topojson-client, kept to the polygons of the
// Indo-Pacific theatre and Hawaii, coordinates rounded to 0.01 degree (about 1 km). Run by
// scripts/web_assets.py at install and wheel-build time; the browser then parses a small file.
// Usage: node scripts/basemap.mjs <countries-10m.json> <out.geojson>

import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { feature } = require("topojson-client");
const { presimplify, simplify } = require("topojson-simplify");

const [source, target] = process.argv.slice(2);
const WINDOWS = [
  [88, -15, 180, 60], // west, south, east, north: East and Southeast Asia, the western Pacific
  [-180, 15, -150, 30], // Hawaii
];

function bbox(ring) {
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of ring) {
    w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y);
  }
  return [w, s, e, n];
}

const inside = ([w, s, e, n]) => WINDOWS.some(([W, S, E, N]) => w <= E && e >= W && s <= N && n >= S);
const round = (v) => Math.round(v * 100) / 100;

function rounded(ring) {
  const out = [];
  for (const [x, y] of ring) {
    const p = [round(x), round(y)];
    const last = out[out.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) out.push(p);
  }
  return out.length >= 4 ? out : null;
}

//: Smallest triangle area (square degrees) a point must make with its neighbours to be kept.
const MIN_WEIGHT = Number(process.env.KIZUNA_BASEMAP_WEIGHT || 2e-4);
const topology = simplify(presimplify(JSON.parse(readFileSync(source, "utf8"))), MIN_WEIGHT);
const countries = feature(topology, topology.objects.countries);
const features = [];
for (const country of countries.features) {
  const geometry = country.geometry;
  if (!geometry) continue;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  const kept = [];
  for (const polygon of polygons) {
    if (!inside(bbox(polygon[0]))) continue;
    const rings = polygon.map(rounded).filter(Boolean);
    if (rings.length && rings[0]) kept.push(rings);
  }
  if (kept.length) {
    features.push({
      type: "Feature",
      id: country.id,
      properties: { name: country.properties.name },
      geometry: { type: "MultiPolygon", coordinates: kept },
    });
  }
}
writeFileSync(target, JSON.stringify({ type: "FeatureCollection", features }));
console.log(`basemap: ${features.length} countries -> ${target}`);
