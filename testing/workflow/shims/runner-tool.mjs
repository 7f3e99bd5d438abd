// `cdktf` and `terraform` inside the workflow runner: terraform cannot run here, so the command is handed to
// the runner (testing/workflow/cdktf.ts), which synthesizes with the checkout's own app, refuses what
// terraform would, and records what a deploy, targeted apply or destroy applies. Output and exit code are the
// runner's answer.   node runner-tool.mjs <cdktf|terraform> args...
import { request } from "node:http";

const [tool, ...argv] = process.argv.slice(2);
const url = process.env.MFPAR_RUNNER_CONTROL;
if (!url) {
  process.stderr.write(
    `${tool}: MFPAR_RUNNER_CONTROL is not set (this shim only works inside the workflow runner)\n`,
  );
  process.exit(1);
}
// node:http rather than fetch: fetch loads undici on first use, ~0.1 s of CPU on every call of the tool.
const body = JSON.stringify({ argv, cwd: process.cwd(), env: process.env });
const out = await new Promise((resolve, reject) => {
  const req = request(
    `${url}/__runner/${tool}`,
    {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    },
    (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d) => {
        text += d;
      });
      res.on("end", () => {
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new Error(`${tool}: the runner answered ${res.statusCode}: ${text.slice(0, 500)} (${e})`));
        }
      });
    },
  );
  req.on("error", reject);
  req.end(body);
});
if (out.stdout) process.stdout.write(out.stdout);
if (out.stderr) process.stderr.write(out.stderr);
process.exit(typeof out.code === "number" ? out.code : 1);
