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
