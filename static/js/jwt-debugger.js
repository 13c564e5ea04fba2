// JWT debugger (console:devtools:jwt): decodes a pasted JWT and verifies its signature against Hydra's published
// JWKS (rendered into #jwt-jwks), entirely in this page with WebCrypto. The token is never sent anywhere: the
// textarea has no name and sits in no form, and this script makes no request.
(function () {
  "use strict";
  const root = document.getElementById("jwt-debugger");
  const input = document.getElementById("jwt-input");
  if (!root || !input || root.dataset.ready) return;
  root.dataset.ready = "1";
  const jwksEl = document.getElementById("jwt-jwks");
  const claimsEl = document.getElementById("jwt-claim-text");
  const jwks = jwksEl ? JSON.parse(jwksEl.textContent) : null;
  const CLAIMS = claimsEl ? JSON.parse(claimsEl.textContent) : {};
  const out = {
    verdict: document.getElementById("jwt-verdict"), warnings: document.getElementById("jwt-warnings"),
    header: document.getElementById("jwt-header"), payload: document.getElementById("jwt-payload"),
    times: document.getElementById("jwt-times"), claims: document.getElementById("jwt-claims"),
    result: document.getElementById("jwt-result"), decoded: document.getElementById("jwt-decoded"),
  };
  const { ALGS, decode } = window.TrussJwt;
  const TIME_CLAIMS = ["exp", "nbf", "iat", "auth_time", "rat"];

  function relative(seconds) {
    const abs = Math.abs(seconds);
    const [n, unit] = abs < 90 ? [abs, "s"] : abs < 5400 ? [Math.round(abs / 60), "min"]
      : abs < 129600 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), "days"];
    return seconds >= 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
  }
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function setVerdict(text, ok) {
    out.verdict.replaceChildren(el("span", ok ? "signature verified" : ok === false ? "not verified" : "unchecked",
      "badge " + (ok ? "success" : ok === false ? "failure" : "")), document.createTextNode(" " + text));
  }

  async function verify(header, parts) {
    const params = ALGS[header.alg];
    if (!params) return [false, `alg ${JSON.stringify(header.alg)} cannot be checked against a public key set`];
    if (!jwks || !Array.isArray(jwks.keys)) return [null, "Hydra's JWKS could not be loaded; the signature was not checked"];
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    if (!jwk) return [false, `no key with kid ${JSON.stringify(header.kid)} in Hydra's published JWKS`];
    try {
      const ok = await window.TrussJwt.verify(jwk, header.alg, parts);
      return ok ? [true, `${header.alg} with key ${jwk.kid}`] : [false, "the signature does not match the published key (tampered, or signed by another key)"];
    } catch (e) {
      return [null, `this browser cannot check ${header.alg} (${e.name})`];
    }
  }

  async function render() {
    const token = input.value.trim();
    out.result.hidden = !token;
    // Nothing of the previous token survives: an input that does not decode shows only why.
    out.warnings.replaceChildren();
    out.header.textContent = out.payload.textContent = "";
    out.times.replaceChildren();
    out.claims.replaceChildren();
    out.decoded.hidden = true;
    setVerdict("", undefined);
    if (!token) return;
    const warn = (text) => out.warnings.appendChild(el("li", text));
    let parts, header, payload;
    try {
      ({ parts, header, payload } = decode(token));
    } catch (e) {
      setVerdict(e.message === "parts"
        ? `not a JWT: a JWS has three dot-separated parts; this has ${e.count}`
        : "not a JWT: the header or payload is not base64url-encoded JSON", false);
      return;
    }
    if (!header || typeof header !== "object" || !payload || typeof payload !== "object") {
      setVerdict("not a JWT: the header and payload must be JSON objects", false);
      return;
    }
    out.decoded.hidden = false;
    out.header.textContent = JSON.stringify(header, null, 2);
    out.payload.textContent = JSON.stringify(payload, null, 2);
    const alg = String(header.alg || "");
    if (alg.toLowerCase() === "none") warn("Suspicious: alg is \"none\" — an unsigned token. Never accept it.");
    if (/^HS/.test(alg)) warn(`Suspicious: ${alg} is a shared-secret algorithm; Hydra signs with its private keys, so an HS token was made by someone else (or is an algorithm-confusion attack).`);
    const now = Math.floor(Date.now() / 1000);
    out.times.replaceChildren();
    TIME_CLAIMS.forEach((name) => {
      if (typeof payload[name] !== "number") return;
      const tr = el("tr");
      const at = new Date(payload[name] * 1000);
      const th = el("th"); th.scope = "row"; th.appendChild(el("code", name));
      const td = el("td"); const time = el("time", at.toISOString().replace(".000", "")); time.dateTime = at.toISOString(); td.appendChild(time);
      tr.append(th, td, el("td", `${relative(payload[name] - now)} (${at.toLocaleString()})`));
      out.times.appendChild(tr);
    });
    if (typeof payload.exp === "number" && payload.exp <= now) warn(`Expired ${relative(payload.exp - now)}.`);
    if (typeof payload.nbf === "number" && payload.nbf > now) warn(`Not valid yet: valid ${relative(payload.nbf - now)}.`);
    if (jwks && jwks.issuer && payload.iss && payload.iss !== jwks.issuer) warn(`Issued by ${payload.iss}, not by this Hydra (${jwks.issuer}).`);
    out.claims.replaceChildren();
    Object.keys(payload).forEach((name) => {
      if (!CLAIMS[name]) return;
      const dt = el("dt"); dt.appendChild(el("code", name));
      out.claims.append(dt, el("dd", CLAIMS[name]));
    });
    const [ok, text] = await verify(header, parts);
    if (input.value.trim() === token) setVerdict(text, ok);
  }
  input.addEventListener("input", render);
  render();
})();
