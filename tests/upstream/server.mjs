#!/usr/bin/env node
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
//   --strategy S        jwt | database (default jwt; database is a TODO)
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
//   ANY  <base>/__echo[/...]  echo method, raw target, raw headers, body (base64)
//        query: status=NNN, location=URL, cookies=1, sleep=MS
//   GET  /__stats             {"session_calls": N} (requests to <base>/session)
//   POST /__stats/reset       zero the counter

import http from "node:http";
import { parseArgs } from "node:util";
import { Auth } from "@auth/core";
import Credentials from "@auth/core/providers/credentials";
import { ExpressAuth } from "@auth/express";
import express from "express";

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
const basePath = "/" + opts["base-path"].replace(/^\/+|\/+$/g, "");
if (basePath === "/") die("--base-path must not be /");

// ---------------------------------------------------------------- Auth.js config

const USERS = [
  { id: "u-alice", name: "Alice Example", email: "alice@example.com", password: "alice-pw" },
  { id: "u-bob", name: "Bob Other", email: "bob@example.org", password: "bob-pw" },
];

function buildAdapter(strategy) {
  if (strategy === "jwt") return undefined;
  // TODO: in-memory Adapter (users/accounts/sessions Maps) for
  // session.strategy "database". Note that Auth.js refuses Credentials
  // sign-in with the database strategy, so that will need a custom
  // jwt.encode/callback or a different provider.
  die("--strategy database is not implemented yet");
}

function buildAuthConfig() {
  const adapter = buildAdapter(opts.strategy);
  return {
    basePath,
    secret: opts.secret,
    // We are always behind a test proxy / on localhost; without this Auth.js
    // (with NODE_ENV=production) rejects every request as UntrustedHost.
    trustHost: true,
    ...(adapter && { adapter }),
    session: { strategy: opts.strategy },
    providers: [
      Credentials({
        id: "credentials",
        name: "Credentials",
        credentials: {
          email: { label: "Email", type: "email" },
          password: { label: "Password", type: "password" },
        },
        authorize(creds) {
          const u = USERS.find((x) => x.email === creds?.email && x.password === creds?.password);
          return u ? { id: u.id, name: u.name, email: u.email } : null;
        },
      }),
    ],
    callbacks: {
      // Expose the user id (JWT "sub") in /session so tests can tell users apart.
      session({ session, token }) {
        if (token?.sub && session.user) session.user.id = token.sub;
        return session;
      },
    },
  };
}

// ---------------------------------------------------------------- test routes

let sessionCalls = 0;

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
  // rawHeaders keeps names/values as received; req.headers would drop or
  // specially join some repeated headers (e.g. Cookie with "; ").
  const headers = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
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
  sendJson(
    res,
    status >= 200 && status <= 599 ? status : 200,
    {
      method: req.method,
      url: req.url, // raw request target, undecoded
      headers,
      body_b64: body.toString("base64"),
      body_len: body.length,
    },
    extra,
  );
}

// Returns true when the request was handled here.
function testRoutes(req, res) {
  const [path, query] = splitTarget(req.url);
  if (path === `${basePath}/session`) sessionCalls++;

  if (path === `${basePath}/__echo` || path.startsWith(`${basePath}/__echo/`)) {
    echo(req, res, query).catch((e) => {
      process.stderr.write(`echo failed: ${e.stack}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      else res.destroy();
    });
    return true;
  }
  if (path === "/__stats" && req.method === "GET") {
    sendJson(res, 200, { session_calls: sessionCalls });
    return true;
  }
  if (path === "/__stats/reset" && req.method === "POST") {
    sessionCalls = 0;
    sendJson(res, 200, { session_calls: sessionCalls });
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

function coreHandler(config) {
  return async (req, res) => {
    const [path] = splitTarget(req.url);
    if (path !== basePath && !path.startsWith(`${basePath}/`)) {
      return sendJson(res, 404, { error: "not found" });
    }
    try {
      // Public origin from forwarded headers (see top comment).
      const proto = firstValue(req.headers["x-forwarded-proto"]) ?? "http";
      const host = firstValue(req.headers["x-forwarded-host"]) ?? req.headers.host ?? "localhost";
      const url = `${proto}://${host}${req.url}`;

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
const handler = opts.kind === "express" ? expressHandler(config) : coreHandler(config);

const server = http.createServer((req, res) => {
  if (!testRoutes(req, res)) handler(req, res);
});

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
