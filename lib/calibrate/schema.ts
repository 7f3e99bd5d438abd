import { z } from "zod";

/**
 * The schema of a calibration file, `projects/<project>/<calibration>.yaml` (beside project.yaml; told apart from
 * a scenario by its `calibration:` key). Strict objects, as the rest of the configuration: a typo is an error.
 */

/** Engines with a name; anything else is given as `{ master: [...], agent: [...] }`. */
export const ENGINES = [
  "pestpp-glm",
  "pestpp-ies",
  "pestpp-swp",
  "pestpp-sen",
  "pestpp-opt",
  "pestpp-mou",
  "pest_hp",
  "beopest",
] as const;
export type EngineName = (typeof ENGINES)[number];

const argvSchema = z
  .array(z.string().min(1))
  .min(1, "expected a command as a non-empty argv list, e.g. [/opt/pestpp/bin/pestpp-glm]");

const engineSchema = z
  .union([
    z.enum(ENGINES),
    z.strictObject({
      kind: z.enum(ENGINES).default("pestpp-glm").meta({
        description: "Which engine the commands run (decides resume and the report); default pestpp-glm.",
      }),
      master: argvSchema.meta({
        description: "The master's command before `<case>.pst /h :PORT`, e.g. [/opt/pestpp/pestpp-glm].",
      }),
      agent: argvSchema.meta({
        description: "An agent's command before `<case>.pst /h HOST:PORT`, e.g. [/opt/pestpp/pestpp-glm].",
      }),
    }),
  ])
  .meta({
    description:
      "pestpp-glm | pestpp-ies | pestpp-swp | pestpp-sen | pestpp-opt | pestpp-mou | pest_hp | beopest (found on PATH), or { kind, master: [...], agent: [...] }.",
  });

/** PEST's parameter transformations; `fixed` parameters keep their initial value. */
export const TRANSFORMS = ["log", "none", "fixed"] as const;

const GROUP = /^[a-z0-9_][a-z0-9_.-]*$/i;

const parameterSchema = z.strictObject({
  lower: z.number().meta({ description: "Lower bound (PARLBND)." }),
  upper: z.number().meta({ description: "Upper bound (PARUBND)." }),
  initial: z.number().optional().meta({
    description: "Initial value (PARVAL1); default: `initial:` file, else the (geometric) mid-range.",
  }),
  transform: z.enum(TRANSFORMS).default("log"),
  group: z
    .string()
    .regex(GROUP, "expected a group name of letters, digits, _ . -")
    .optional()
    .meta({ description: "Parameter group; default: the pattern without its wildcards (hk_* → hk)." }),
  scale: z.number().default(1),
  offset: z.number().default(0),
});
export type ParameterSpec = z.output<typeof parameterSchema>;

const weightSchema = z.union([
  z.number().nonnegative("expected a weight ≥ 0 (1 / the measurement standard deviation)"),
  z.strictObject({
    sd: z.number().positive("expected a standard deviation > 0").meta({
      description: "Measurement standard deviation, in the observation's unit: weight = 1/sd.",
    }),
  }),
]);

const observationsSchema = z.strictObject({
  observed: z
    .string()
    .optional()
    .meta({ description: "CSV `name,value` of measured values; default: model.observed of project.yaml." }),
  weights: z.record(z.string(), weightSchema).default({}).meta({
    description:
      "Weight per observation group (a group is named after its instruction file: heads.ins → heads), or { sd: 0.05 }. Groups not listed get weight 0.",
  }),
});

const portSchema = z.number().int().min(1024).max(65535);

export const calibrationSchema = z.strictObject({
  $schema: z.string().optional(),
  calibration: z
    .string()
    .regex(
      /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/,
      'expected a calibration name of lowercase letters, digits and inner hyphens (e.g. "cal-2026")',
    )
    .max(40),
  description: z.string().optional(),
  engine: engineSchema.default("pestpp-glm"),
  control: z.string().default("generate").meta({
    description:
      '"generate" (from the project\'s templates and instruction files) or the path of your own .pst.',
  }),
  initial: z
    .string()
    .optional()
    .meta({ description: "A .par file with the initial values (e.g. params/param1.par)." }),
  parameters: z.record(z.string(), parameterSchema).default({}).meta({
    description: "Name or glob (hk_*) → bounds, transform, group. Every template parameter needs one.",
  }),
  observations: observationsSchema.prefault({}),
  agents: z
    .number()
    .int()
    .min(1)
    .max(512)
    .optional()
    .meta({ description: "Local agents (default: CPU cores); --agents overrides." }),
  port: portSchema.default(4004).meta({ description: "The master's TCP port (IPv4, all interfaces)." }),
  options: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .default({})
    .meta({
      description:
        "PEST++ ++ options (validated against PEST++ 5.2.23's names) and control-data variables (noptmax, phiredstp, ...).",
    }),
});
export type CalibrationConfig = z.output<typeof calibrationSchema>;

/** The commands of an engine: `<master...> case.pst /h :PORT`, `<agent...> case.pst /h HOST:PORT`. */
export interface Engine {
  kind: EngineName;
  master: string[];
  agent: string[];
  /** PEST++ (reads `++` options) rather than PEST_HP/BEOPEST. */
  pestpp: boolean;
}

/** A file every master/agent folder gets beside the model's own (a tpl/ins kept outside model.dir). */
export interface ExtraFile {
  from: string;
  to: string;
}
