// The runner process of the transcript example (baton-server's process runtime runs it in
// the project's path). No model runs: it looks at the project's files and says so. Each
// stdout line becomes a transcript message: JSON lines as they are, plain lines as
// assistant messages counted in words. Its last line carries metadata final=true.
import { readdirSync } from "node:fs";

const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const env = process.env;
const files = readdirSync(".")
  .filter((f) => !f.startsWith(".") && f !== "node_modules")
  .sort();

if (env.STRATAVORE_RESUMED === "1") {
  say({ role: "user", content: "Which file starts the example?", tokens: 6 });
  say({
    role: "assistant",
    content: "main.ts: `tsx main.ts` is its start script.",
    tokens: 11,
    metadata: { final: "true" },
  });
} else {
  say({ role: "system", content: `You review project ${env.STRATAVORE_PROJECT} with ${env.STRATAVORE_MODEL}.` });
  say({ role: "user", content: "What is in this project?", tokens: 6 });
  console.log(`This project has ${files.length} files: ${files.join(", ")}.`);
  say({ role: "assistant", content: "Nothing looks out of place.", tokens: 7, metadata: { final: "true" } });
}
// A runner lives until the daemon stops it (SIGTERM).
setInterval(() => {}, 60_000);
