#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Test/demo Auth.js upstream for mod_authproxy.
//
// Usage: node server.mjs [flags]
//   --port N            listen port; 0 (default) = pick a free port
//   --host H            listen address (default 127.0.0.1)
//   --kind K            express | core (default express)
//                         express: Express 5 app, ExpressAuth from @auth/express
//                                  mounted at --base-path
//                         core:    plain node:http server calling Auth(request, config)
//                                  from @auth/core
//   --base-path P       Auth.js basePath (default /api/auth); all Auth.js routes
//                       and the __echo test route live under it
//   --secret S          AUTH_SECRET (default "test-secret-please-change-0123456789")
//   --session-delay MS  hold every <base>/session answer back MS milliseconds
//   --tenant N=P:S      (core only; repeatable) a second Auth.js instance named
//                       N, with basePath P and secret S, in the same server:
//                       two Auth.js deployments behind one origin. A request
//                       under --base-path that carries the header "X-Tenant: N"
//                       is answered by tenant N too (its path moved to P).
//   --tls-cert F, --tls-key F  PEM certificate and key: serve HTTPS
//   --strategy S        jwt | database (default jwt). database: in-memory
//                       Adapter, no providers (Auth.js forbids Credentials-only
//                       with database sessions); make sessions with
//                       POST /__db/session. Sessions keep their expiry (no
//                       sliding, see buildAuthConfig) unless --slide.
//   --slide             (database only) slide a session's expiry to now +
//                       30 days on every /session call, as Auth.js does once a
//                       session is older than updateAge (updateAge 0)
//
// Once listening it prints exactly one line "LISTENING <port>" to stdout.
// Everything else (Auth.js logs, errors) goes to stderr.
//
// How each kind learns its public origin (scheme://host[:port]); Auth.js
// itself just uses `new URL(request.url).origin`, so it is all about how the
// web Request's URL is built:
//   express: @auth/express builds it as
//              req.protocol + "://" + req.get("host") + req.originalUrl
//            With `trust proxy` on (as the @auth/express docs recommend behind
//            a proxy) req.protocol honours X-Forwarded-Proto, but
//            req.get("host") is the raw Host header: X-Forwarded-Host is
//            IGNORED. A proxy in front must therefore pass the client's Host.
//   core:    this file builds it from X-Forwarded-Proto (else "http") and
//            X-Forwarded-Host (else Host), first value of each if comma-listed,
//            like the framework integrations that honour forwarded headers.
// Either way an https origin makes Auth.js use __Secure-/__Host- cookie names.
//
// Test-only routes (answered before Auth.js sees the request, same on both kinds):
//   ANY  <base>/__echo[/...]  echo method, raw target, raw headers, body (base64),
//        and over TLS the server name (SNI) the client sent, else null
//        query: status=NNN, location=URL, cookies=1, sleep=MS, gzip=1
//   GET  /__stats             {"session_calls": N, "last_session_headers": {...},
//                             "session_traceparents": [...], "emails_sent": N}
//                             (requests to <base>/session or a tenant's
//                             /session; the raw headers of the last one; the
//                             traceparent header of the last 100, null where
//                             none came: the upstream's trace log; the e-mail
//                             provider's sign-in e-mails, never sent)
//   POST /__stats/reset       zero the counters, forget the traceparents
//   POST /__db/session        (--strategy database only, else 404)
//        body {"email": "alice@example.com", "expiresIn": 3600 (seconds,
//        default 3600, may be <= 0)}: create the user (fixed table, same ids
//        as the Credentials users) if needed and a session with a random
//        sessionToken (crypto.randomUUID(), as Auth.js does) in the adapter;
//        answers {"sessionToken": "...", "expires": "<ISO>"}. Send it as the
//        session cookie (authjs.session-token, or __Secure-authjs.session-token
//        on an https origin) and <base>/session answers from the adapter.
//   POST /__db/clear          (--strategy database only) delete all sessions;
//        answers {"cleared": N}

import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import zlib from "node:zlib";
import { parseArgs } from "node:util";
import { Auth } from "@auth/core";
import { ExpressAuth } from "@auth/express";
import express from "express";
import { USERS, credentialsProvider } from "./users.mjs";

