// actions/github-script inside the workflow runner: the step's script as an async function of
// (require, github, octokit, context, core, exec, io, fetch), with @actions/github's Octokit — which reads
// GITHUB_API_URL, so it talks to the fake GitHub — and the token the job was issued.
import { createRequire } from "node:module";
import * as core from "@actions/core";
import * as exec from "@actions/exec";
import { context, getOctokit } from "@actions/github";
import * as io from "@actions/io";

const script = process.env.INPUT_SCRIPT ?? "";
const token = process.env["INPUT_GITHUB-TOKEN"] ?? "";
const encoding = process.env["INPUT_RESULT-ENCODING"] || "json";
const github = getOctokit(token);
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
try {
  const fn = new AsyncFunction(
    "require",
    "github",
    "octokit",
    "context",
    "core",
    "exec",
    "io",
    "fetch",
    script,
  );
  const result = await fn(createRequire(`${process.cwd()}/`), github, github, context, core, exec, io, fetch);
  const output = encoding === "string" ? String(result) : JSON.stringify(result);
  core.setOutput("result", output ?? "");
} catch (err) {
  core.error(err instanceof Error && err.stack ? err.stack : String(err));
  core.setFailed(`Unhandled error: ${err}`);
}
