// RCP Tracker: small progressive enhancements; every page works without them.
"use strict";

// Forms marked data-warn-unsaved ask before the page is left with changes typed
// but not saved (meeting mode, the procedure form).
(function () {
  var dirty = false;
  document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