// ---------------------------------------------------------------- flags

function die(msg) {
  process.stderr.write(`server.mjs: ${msg}\n`);
  process.exit(2);
}

const FLAGS = {
  port: { type: "string", default: "0" },
  host: { type: "string", default: "127.0.0.1" },
  kind: { type: "string", default: "express" },
  "base-path": { type: "string", default: "/api/auth" },
  secret: { type: "string", default: "test-secret-please-change-0123456789" },
  strategy: { type: "string", default: "jwt" },
  slide: { type: "boolean", default: false },
  // milliseconds every <base>/session answer is held back: a slow upstream,
  // for tests of concurrent requests
  "session-delay": { type: "string", default: "0" },
  tenant: { type: "string", multiple: true, default: [] },
  // PEM files: serve HTTPS instead of HTTP
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
};
let opts;
try {
  opts = parseArgs({ options: FLAGS, strict: true }).values;
} catch (e) {
  die(e.message);
}

const port = Number(opts.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) die(`bad --port ${opts.port}`);
if (!["express", "core"].includes(opts.kind)) die(`bad --kind ${opts.kind}`);
if (!["jwt", "database"].includes(opts.strategy)) die(`bad --strategy ${opts.strategy}`);
// Normalise to "/x/y" (no trailing slash) so prefix checks below are simple.
const normalise = (p) => "/" + p.replace(/^\/+|\/+$/g, "");
const basePath = normalise(opts["base-path"]);
if (basePath === "/") die("--base-path must not be /");
const tenants = opts.tenant.map((spec) => {
  const m = /^([^=]+)=([^:]+):(.+)$/.exec(spec);
  if (!m) die(`bad --tenant ${spec} (want NAME=PREFIX:SECRET)`);
  if (opts.kind !== "core") die("--tenant needs --kind core");
  return { name: m[1], basePath: normalise(m[2]), secret: m[3] };
});

// ---------------------------------------------------------------- database strategy

// In-memory Auth.js Adapter for session.strategy "database". Auth.js calls
// the methods detached (adapter[name](...args)), so they are closures over
// these Maps, not `this` methods. The Maps are also used directly by the
// /__db/* test routes.
const db = {
  users: new Map(), // id -> AdapterUser {id, name, email, emailVerified, image?}
  accounts: new Map(), // "provider\0providerAccountId" -> AdapterAccount
  sessions: new Map(), // sessionToken -> AdapterSession {sessionToken, userId, expires: Date}
  verificationTokens: new Map(), // "identifier\0token" -> VerificationToken
};

const accountKey = (provider, providerAccountId) => `${provider}\0${providerAccountId}`;

function memoryAdapter() {
  const copy = (x) => (x ? { ...x } : null);
  return {
    async createUser(user) {
      const u = { ...user, id: user.id ?? crypto.randomUUID() };
      db.users.set(u.id, u);
      return copy(u);
    },
    async getUser(id) {
      return copy(db.users.get(id));
    },
    async getUserByEmail(email) {
      for (const u of db.users.values()) if (u.email === email) return copy(u);
      return null;
    },
    async getUserByAccount({ provider, providerAccountId }) {
      const a = db.accounts.get(accountKey(provider, providerAccountId));
      return a ? copy(db.users.get(a.userId)) : null;
    },
    async updateUser(user) {
      const u = { ...db.users.get(user.id), ...user };
      db.users.set(u.id, u);
      return copy(u);
    },
    async deleteUser(id) {
      const u = db.users.get(id);
      db.users.delete(id);
      for (const [k, s] of db.sessions) if (s.userId === id) db.sessions.delete(k);
      for (const [k, a] of db.accounts) if (a.userId === id) db.accounts.delete(k);
      return copy(u);
    },
    async linkAccount(account) {
      db.accounts.set(accountKey(account.provider, account.providerAccountId), { ...account });
      return copy(account);
    },
    async unlinkAccount({ provider, providerAccountId }) {
      const k = accountKey(provider, providerAccountId);
      const a = db.accounts.get(k);
      db.accounts.delete(k);
      return copy(a);
    },
    async createSession(session) {
      db.sessions.set(session.sessionToken, { ...session });
      return copy(session);
    },
    async getSessionAndUser(sessionToken) {
      const s = db.sessions.get(sessionToken);
      const u = s && db.users.get(s.userId);
      return u ? { session: copy(s), user: copy(u) } : null;
    },
    async updateSession(session) {
      const s = db.sessions.get(session.sessionToken);
      if (!s) return null;
      Object.assign(s, session);
      return copy(s);
    },
    async deleteSession(sessionToken) {
      const s = db.sessions.get(sessionToken);
      db.sessions.delete(sessionToken);
      return copy(s);
    },
    async createVerificationToken(vt) {
      db.verificationTokens.set(`${vt.identifier}\0${vt.token}`, { ...vt });
      return copy(vt);
    },
    async useVerificationToken({ identifier, token }) {
      const k = `${identifier}\0${token}`;
      const vt = db.verificationTokens.get(k);
      db.verificationTokens.delete(k);
      return copy(vt);
    },
  };
}

