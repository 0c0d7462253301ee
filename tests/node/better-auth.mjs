// A real Better Auth server (its own email/password accounts, the JWT plugin, memory
// adapter) for the end-to-end tests. PORT: where it listens; BASE_URL: the URL it names
// itself by in `iss` and `aud` (default: its own address), so a second instance can
// claim the first's issuer with other keys. POST /test/rotate drops its signing keys
// (the next token is signed with a new one). Prints "listening on URL" when ready.
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { jwt } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";
import http from "node:http";

const port = Number(process.env.PORT);
const own = `http://127.0.0.1:${port}`;
const base = process.env.BASE_URL || own;
const db = { user: [], session: [], account: [], verification: [], jwks: [] };
const auth = betterAuth({
  baseURL: base,
  trustedOrigins: [own, base],
  secret: process.env.SECRET || "a-test-secret-of-at-least-32-characters!",
  database: memoryAdapter(db),
  emailAndPassword: { enabled: true },
  plugins: [jwt()],
});
const handler = toNodeHandler(auth);
const server = http.createServer((req, res) => {
  if (req.url === "/test/rotate" && req.method === "POST") {
    db.jwks.length = 0;
    res.end("rotated");
    return;
  }
  handler(req, res);
});
server.listen(port, "127.0.0.1", () => console.log(`listening on ${own}`));
