// The flow tester's jwt-bearer run (RFC 7523), templates/console/devtools/flow.html: make a throwaway ES256 key
// pair here (its private half cannot be exported, and never leaves this page), send only the public JWK so Truss
// trusts it for a few minutes, sign the assertion here, then hand it and the client's secret to Truss, which
// exchanges it at Hydra, introspects the token and removes the trust. Then show the run.
(function () {
  "use strict";
  var form = document.getElementById("jb-form");
  if (!form || !window.TrussJwt) return;
  var status = document.getElementById("jb-status");
  var button = form.querySelector("button[type=submit]");

  function say(text) { status.textContent = text; }
  function field(name) { var el = form.elements.namedItem(name); return el ? el.value : ""; }
  function post(url, params) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": field("csrfmiddlewaretoken") },
      body: new URLSearchParams(params),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  }
  function errors(data) {
    var out = [];
    Object.keys(data.errors || {}).forEach(function (name) {
      (data.errors[name] || []).forEach(function (m) { out.push((name === "__all__" ? "" : name + ": ") + m); });
    });
    return out.join(" ") || "Truss refused the run.";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    var secret = field("jb_secret");
    say("Making a throwaway key pair in this browser…");
    window.TrussJwt.throwawayES256().then(function (keys) {
      say("Asking Truss to trust its public key for a few minutes…");
      return post(form.getAttribute("action"), {
        client: field("client"), scope: field("scope"), jwk: JSON.stringify(keys.publicJwk)
      }).then(function (started) {
        if (!started.ok) throw new Error(errors(started.data));
        var run = started.data;
        var now = Math.floor(Date.now() / 1000);
        var jti = window.TrussJwt.b64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
        say("Signing the assertion in this browser…");
        return window.TrussJwt.signES256(keys.privateKey, { kid: run.kid }, {
          iss: run.issuer, sub: run.subject, aud: run.audience, iat: now, exp: now + 240, jti: jti
        }).then(function (assertion) {
          say("Exchanging the assertion at Hydra's token endpoint…");
          return post(run.exchange, { assertion: assertion, secret: secret });
        });
      });
    }).then(function (done) {
      if (done.data.location) { window.location.assign(done.data.location); return; }
      throw new Error(errors(done.data));
    }).catch(function (error) {
      say(error && error.message ? error.message : "The run failed: Truss could not be reached.");
      button.disabled = false;
    });
  });
})();
