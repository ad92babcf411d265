#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Mint (and decode) REAL Auth.js / NextAuth.js session tokens for the
// mod_authproxy tests, using the libraries' own encode()/decode().
//
// Usage: node mint.mjs < requests.jsonl > answers.txt
//
// Protocol: one JSON object per line on stdin; for each non-blank input line
// exactly one line on stdout, in input order, written as soon as it is ready
// (so a test can keep one process open and talk to it line by line):
//   - the compact JWE token (encode), or
//   - the decoded payload as one line of JSON (op "decode"), or
//   - "ERROR <message>" (bad input, or the library threw; e.g.
//     "ERROR ERR_JWT_EXPIRED: "exp" claim timestamp check failed").
// Blank lines are skipped (no output). Exit status 0 at EOF.
//
// Encode request:
//   {"flavor": "authjs" | "authjs-gcm" | "nextauth-v4",
//    "secret": "...",              the AUTH_SECRET / NEXTAUTH_SECRET
//    "salt": "authjs.session-token", the session cookie name as sent, e.g.
//                                  "__Secure-authjs.session-token" (never a
//                                  chunk name NAME.0); ignored for nextauth-v4
//    "maxAge": 2592000,            optional, seconds, integer; exp = now+maxAge;
//                                  negative = already expired; default is the
//                                  library's own (30 days)
//    "payload": {...},             optional claims (default {}); encode() adds
//                                  iat, exp and jti (overwriting any given)
//    "nbf": 1700000000,            optional absolute unix seconds, put into the
//                                  payload as the "nbf" claim (all three
//                                  encode()s pass unknown claims, nbf included,
//                                  through to the JWT unchanged)
//    "now": 1798761600}            optional unix seconds the clock reads while
//                                  this token is encoded (iat, exp), for golden
//                                  tokens checked at a fixed time
//
//   flavors:
//   authjs       encode() from @auth/core/jwt (the installed @auth/core, the
//                same one server.mjs runs): alg "dir", enc "A256CBC-HS512",
//                64-byte key = HKDF-SHA256(ikm=secret, salt=<salt>,
//                info="Auth.js Generated Encryption Key (<salt>)"), header
//                kid = RFC 7638 JWK thumbprint (SHA-512) of that key.
//                "secret" may also be an array (rotation); encode uses [0].
//   authjs-gcm   encode() from @auth/core 0.22.0 (package.json alias
//                "auth-core-gcm"), the last @auth/core release whose encode()
//                used alg "dir", enc "A256GCM" (0.23.0 switched to
//                A256CBC-HS512): 32-byte key = HKDF-SHA256(secret, salt=<salt>,
//                info="Auth.js Generated Encryption Key (<salt>)"), no kid.
//   nextauth-v4  encode() from next-auth/jwt (next-auth 4.x): alg "dir",
//                enc "A256GCM", 32-byte key = HKDF-SHA256(secret, salt="",
//                info="NextAuth.js Generated Encryption Key"), no kid.
//
// Decode request (for cross-checks):
//   {"op": "decode", "token": "...", "secret": "...", "salt": "...",
//    "flavor": optional}
//   Uses decode() from @auth/core/jwt (accepts A256CBC-HS512 and A256GCM,
//   15 s clock tolerance, checks exp/nbf), or next-auth/jwt's decode() when
//   "flavor" is "nextauth-v4" (salt then ignored). Answers the payload JSON.
//   "now" sets the clock as for encode.
//
// getToken request (what Auth.js's own getToken() makes of a request's
// headers, for the Bearer tests):
//   {"op": "gettoken", "secret": "...", "secureCookie": false,
//    "headers": [["Authorization", "Bearer ..."], ["Cookie", "..."], ...]}
//   Each pair is appended to one Headers (a repeated name joined with ", ",
//   as a server joins repeated fields). Answers the payload JSON, or "null"
//   where getToken() finds no session (or throws, as some releases do on a
//   malformed %-escape: no session either).
//
// "op" may also be given as "encode" (the default).

import readline from "node:readline";
import { encode as authjsEncode, decode as authjsDecode, getToken } from "@auth/core/jwt";
import { encode as gcmEncode } from "auth-core-gcm/jwt";
import nextAuthJwt from "next-auth/jwt"; // CommonJS: exports on the default

const FLAVORS = ["authjs", "authjs-gcm", "nextauth-v4"];

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

function fail(msg) {
  throw new Error(msg);
}

