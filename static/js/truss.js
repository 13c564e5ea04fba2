// Small progressive enhancements for every console page; every page works without them.
// Destructive actions ask on a confirmation page (components/confirm.html), not with window.confirm.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    navigator.clipboard.writeText(source.value || source.textContent).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });

  // A secret shown once (components/secret_once.html) stays on screen until "I have copied it" is ticked.
  function pendingSecret() {
    var banners = document.querySelectorAll("[data-secret-once]");
    for (var i = 0; i < banners.length; i++) {
      var ack = banners[i].querySelector("[data-secret-ack]");
      if (ack && !ack.checked) return banners[i];
    }
    return null;
  }
  function holdSecret(banner) {
    var warning = banner.querySelector("[data-secret-warning]");
    if (warning) warning.hidden = false;
    banner.scrollIntoView({ block: "start" });
    banner.querySelector("[data-secret-ack]").focus({ preventScroll: true });
  }
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-secret-ack]")) return;
    var warning = event.target.closest("[data-secret-once]").querySelector("[data-secret-warning]");
    if (warning && event.target.checked) warning.hidden = true;
  });
  // Boosted links and forms replace the page: not before the secret is acknowledged.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!event.detail.boosted) return;
    var banner = pendingSecret();
    if (!banner) return;
    event.preventDefault();
    holdSecret(banner);
  });
  // Other ways out (a full load, closing the tab): the browser's own "Leave page?" question.
  window.addEventListener("beforeunload", function (event) {
    if (!pendingSecret()) return;
    event.preventDefault();
    event.returnValue = "";
  });
  // Never into htmx's history cache (localStorage): the banner carries hx-history="false"; belt and braces.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("[data-secret-once] input[readonly]").forEach(function (input) {
      input.value = "";
      input.removeAttribute("value");
    });
  });

  // A boosted answer behaves like a page load: a new secret in view, else the error summary focused, else the
  // result the submit produced ([data-arrive]) focused, else the top of the new page with the message that says
  // what happened focused (or the main landmark, so the keyboard starts in the new page).
  function arrive(boosted) {
    var banner = document.querySelector("[data-secret-once]");
    if (banner) {
      banner.scrollIntoView({ block: "start" });
      banner.focus({ preventScroll: true });
      return;
    }
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus({ preventScroll: true });
      summary.scrollIntoView({ block: "start" });
      return;
    }
    if (!boosted) return;
    var results = document.querySelectorAll("[data-arrive]");  // what the submit produced: the last one
    if (results.length) {
      var result = results[results.length - 1];
      result.focus({ preventScroll: true });
      result.scrollIntoView({ block: "start" });
      return;
    }
    window.scrollTo(0, 0);
    var target = document.querySelector("#messages .message") || document.getElementById("content");
    if (target) target.focus({ preventScroll: true });
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.boosted) arrive(true);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { arrive(false); });
  } else {
    arrive(false);
  }
})();