// ---------------------------------------------------------------- Auth.js config

const DAY = 24 * 60 * 60;

// An e-mail provider whose sign-in e-mails are counted, not sent.
let emailsSent = 0;
const emailProvider = {
  id: "email",
  type: "email",
  name: "Email",
  maxAge: DAY,
  from: "auth@example.test",
  async sendVerificationRequest() {
    emailsSent++;
  },
};

// The one adapter instance: given to Auth.js and used by POST /__db/session.
const dbAdapter = opts.strategy === "database" ? memoryAdapter() : undefined;

function buildAuthConfig(tenant) {
  const database = opts.strategy === "database";
  const credentials = credentialsProvider();
  return {
    basePath: tenant?.basePath ?? basePath,
    secret: tenant?.secret ?? opts.secret,
    // We are always behind a test proxy / on localhost; without this Auth.js
    // (with NODE_ENV=production) rejects every request as UntrustedHost.
    trustHost: true,
    ...(database && { adapter: dbAdapter }),
    session: database
      ? {
          strategy: "database",
          // Auth.js would otherwise slide a database session's expiry to
          // now + maxAge (30 days) on a /session call once it is older than
          // updateAge (default 1 day; "age" being computed as
          // expires - maxAge, so any session made by POST /__db/session with
          // a short expiresIn counts as old). updateAge = maxAge switches the
          // sliding off, so a session keeps the expiry it was created with.
          maxAge: 30 * DAY,
          updateAge: opts.slide ? 0 : 30 * DAY,
        }
      : { strategy: opts.strategy },
    // Auth.js refuses a config whose only providers are Credentials when the
    // strategy is "database" (UnsupportedStrategy on every request), and a
    // Credentials sign-in would mint a JWT cookie anyway. So only an e-mail
    // provider there (POST <base>/signin/email, which needs the adapter):
    // sessions come from POST /__db/session instead.
    providers: database ? [emailProvider] : [credentials],
    callbacks: {
      session({ session, token, user }) {
        // Database strategy: `session` is the adapter's row plus `user`;
        // answer the same public shape as the jwt strategy below.
        if (user) {
          return {
            user: { name: user.name, email: user.email, image: user.image ?? undefined, id: user.id },
            expires: new Date(session.expires).toISOString(),
          };
        }
        // Expose the user id (JWT "sub") in /session so tests can tell users apart.
        if (token?.sub && session.user) session.user.id = token.sub;
        return session;
      },
    },
  };
}

// ---------------------------------------------------------------- test routes

let sessionCalls = 0;
let lastSessionHeaders = null;
let sessionTraceparents = [];

