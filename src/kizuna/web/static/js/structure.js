// The structure explorer page: the organizations and relations as a cytoscape chart (pan, zoom, filter
// by nation and relation kind; click an organization for its chain of command), positioned by the
// server with the same layout as the printed org chart.

const element = document.getElementById("chart");
const panel = document.getElementById("org-panel");
const pickOrg = document.getElementById("pick-org");

async function showOrg(orgId, cy) {
  if (!orgId) return;
  const response = await fetch(element.dataset.panel + encodeURIComponent(orgId), { credentials: "same-origin" });
  panel.innerHTML = await response.text(); // server-rendered, escaped by the template
  pickOrg.value = orgId;
  cy.$(":selected").unselect();
  cy.$id(orgId).select();
}

async function start() {
  const response = await fetch(element.dataset.graph, { credentials: "same-origin" });
  const elements = await response.json();
  const cy = window.cytoscape({
    container: element,
    elements: [...elements.nodes, ...elements.edges],
    layout: { name: "preset", fit: true, padding: 20 },
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: { shape: "round-rectangle", width: 150, height: 46, label: "data(label)", "text-wrap": "wrap", "text-max-width": 142, "font-size": 10, "text-valign": "center", "text-halign": "center", "background-color": "#eef2f7", "border-width": 1, "border-color": "#5b6b80", "font-family": "Noto Sans JP, system-ui, sans-serif" } },
      { selector: "node[nation = 'USA']", style: { "background-color": "#dbe7fb" } },
      { selector: "node[nation = 'JPN']", style: { "background-color": "#fbe3e3" } },
      { selector: "node[nation = 'bilateral']", style: { "background-color": "#efe6fa" } },
      { selector: "node.added", style: { "border-width": 4, "border-color": "#1b7f3b" } },
      { selector: "node.changed", style: { "border-width": 4, "border-color": "#c77700", "border-style": "dashed" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#111" } },
      { selector: "edge", style: { width: 1.4, "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "#7a8799", "target-arrow-color": "#7a8799", "arrow-scale": 0.8 } },
      { selector: "edge.rel-commands", style: { width: 2.2, "line-color": "#1f3b63", "target-arrow-color": "#1f3b63" } },
      { selector: "edge.rel-coordinates-with, edge.rel-liaison", style: { "line-style": "dotted", "target-arrow-shape": "none" } },
      { selector: "edge.rel-reports-to, edge.rel-administrative-control", style: { "line-style": "dashed" } },
      { selector: "edge.added", style: { "line-color": "#1b7f3b", "target-arrow-color": "#1b7f3b", width: 3 } },
      { selector: ".hidden", style: { display: "none" } },
    ],
  });
  // Whole chart first if its labels are readable so; else a readable zoom on the bilateral bodies.
  const readable = () => {
    cy.zoom(0.8);
    cy.center(cy.nodes("[nation = 'bilateral']"));
  };
  if (cy.zoom() < 0.6) readable();
  document.getElementById("chart-fit").addEventListener("click", () => cy.fit(undefined, 20));
  document.getElementById("chart-zoom").addEventListener("click", readable);
  cy.on("tap", "node", (event) => showOrg(event.target.id(), cy));
  pickOrg.addEventListener("change", () => showOrg(pickOrg.value, cy));
  panel.addEventListener("click", (event) => {
    const target = event.target.closest("[data-org]");
    if (target) showOrg(target.dataset.org, cy);
  });
  function applyFilters() {
    const nations = new Set([...document.querySelectorAll(".filter-nation:checked")].map((b) => b.value));
    const kinds = new Set([...document.querySelectorAll(".filter-relation:checked")].map((b) => b.value));
    cy.batch(() => {
      cy.nodes().forEach((n) => n.toggleClass("hidden", !nations.has(n.data("nation"))));
      cy.edges().forEach((e) => e.toggleClass("hidden", !kinds.has(e.data("kind")) || e.source().hasClass("hidden") || e.target().hasClass("hidden")));
    });
  }
  for (const box of document.querySelectorAll(".filter-nation, .filter-relation")) box.addEventListener("change", applyFilters);
  const pick = document.getElementById("pick-structure");
  pick.addEventListener("change", () => {
    window.location.assign(`/structures/${encodeURIComponent(pick.value)}`);
  });
  element.dataset.ready = "true";
}

start();
