// The Deploy workflow's stack plan (.github/workflows/deploy.yml, job `targets`), bundled to dist/deploy-targets.js
// by `npm run build` (which `npm ci` runs): for each project in PROJECTS (a JSON list), its project stacks as
// lib/infra plans them — stack, region, the ECR repositories the image goes to, whether the image needs Wine, where
// its model files come from (model.provided) — and the scenarios marked `autorun: true`. A project on the
// placeholder account (the demo) is never deployed: skipped with a notice. Written to GITHUB_OUTPUT as `stacks`
// and `autorun`, and printed.
//
// A bundle rather than the sources run through tsx: tsx transpiled lib/ on every run (~1.4 s of CPU, ~0.4 s here).
import { appendFileSync } from "node:fs";
import { loadInfraPlan, loadProjects } from "../lib/infra/load.js";
import { PLACEHOLDER_ACCOUNT } from "../lib/naming.js";

const { PROJECTS, GITHUB_OUTPUT } = process.env;
if (!PROJECTS || !GITHUB_OUTPUT)
  throw new Error("deploy-targets: PROJECTS and GITHUB_OUTPUT must be set (Deploy, job targets)");
const stacks = [];
const autorun = [];
for (const p of JSON.parse(PROJECTS) as string[]) {
  const plan = await loadInfraPlan("projects", { project: p });
  const loaded = await loadProjects("projects", p);
  const scenarios = loaded.flatMap((x) => x.scenarios);
  // repo | build: whether the deploy job fetches model/ and params/ from the model source first.
  const provided = loaded[0]!.project.config.model.provided;
  const wine = scenarios.some((s) => s.config.model.run.wine || s.config.model.post.some((c) => c.wine));
  let skipped = false;
  for (const s of plan.stacks) {
    if (s.kind !== "project") continue;
    if (s.account === PLACEHOLDER_ACCOUNT) {
      skipped = true;
      continue;
    }
    stacks.push({
      project: p,
      stack: s.stackName,
      region: s.region,
      repositories: s.repositories.map((r) => r.name).join(" "),
      wine: String(wine),
      provided,
    });
  }
  if (skipped) {
    console.log(
      `::notice file=projects/${p}/project.yaml::${p}: account ${PLACEHOLDER_ACCOUNT} is the placeholder of a project that runs only locally (npm run demo): not deployed`,
    );
    continue;
  }
  for (const s of scenarios) if (s.scenarioConfig.autorun) autorun.push({ project: p, scenario: s.scenario });
}
appendFileSync(GITHUB_OUTPUT, `stacks=${JSON.stringify(stacks)}\nautorun=${JSON.stringify(autorun)}\n`);
console.log(`stacks=${JSON.stringify(stacks)}`);
console.log(`autorun=${JSON.stringify(autorun)}`);