function rawHeaders(req) {
  // rawHeaders keeps names/values as received; req.headers would drop or
  // specially join some repeated headers (e.g. Cookie with "; ").
  const headers = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

const isSession = (path) =>
  [basePath, ...tenants.map((t) => t.basePath)].some((p) => path === `${p}/session`);

function splitTarget(target) {
  const q = target.indexOf("?");
  return q < 0 ? [target, ""] : [target.slice(0, q), target.slice(q + 1)];
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res, status, obj, extraHeaders = {}) {
  // These statuses must not carry a body (or Content-Length for one).
  if (status === 204 || status === 304) {
    res.writeHead(status, extraHeaders);
    return res.end();
  }
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": body.length,
    ...extraHeaders,
  });
  res.end(body);
}

async function echo(req, res, query) {
  const body = await readBody(req);
  const headers = rawHeaders(req);
  const q = new URLSearchParams(query);
  const sleep = Number(q.get("sleep") ?? 0);
  if (sleep > 0) await new Promise((r) => setTimeout(r, sleep));

  const extra = {};
  if (q.has("location")) extra.Location = q.get("location");
  if (q.get("cookies") === "1") {
    extra["Set-Cookie"] = ["a=1; Path=/", `b=2; Path=${basePath}; HttpOnly`];
  }
  // 1xx are not real final responses; anything out of range falls back to 200.
  const status = q.has("status") ? Number(q.get("status")) : 200;
  const answer = {
    method: req.method,
    url: req.url, // raw request target, undecoded
    headers,
    servername: req.socket.servername || null,
    body_b64: body.toString("base64"),
    body_len: body.length,
  };
  if (q.get("gzip") === "1") {
    // whatever the request's Accept-Encoding: an upstream that compresses regardless
    extra["Content-Encoding"] = "gzip";
    const gz = zlib.gzipSync(JSON.stringify(answer));
    res.writeHead(status >= 200 && status <= 599 ? status : 200, {
      "Content-Type": "application/json",
      "Content-Length": gz.length,
      ...extra,
    });
    return res.end(gz);
  }
  sendJson(res, status >= 200 && status <= 599 ? status : 200, answer, extra);
}

// POST /__db/session {"email", "expiresIn"} and POST /__db/clear.
async function dbRoute(req, res, path) {
  const body = await readBody(req);
  if (opts.strategy !== "database") {
    return sendJson(res, 404, { error: "/__db/* needs --strategy database" });
  }
  if (path === "/__db/clear") {
    const cleared = db.sessions.size;
    db.sessions.clear();
    return sendJson(res, 200, { cleared });
  }
  let args;
  try {
    args = body.length ? JSON.parse(body.toString("utf8")) : {};
  } catch (e) {
    return sendJson(res, 400, { error: `bad JSON: ${e.message}` });
  }
  const known = USERS.find((u) => u.email === args?.email);
  if (!known) return sendJson(res, 400, { error: `unknown "email" ${JSON.stringify(args?.email)}` });
  const expiresIn = args.expiresIn ?? 3600;
  if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn)) {
    return sendJson(res, 400, { error: '"expiresIn" must be a number of seconds' });
  }
  const expires = new Date(Date.now() + expiresIn * 1000);
  if (Number.isNaN(expires.getTime())) return sendJson(res, 400, { error: '"expiresIn" out of range' });
  // Same user ids/names as the Credentials table; reuse the user once created.
  const user =
    (await dbAdapter.getUser(known.id)) ??
    (await dbAdapter.createUser({ id: known.id, name: known.name, email: known.email, emailVerified: null }));
  const session = await dbAdapter.createSession({
    sessionToken: crypto.randomUUID(), // what Auth.js's default generateSessionToken() uses
    userId: user.id,
    expires,
  });
  sendJson(res, 200, { sessionToken: session.sessionToken, expires: session.expires.toISOString() });
}

