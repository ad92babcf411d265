// SPDX-License-Identifier: Apache-2.0
// The test users and the Credentials provider that signs them in, shared by
// server.mjs (the upstream) and peer.mjs (the benchmark's Node.js peer).
import Credentials from "@auth/core/providers/credentials";

export const USERS = [
  { id: "u-alice", name: "Alice Example", email: "alice@example.com", password: "alice-pw" },
  { id: "u-bob", name: "Bob Other", email: "bob@example.org", password: "bob-pw" },
];

export function credentialsProvider() {
  return Credentials({
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
  });
}
