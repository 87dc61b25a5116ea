// Swagger UI for /docs, served from the package (no inline script, no CDN).
const holder = document.getElementById("swagger-ui");
window.SwaggerUIBundle({ url: holder.dataset.openapi, dom_id: "#swagger-ui", deepLinking: true });
