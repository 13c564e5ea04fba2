// The flow tester's callback page (templates/console/devtools/callback.html) for implicit and hybrid runs:
// their answer (tokens, code, state or an error) arrives in the URL fragment, which no server sees. Read it,
// remove it from the address bar and history at once, and post it (CSRF header from the page) to the console
// endpoint that matches `state` to this operator's run and checks the ID token; then show the run.
(function () {
  "use strict";
  var box = document.getElementById("fragment-answer");
  var hash = window.location.hash;
  if (!box || !hash || hash.length < 2) return;
  var params = new URLSearchParams(hash.slice(1));
  history.replaceState(null, "", window.location.pathname + window.location.search);
  var status = box.querySelector("[data-fragment-status]");
  var none = document.getElementById("no-answer");
  if (none) none.hidden = true;
  box.hidden = false;
  function say(text) { status.textContent = text; }
  if (!params.has("state") && !params.has("error")) {
    say("The URL fragment held no OAuth answer. It was removed from the address bar.");
    return;
  }
  if (box.getAttribute("data-operator") !== "1") {
    say("An answer in the URL fragment was removed from the address bar and sent nowhere: only a signed-in " +
        "operator's flow-tester run can take it.");
    return;
  }
  fetch(box.getAttribute("data-endpoint"), {
    method: "POST",
    headers: {"X-CSRFToken": box.getAttribute("data-csrf")},
    body: params,
    credentials: "same-origin",
    cache: "no-store"
  }).then(function (response) {
    return response.json().then(function (data) {
      if (response.ok && data.location) window.location.replace(data.location);
      else say(data.message || "Truss could not take this answer.");
    });
  }).catch(function () {
    say("Truss could not be reached; the answer was removed from the address bar and is lost. Start a new run.");
  });
})();
