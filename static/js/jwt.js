// Reading and checking a JWS in the browser, shared by the JWT debugger and the assertion workbench: base64url,
// the JOSE algorithms WebCrypto verifies with a public key, decoding, one signature check, and ES256 signing with a
// throwaway non-extractable key (the flow tester's jwt-bearer run). No request is made.
(function () {
  "use strict";
  if (window.TrussJwt) return;
  const ALGS = {
    RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, RS384: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
    RS512: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" }, PS256: { name: "RSA-PSS", hash: "SHA-256", saltLength: 32 },
    PS384: { name: "RSA-PSS", hash: "SHA-384", saltLength: 48 }, PS512: { name: "RSA-PSS", hash: "SHA-512", saltLength: 64 },
    ES256: { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" }, ES384: { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" },
    ES512: { name: "ECDSA", namedCurve: "P-521", hash: "SHA-512" }, EdDSA: { name: "Ed25519" },
  };

  function b64urlDecode(text) {
    const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }
  function b64urlEncode(bytes) {
    let bin = "";
    new Uint8Array(bytes).forEach((b) => { bin += String.fromCharCode(b); });
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // {parts, header, payload}; throws Error("parts") for a token without three parts and Error("json") for a
  // header or payload that is not base64url-encoded JSON.
  function decode(token) {
    const parts = token.trim().split(".");
    if (parts.length !== 3) throw Object.assign(new Error("parts"), { count: parts.length });
    try {
      const json = (part) => JSON.parse(new TextDecoder().decode(b64urlDecode(part)));
      return { parts, header: json(parts[0]), payload: json(parts[1]) };
    } catch (e) {
      throw new Error("json");
    }
  }

  // Whether `jwk` (public members only are used) verifies the token's signature; throws when this browser cannot
  // check the algorithm.
  async function verify(jwk, alg, parts) {
    const params = ALGS[alg];
    const bare = Object.assign({}, jwk);
    ["alg", "use", "kid", "x5c", "x5t", "x5t#S256", "key_ops"].forEach((name) => delete bare[name]);
    const importAlg = params.name === "ECDSA" ? { name: "ECDSA", namedCurve: params.namedCurve }
      : params.name === "Ed25519" ? { name: "Ed25519" } : { name: params.name, hash: params.hash };
    const key = await crypto.subtle.importKey("jwk", bare, importAlg, false, ["verify"]);
    return crypto.subtle.verify(params, key, b64urlDecode(parts[2]), new TextEncoder().encode(parts[0] + "." + parts[1]));
  }

  // A compact JWS of `payload`, signed with a WebCrypto ECDSA P-256 private key (ES256). WebCrypto's ECDSA
  // signature is r || s, exactly JOSE's form (RFC 7518 §3.4). The key may be non-extractable: it is only used.
  async function signES256(privateKey, header, payload) {
    const enc = (value) => b64urlEncode(new TextEncoder().encode(JSON.stringify(value)));
    const input = enc(Object.assign({ alg: "ES256", typ: "JWT" }, header)) + "." + enc(payload);
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, new TextEncoder().encode(input));
    return input + "." + b64urlEncode(sig);
  }

  // A throwaway ES256 key pair whose private half cannot be exported, and its public JWK (kty, crv, x, y only).
  async function throwawayES256() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    return { privateKey: pair.privateKey, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
  }

  window.TrussJwt = { ALGS, b64urlDecode, b64urlEncode, decode, verify, signES256, throwawayES256 };
})();
