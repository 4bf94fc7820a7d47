// Starts Swagger UI on this service's OpenAPI document. The page is served
// at <base>/docs and the document at <base>/openapi.json, so both relative
// URLs keep working behind a proxy that adds a path prefix. No online
// validator: the page loads nothing from another origin.
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
