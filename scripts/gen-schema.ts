// Regenerates schema/*.schema.json from lib/config/schema.ts: `npx tsx scripts/gen-schema.ts`.
import { writeFileSync } from "node:fs";
import { jsonSchemas } from "../lib/validate/json-schema.js";

for (const [name, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(new URL(`../schema/${name}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote schema/${name}`);
}
