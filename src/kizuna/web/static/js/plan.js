// The plan page: the plan's units at their sites as MIL-STD-2525D symbols (the symbol layer of the
// overview, symbols.js), mission areas, and a line from each assigned unit to its mission's area, one
// colour per phase. The phase picker shows one phase's missions and assignments and dims the units
// that have nothing to do in it. Everything drawn comes from /plans/P/map.json, which the server serves
// only to a reader of the plan.

import { addBasemap, createMap } from "./map.js";
import { siteLayer, theatreBounds } from "./symbols.js";

const L = window.L;
const element = document.getElementById("map");

function missionIcon(mission, labelled) {
  const root = document.createElement("div");
  root.className = `mission-marker phase-${mission.phase_index % 5}`;
  root.dataset.mission = mission.id;
  root.dataset.phase = mission.phase;
  const dot = document.createElement("span");
  dot.className = "mission-dot";
  const label = document.createElement("span");
  label.className = "mission-label";
  label.textContent = mission.id;
  root.append(dot);
  if (labelled) root.append(label); // one phase at a time: every label; all phases: the popups
  return L.divIcon({ html: root, className: "mission-icon", iconSize: null });
}

function missionPopup(mission) {
  const box = document.createElement("div");
  const title = document.createElement("strong");
  title.textContent = mission.name;
  const phase = document.createElement("div");
  phase.textContent = `${mission.phase} · ${mission.area}`;
  const needs = document.createElement("div");
  needs.textContent = mission.needs;
  box.append(title, phase, needs);
  return box;
}

async function start() {
  const map = createMap(element);
  const response = await fetch(element.dataset.mapUrl, { credentials: "same-origin" });
  const data = await response.json();
  // The view frames the missions and the units assigned to them (the whole structure when none is).
  function frame(phase) {
    const points = data.missions.filter((m) => !phase || m.phase === phase).map((m) => [m.lat, m.lon]);
    for (const a of data.assignments) if (!phase || a.phase === phase) points.push(a.from);
    const bounds = points.length ? L.latLngBounds(points) : theatreBounds(data);
    map.fitBounds(bounds.pad(0.05), { padding: [60, 60], maxZoom: 8 });
  }
  frame("");
  const lines = L.layerGroup().addTo(map);
  const missions = L.layerGroup().addTo(map);
  const units = siteLayer(map, data);
  await addBasemap(map, element);

  function show(phase) {
    lines.clearLayers();
    missions.clearLayers();
    for (const a of data.assignments) {
      if (phase && a.phase !== phase) continue;
      L.polyline([a.from, a.to], {
        className: `assignment-line phase-${a.phase_index % 5}`,
        weight: 2,
        interactive: false,
      }).addTo(lines);
    }
    for (const m of data.missions) {
      if (phase && m.phase !== phase) continue;
      L.marker([m.lat, m.lon], { icon: missionIcon(m, Boolean(phase)), title: `${m.id}: ${m.name}`, alt: m.name, keyboard: true })
        .bindPopup(() => missionPopup(m))
        .addTo(missions);
    }
    const busy = new Set();
    for (const site of data.sites) {
      for (const unit of site.orgs) if (!phase ? unit.phases.length : unit.phases.includes(phase)) busy.add(unit.id);
    }
    for (const holder of element.querySelectorAll(".site-symbol[data-org]")) {
      holder.classList.toggle("idle", !busy.has(holder.dataset.org));
    }
    for (const table of document.querySelectorAll("table.assignment[data-phase]")) {
      table.hidden = Boolean(phase) && table.dataset.phase !== phase;
    }
    element.dataset.phase = phase;
    element.dataset.lines = String(lines.getLayers().length);
  }

  document.getElementById("phase-picker").addEventListener("change", (event) => {
    frame(event.target.value);
    show(event.target.value);
  });
  show("");
  element.dataset.units = String(data.sites.reduce((n, s) => n + s.orgs.length, 0));
  element.dataset.ready = "true";
  units.declutter();
}

start();
