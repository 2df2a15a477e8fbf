// Starts Swagger UI on /docs from files this server serves itself (no CDN): the schema's URL is the
// data-openapi attribute of #swagger-ui. Kept out of the page so that its content security policy allows no
// inline script.
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
})();
