// End-user screens work without JavaScript; this prevents double submits of a decision and hides a client
// logo that fails to load (an inline onerror would violate the CSP).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
  });
  document.addEventListener("error", function (event) {
    if (event.target.matches && event.target.matches("img.client-logo")) event.target.hidden = true;
  }, true);
  // The script is deferred: a logo may have failed before the listener existed.
  document.querySelectorAll("img.client-logo").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0) img.hidden = true;
  });
  // Coming back through the history (bfcache) must leave the forms usable.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitted]").forEach(function (form) { delete form.dataset.submitted; });
  });
})();
