// Small behaviours htmx does not cover. No framework, no build step.
(function () {
  "use strict";

  // The schema editor shows only the fields of each column's kind.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches('select[name$="-kind"]')) {
      var column = select.closest(".column");
      if (column) column.dataset.kind = select.value;
    }
  });

  // Forms that arrive over the run page's websocket (pause, cancel, retry) are rendered without
  // a request, so they carry no CSRF token: add the page's own token before such a form posts.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches('form[method="post"], form[method="POST"]')) return;
    var field = form.querySelector('input[name="csrfmiddlewaretoken"]');
    if (field && field.value) return;
    var token = null;
    try {
      token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    } catch (error) { token = null; }
    if (!token) return;
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "csrfmiddlewaretoken";
      form.appendChild(field);
    }
    field.value = token;
  });

  // The live indicator on the run page says whether the websocket is connected.
  function setLive(text, state) {
    var indicator = document.getElementById("live-indicator");
    if (indicator) {
      indicator.textContent = text;
      indicator.dataset.state = state;
    }
  }
  document.addEventListener("htmx:wsOpen", function () { setLive("● live", "open"); });
  document.addEventListener("htmx:wsClose", function () { setLive("○ reconnecting…", "closed"); });
})();
