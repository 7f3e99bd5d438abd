import { z } from "zod";
import { calibrationSchema } from "../calibrate/schema.js";
import { projectSchema, scenarioSchema } from "../config/schema.js";

/**
 * JSON Schemas for editors (yaml-language-server): generated from the zod schemas, so they cannot drift.
 * `schema/*.schema.json` are committed; a test fails when they differ from what this produces.
 */
export function jsonSchemas(): Record<string, unknown> {
  const gen = (s: z.ZodType, title: string, id: string) => ({
    ...z.toJSONSchema(s, { io: "input", unrepresentable: "any", target: "draft-07" }),
    $id: id,
    title,
  });
  return {
    "project.schema.json": gen(
      projectSchema,
      "mfpar project.yaml",
      "https://mfpar.dev/schema/project.schema.json",
    ),
    "scenario.schema.json": gen(
      scenarioSchema,
      "mfpar scenario file",
      "https://mfpar.dev/schema/scenario.schema.json",
    ),
    "calibration.schema.json": gen(
      calibrationSchema,
      "mfpar calibration file",
      "https://mfpar.dev/schema/calibration.schema.json",
    ),
  };
}
