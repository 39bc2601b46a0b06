// Focus mode's keys (templates/evaluation/partials/focus.html). One listener on document, so
// the keys keep working after every htmx swap of #focus; a key presses the button marked with
// data-key, so the keyboard and the mouse do exactly the same thing.
(function () {
  "use strict";

  var ALIASES = { ArrowRight: "j", ArrowLeft: "k", s: "skip" };

  function typing(target) {
    return target instanceof Element &&
      target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
  }

  function openFirstEdit(focus) {
    var edit = focus.querySelector("details.focus-edit");
    if (!edit) return;
    edit.open = true;
    var field = edit.querySelector("[data-focus-field]");
    if (field) {
      field.focus();
      field.setSelectionRange(0, 0);
      field.scrollIntoView({ block: "center" });
    }
  }

  function keyTarget(focus, key) {
    if (key === "skip") return focus.querySelector("[data-key-skip]");
    return focus.querySelector('[data-key="' + key + '"]');
  }

  function onKey(event) {
    var focus = document.querySelector("[data-focus]");
    if (!focus || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var key = ALIASES[event.key] || event.key;
    if (key === "e") {
      event.preventDefault();
      openFirstEdit(focus);
      return;
    }
    if (key === "?") {
      var keys = focus.querySelector("[data-focus-keys]");
      if (keys) keys.hidden = !keys.hidden;
      return;
    }
    var target = keyTarget(focus, key);
    if (!target || target.disabled || focus.querySelector(".htmx-request")) return;
    event.preventDefault();
    target.click();
  }

  function onSaveShortcut(event) {
    // Ctrl/Cmd+Enter in an edit field saves it.
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var field = event.target instanceof Element && event.target.closest("[data-focus-field]");
    if (field && field.form) {
      event.preventDefault();
      field.form.requestSubmit();
    }
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("keydown", onSaveShortcut);
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var focus = document.querySelector("[data-focus]");
    if (target.closest("[data-focus-edit-open]") && focus) openFirstEdit(focus);
    if (target.closest("[data-focus-keys-toggle]") && focus) {
      var keys = focus.querySelector("[data-focus-keys]");
      if (keys) keys.hidden = !keys.hidden;
    }
  });
})();
