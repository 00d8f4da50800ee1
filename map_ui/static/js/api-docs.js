// Swagger UI for /docs, served from the app's own copy of swagger-ui-dist (no CDN).
// The page passes its settings in the data-config attribute of <body>; no inline script.
const config = JSON.parse(document.body.dataset.config || "{}");
window.ui = window.SwaggerUIBundle({
  url: config.openapi_url,
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  oauth2RedirectUrl: window.location.origin + config.oauth2_redirect_url,
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
