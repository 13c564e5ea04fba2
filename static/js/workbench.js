// Assertion workbench (trusted issuer page): checks a jwt-bearer assertion claim by claim the way Hydra
// (fosite handler/rfc7523) would, against the trust's public data rendered into #workbench-data. Everything
// happens in this page: nothing is sent anywhere, and a generated throwaway key is non-extractable.
(function () {
  "use strict";
  const dataEl = document.getElementById("workbench-data");
  const root = document.getElementById("workbench");
  if (!dataEl || !root || root.dataset.ready) return;
  root.dataset.ready = "1";
  const trust = JSON.parse(dataEl.textContent);
  const input = document.getElementById("wb-assertion");
  const scopeInput = document.getElementById("wb-scope");
  const table = document.getElementById("wb-results");
  const verdict = document.getElementById("wb-verdict");

  const { ALGS, b64urlEncode, decode } = window.TrussJwt;
  const enc = new TextEncoder();
  const now = () => Math.floor(Date.now() / 1000);
  const when = (s) => new Date(s * 1000).toISOString().replace(".000", "");

  function row(check, value, ok, why) {
    const tr = document.createElement("tr");
    tr.className = ok === true ? "ok" : ok === false ? "fail" : "warn";
    [check, value, (ok === true ? "✓ " : ok === false ? "✗ " : "• ") + why].forEach((text) => {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    });
    return tr;
  }

  async function check() {
    const body = table.querySelector("tbody");
    body.replaceChildren();
    table.hidden = false;
    const rows = [];
    const add = (...args) => { rows.push(args[2]); body.appendChild(row(...args)); };
    let parts, header, claims;
    try {
      ({ parts, header, payload: claims } = decode(input.value));
    } catch (e) {
      if (e.message === "parts") {
        add("format", `${e.count} part(s)`, false, "an assertion is a signed JWT: header.payload.signature");
        verdict.textContent = "Hydra would refuse it: not a signed JWT.";
      } else {
        add("format", "unreadable", false, "header or payload is not base64url JSON");
        verdict.textContent = "Hydra would refuse it: unreadable.";
      }
      return;
    }
    const t = now();
    const rules = trust.rules;
    add("alg", String(header.alg), header.alg in ALGS, header.alg in ALGS ? "an asymmetric algorithm Hydra verifies" : "not an algorithm a public key verifies");
    if (header.kid === undefined) add("kid", "(none)", null, "Hydra tries every key trusted for this iss and sub");
    else add("kid", String(header.kid), header.kid === trust.public_jwk.kid, header.kid === trust.public_jwk.kid ? "the trusted key" : `Hydra looks up kid ${trust.public_jwk.kid} for this trust`);
    add("iss", String(claims.iss), claims.iss === trust.issuer, claims.iss === trust.issuer ? "the trusted issuer" : `must be ${trust.issuer}`);
    if (trust.allow_any_subject) add("sub", String(claims.sub), Boolean(claims.sub), claims.sub ? "any subject is allowed" : "sub is required");
    else add("sub", String(claims.sub), claims.sub === trust.subject, claims.sub === trust.subject ? "the trusted subject" : `must be ${trust.subject}`);
    const aud = Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
    add("aud", aud.join(", ") || "(none)", aud.includes(trust.token_url), aud.includes(trust.token_url) ? "names Hydra's token endpoint" : `must contain ${trust.token_url}`);
    if (typeof claims.exp !== "number") add("exp", "(none)", false, "exp is required");
    else add("exp", when(claims.exp), claims.exp > t, claims.exp > t ? `valid for ${claims.exp - t} s more` : "expired");
    if (claims.nbf !== undefined) add("nbf", when(claims.nbf), claims.nbf < t, claims.nbf < t ? "already valid" : "not valid yet");
    if (typeof claims.iat !== "number") add("iat", "(none)", rules.iat_optional ? null : false, rules.iat_optional ? "optional in this Hydra" : "iat is required");
    else add("iat", when(claims.iat), true, "present");
    if (typeof claims.exp === "number") {
      const span = claims.exp - (typeof claims.iat === "number" ? claims.iat : t);
      add("lifetime", `${span} s`, span <= rules.max_ttl_seconds, span <= rules.max_ttl_seconds ? "within Hydra's max_ttl" : `longer than max_ttl (${rules.max_ttl_seconds} s)`);
    }
    if (!claims.jti) add("jti", "(none)", rules.jti_optional ? null : false, rules.jti_optional ? "optional in this Hydra" : "jti is required (and single use)");
    else add("jti", String(claims.jti), true, "present; Hydra accepts each jti once");
    const expires = Date.parse(trust.expires_at) / 1000;
    add("trust", `expires ${when(expires)}`, expires > t, expires > t ? "active" : "this trust has expired");
    const wanted = scopeInput.value.split(/\s+/).filter(Boolean);
    const outside = wanted.filter((s) => !trust.scope.includes(s));
    add("scope", wanted.join(" ") || "(none)", outside.length === 0, outside.length ? `not allowed: ${outside.join(" ")}` : "within the trusted scopes");
    if (header.alg in ALGS) {
      try {
        const ok = await window.TrussJwt.verify(trust.public_jwk, header.alg, parts);
        add("signature", header.alg, ok, ok ? "verified with the trusted public key" : "not signed by the trusted key");
      } catch (e) {
        add("signature", header.alg, null, `this browser cannot check it (${e.name || e})`);
      }
    }
    const failed = rows.filter((r) => r === false).length;
    verdict.textContent = failed ? `Hydra would refuse it: ${failed} check(s) fail.` : "Hydra would accept it (client authentication and its jwt-bearer grant aside).";
  }

  async function generate() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const t = now();
    const header = { alg: "ES256", typ: "JWT", kid: trust.public_jwk.kid };
    const claims = { iss: trust.issuer, sub: trust.subject || "any-subject", aud: trust.token_url, iat: t, exp: t + 300, jti: crypto.randomUUID() };
    const input64 = `${b64urlEncode(enc.encode(JSON.stringify(header)))}.${b64urlEncode(enc.encode(JSON.stringify(claims)))}`;
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, enc.encode(input64));
    input.value = `${input64}.${b64urlEncode(sig)}`;
    await check();
  }

  document.getElementById("wb-check").addEventListener("click", () => { check(); });
  document.getElementById("wb-generate").addEventListener("click", () => { generate(); });
})();