function checkSecret(req, allowArray) {
  const s = req.secret;
  const ok = (x) => typeof x === "string" && x.length > 0;
  if (ok(s)) return s;
  if (allowArray && Array.isArray(s) && s.length > 0 && s.every(ok)) return s;
  fail(`"secret" must be a non-empty string${allowArray ? " (or array of them)" : ""}`);
}

function checkSalt(req) {
  if (typeof req.salt !== "string" || req.salt === "") {
    fail('"salt" (the session cookie name, e.g. "authjs.session-token") is required');
  }
  return req.salt;
}

async function encodeReq(req) {
  const { flavor } = req;
  if (!FLAVORS.includes(flavor)) fail(`"flavor" must be one of ${FLAVORS.join(", ")}`);

  const payload = req.payload ?? {};
  if (!isObject(payload)) fail('"payload" must be a JSON object');
  const token = { ...payload };
  if (req.nbf !== undefined) {
    if (!Number.isInteger(req.nbf)) fail('"nbf" must be an integer (unix seconds)');
    token.nbf = req.nbf;
  }
  const params = { token };
  if (req.maxAge !== undefined) {
    if (!Number.isInteger(req.maxAge)) fail('"maxAge" must be an integer (seconds)');
    params.maxAge = req.maxAge;
  }

  switch (flavor) {
    case "authjs":
      return await authjsEncode({ ...params, secret: checkSecret(req, true), salt: checkSalt(req) });
    case "authjs-gcm":
      return await gcmEncode({ ...params, secret: checkSecret(req, false), salt: checkSalt(req) });
    case "nextauth-v4":
      // next-auth v4 itself never passes a salt (getToken/decode use ""),
      // so neither do we.
      return await nextAuthJwt.encode({ ...params, secret: checkSecret(req, false) });
  }
}

async function decodeReq(req) {
  if (typeof req.token !== "string" || req.token === "") fail('"token" must be a non-empty string');
  let payload;
  if (req.flavor === "nextauth-v4") {
    payload = await nextAuthJwt.decode({ token: req.token, secret: checkSecret(req, false) });
  } else {
    if (req.flavor !== undefined && !FLAVORS.includes(req.flavor)) {
      fail(`"flavor" must be one of ${FLAVORS.join(", ")}`);
    }
    payload = await authjsDecode({
      token: req.token,
      secret: checkSecret(req, true),
      salt: checkSalt(req),
    });
  }
  return JSON.stringify(payload);
}

async function getTokenReq(req) {
  if (!Array.isArray(req.headers)) fail('"headers" must be an array of [name, value]');
  const headers = new Headers();
  for (const [name, value] of req.headers) headers.append(name, value);
  // its logger on stderr: stdout is this protocol's
  const quiet = { debug() {}, warn: console.error, error: console.error };
  const secret = checkSecret(req, true);
  try {
    const payload = await getToken({
      req: { headers },
      secret,
      secureCookie: Boolean(req.secureCookie),
      logger: quiet,
    });
    return JSON.stringify(payload);
  } catch {
    return "null";
  }
}

// The libraries read the clock through Date.now() and new Date(); a request's
// "now" stands in for both until it is answered (requests are answered one at
// a time).
async function atClock(now, work) {
  if (now === undefined) return await work();
  if (!Number.isInteger(now)) fail('"now" must be an integer (unix seconds)');
  const RealDate = globalThis.Date;
  const ms = now * 1000;
  globalThis.Date = class extends RealDate {
    constructor(...args) {
      super(...(args.length ? args : [ms]));
    }
    static now() {
      return ms;
    }
  };
  try {
    return await work();
  } finally {
    globalThis.Date = RealDate;
  }
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    fail(`bad JSON: ${e.message}`);
  }
  if (!isObject(req)) fail("input must be a JSON object");
  const op = req.op ?? "encode";
  if (op === "encode") return await atClock(req.now, () => encodeReq(req));
  if (op === "decode") return await atClock(req.now, () => decodeReq(req));
  if (op === "gettoken") return await getTokenReq(req);
  fail(`unknown "op" ${JSON.stringify(op)} (encode | decode | gettoken)`);
}

function errorLine(e) {
  const msg = e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? e);
  return `ERROR ${msg.replace(/[\r\n]+/g, " ")}`;
}

// A reader that went away is not an error worth a stack trace.
process.stdout.on("error", (e) => process.exit(e.code === "EPIPE" ? 0 : 1));

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === "") continue;
  let out;
  try {
    out = await handle(line);
  } catch (e) {
    out = errorLine(e);
  }
  process.stdout.write(`${out}\n`);
}