// Returns true when the request was handled here.
function testRoutes(req, res) {
  const [path, query] = splitTarget(req.url);
  if (isSession(path)) {
    sessionCalls++;
    lastSessionHeaders = rawHeaders(req);
    sessionTraceparents.push(req.headers.traceparent ?? null);
    sessionTraceparents = sessionTraceparents.slice(-100);
  }

  if (path === `${basePath}/__echo` || path.startsWith(`${basePath}/__echo/`)) {
    echo(req, res, query).catch((e) => {
      process.stderr.write(`echo failed: ${e.stack}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      else res.destroy();
    });
    return true;
  }
  if (path === "/__stats" && req.method === "GET") {
    sendJson(res, 200, {
      session_calls: sessionCalls,
      last_session_headers: lastSessionHeaders,
      session_traceparents: sessionTraceparents,
      emails_sent: emailsSent,
    });
    return true;
  }
  if (path === "/__stats/reset" && req.method === "POST") {
    sessionCalls = 0;
    sessionTraceparents = [];
    sendJson(res, 200, { session_calls: sessionCalls });
    return true;
  }
  if ((path === "/__db/session" || path === "/__db/clear") && req.method === "POST") {
    dbRoute(req, res, path).catch((e) => {
      process.stderr.write(`${path} failed: ${e.stack}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      else res.destroy();
    });
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- kinds

function expressHandler(config) {
  const app = express();
  // What the @auth/express docs tell you to do behind a proxy: makes
  // req.protocol follow X-Forwarded-Proto. It does NOT make @auth/express use
  // X-Forwarded-Host (it reads req.get("host"), i.e. the Host header).
  app.set("trust proxy", true);
  app.set("x-powered-by", false);
  app.use(basePath, ExpressAuth(config));
  app.use((req, res) => sendJson(res, 404, { error: "not found" }));
  return app;
}

function firstValue(v) {
  return v?.split(",")[0].trim() || undefined;
}

const under = (path, prefix) => path === prefix || path.startsWith(`${prefix}/`);

// The Auth.js instance a request is for, and its target on that instance.
function instanceFor(req, instances) {
  const [path] = splitTarget(req.url);
  const named = instances.find((i) => i.tenant && i.tenant.name === req.headers["x-tenant"]);
  if (named && under(path, basePath)) {
    return { instance: named, target: named.tenant.basePath + req.url.slice(basePath.length) };
  }
  const instance = instances.find((i) => under(path, i.config.basePath));
  return instance && { instance, target: req.url };
}

function coreHandler(instances) {
  return async (req, res) => {
    const found = instanceFor(req, instances);
    if (!found) {
      return sendJson(res, 404, { error: "not found" });
    }
    const { config } = found.instance;
    try {
      // Public origin from forwarded headers (see top comment).
      const proto = firstValue(req.headers["x-forwarded-proto"]) ?? "http";
      const host = firstValue(req.headers["x-forwarded-host"]) ?? req.headers.host ?? "localhost";
      const url = `${proto}://${host}${found.target}`;

      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
      }
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const request = new Request(url, {
        method: req.method,
        headers,
        body: hasBody ? await readBody(req) : undefined,
      });

      const response = await Auth(request, config);

      const out = {};
      response.headers.forEach((v, k) => {
        if (k !== "set-cookie") out[k] = v;
      });
      const cookies = response.headers.getSetCookie();
      if (cookies.length) out["set-cookie"] = cookies;
      const body = Buffer.from(await response.arrayBuffer());
      out["content-length"] = body.length;
      res.writeHead(response.status, out);
      res.end(body);
    } catch (e) {
      process.stderr.write(`Auth() failed: ${e.stack}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      else res.destroy();
    }
  };
}

// ---------------------------------------------------------------- main

const config = buildAuthConfig();
const instances = [{ config }, ...tenants.map((tenant) => ({ tenant, config: buildAuthConfig(tenant) }))];
const handler = opts.kind === "express" ? expressHandler(config) : coreHandler(instances);

const serve = (req, res) => {
  if (testRoutes(req, res)) return;
  const delay = Number(opts["session-delay"]);
  if (delay > 0 && isSession(splitTarget(req.url)[0])) {
    setTimeout(() => handler(req, res), delay);
  } else {
    handler(req, res);
  }
};
const server = opts["tls-cert"]
  ? https.createServer({ cert: fs.readFileSync(opts["tls-cert"]), key: fs.readFileSync(opts["tls-key"]) }, serve)
  : http.createServer(serve);

// Idle upstream connections outlive httpd's reuse of them (Node's default is
// 5 s), so a kept-alive connection is never closed under a request in flight.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(port, opts.host, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
