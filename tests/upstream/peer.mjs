#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The Node.js peer of mod_authproxy's local decoding, for bench/: a tiny
// Express app that resolves the Auth.js session cookie of every request with
// @auth/express's getSession(req, config) (same secret, same Credentials
// config as server.mjs) and answers a tiny page.
//
// Usage: node peer.mjs [--port N] [--host H] [--secret S] [--base-path P]
//   Prints exactly one line "LISTENING <port>" on stdout once ready.
//
// GET /tiny  200 "<p>hi</p>\n" with X-Authjs-User-Email: <email> when the
//            cookie holds a session; 401 "anonymous\n" otherwise, so a load
//            generator counting non-2xx answers sees every failed resolution.

import { parseArgs } from "node:util";
import { getSession } from "@auth/express";
import express from "express";
import { credentialsProvider } from "./users.mjs";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    secret: { type: "string", default: "test-secret-please-change-0123456789" },
    "base-path": { type: "string", default: "/api/auth" },
  },
  strict: true,
});

// As server.mjs builds it for the jwt strategy.
const config = {
  basePath: opts["base-path"],
  secret: opts.secret,
  trustHost: true,
  session: { strategy: "jwt" },
  providers: [credentialsProvider()],
  callbacks: {
    session({ session, token }) {
      if (token?.sub && session.user) session.user.id = token.sub;
      return session;
    },
  },
};

const app = express();
app.set("x-powered-by", false);
app.set("etag", false);
app.get("/tiny", async (req, res) => {
  let session = null;
  try {
    session = await getSession(req, config);
  } catch (e) {
    process.stderr.write(`getSession failed: ${e.message}\n`);
  }
  if (!session?.user?.email) {
    res.status(401).type("text/plain").send("anonymous\n");
    return;
  }
  res.set("X-Authjs-User-Email", session.user.email);
  res.type("html").send("<p>hi</p>\n");
});

const server = app.listen(Number(opts.port), opts.host, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
