// Small behaviours htmx does not cover. No framework, no build step.
(function () {
  "use strict";

  // The schema editor shows only the fields of each column's kind.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches('select[name$="-kind"]')) {
      var column = select.closest(".column");
      if (column) {
        column.dataset.kind = select.value;
        column.querySelectorAll("[data-kinds]").forEach(function (field) {
          field.hidden = field.dataset.kinds.split(" ").indexOf(select.value) < 0;
        });
      }
    }
    // The evaluation form shows only the fields (and the help) of the chosen kind.
    if (select.matches && select.matches('.evaluation-form select[name="kind"]')) {
      select.closest(".evaluation-form").querySelectorAll("[data-kinds]").forEach(function (field) {
        field.hidden = field.dataset.kinds.split(" ").indexOf(select.value) < 0;
      });
    }
    // The preview button says how many rows it will generate.
    if (select.id === "preview-count") {
      var label = document.getElementById("preview-count-label");
      if (label) label.textContent = select.value + (select.value === "1" ? " row" : " rows");
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

// The run page's row panel (filled by htmx from a row's "Details"): mark the row it shows,
// close it with its button or Escape.
(function () {
  "use strict";

  function markSelected(rowId) {
    document.querySelectorAll(".row-card.selected").forEach(function (card) {
      card.classList.remove("selected");
    });
    var card = rowId && document.getElementById(rowId);
    if (card) card.classList.add("selected");
  }

  function closePanel() {
    var panel = document.getElementById("row-panel");
    if (!panel || panel.hidden) return;
    panel.hidden = true;
    panel.textContent = "";
    markSelected(null);
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var panel = document.getElementById("row-panel");
    if (panel && event.target === panel) {
      markSelected(panel.dataset.row);
      if (window.matchMedia("(max-width: 900px)").matches) panel.scrollIntoView();
    }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-close-panel]")) closePanel();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closePanel();
  });
})();

// A row card's Accept, Reject and Details: one listener for the page instead of htmx attributes
// on every card. The live page inserts up to 50 cards five times a second, and htmx wiring each
// card's three elements took about 10 ms of every push at 200 rows/s (docs/performance.md).
// Details stays a plain link without JavaScript.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var action = event.target.closest && event.target.closest("[data-row-review], [data-row-detail]");
    if (!action || !window.htmx) return;
    event.preventDefault();
    if (action.hasAttribute("data-row-review")) {
      htmx.ajax("POST", action.dataset.url, {
        source: action, // inherits the page's hx-headers (the CSRF token)
        target: action.closest(".row-card"),
        swap: "outerHTML",
        values: { decision: action.dataset.rowReview },
      });
    } else {
      htmx.ajax("GET", action.getAttribute("href"), {
        source: action,
        target: "#row-panel",
        swap: "outerHTML",
      });
    }
  });
})();

// The live page's rows pushed out of its bounded list. A push names them on one element,
// #run-rows-trim, instead of one htmx "delete" swap per row: htmx cleans up a removed element by
// firing an event on every element inside it, about 30 per card, and a busy push removes ~40
// cards: that was half of the page's time per push (docs/performance.md). The cards hold no
// htmx state of their own (their buttons use the listener above), so they are simply removed,
// before the push's new rows are prepended.
(function () {
  "use strict";

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "run-rows-trim") return;
    event.detail.shouldSwap = false;
    var incoming = event.detail.fragment.querySelector("#run-rows-trim");
    var ids = ((incoming && incoming.dataset.remove) || "").split(" ");
    for (var i = 0; i < ids.length; i++) {
      var card = ids[i] && document.getElementById(ids[i]);
      if (card) card.remove();
    }
  });
})();
