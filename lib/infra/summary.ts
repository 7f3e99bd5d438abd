/**
 * A short account of synthesized stacks for the PR comment: resource counts by type and the names they get.
 * Works on cdktf's synthesized Terraform JSON, so it needs no cdktf itself.
 */
export interface StackSummary {
  stack: string;
  resources: number;
  /** Existing resources the stack only reads (data sources), by type. */
  dataSources: Array<{ type: string; count: number }>;
  byType: Array<{ type: string; count: number; names: string[] }>;
  /** Resources adopted from what exists (`import` blocks): `to` ← `id`. */
  imports: Array<{ to: string; id: string }>;
  backend?: { type: string; bucket?: string; key?: string; region?: string };
}

// The attribute that carries a resource's AWS name, where it has one.
const NAME_ATTRIBUTE: Record<string, string> = {
  aws_s3_bucket: "bucket",
  aws_ecs_task_definition: "family",
  aws_iam_openid_connect_provider: "url",
  aws_iam_role_policy: "name",
};

function nameOf(type: string, body: Record<string, unknown>): string | undefined {
  const attr = NAME_ATTRIBUTE[type] ?? "name";
  const v = body[attr] ?? (body.tags as Record<string, unknown> | undefined)?.Name;
  return typeof v === "string" && !v.includes("${") ? v : undefined;
}

type TfJson = {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, unknown>>;
  import?: Array<{ to: string; id: string }>;
  terraform?: { backend?: Record<string, Record<string, unknown>> };
};

export function summarizeStack(stack: string, json: unknown): StackSummary {
  const tf = json as TfJson;
  const byType = Object.entries(tf.resource ?? {})
    .map(([type, items]) => ({
      type,
      count: Object.keys(items).length,
      names: Object.values(items)
        .map((b) => nameOf(type, b))
        .filter((n): n is string => n !== undefined)
        .sort(),
    }))
    .sort((a, b) => a.type.localeCompare(b.type));
  const dataSources = Object.entries(tf.data ?? {})
    .map(([type, items]) => ({ type, count: Object.keys(items).length }))
    .sort((a, b) => a.type.localeCompare(b.type));
  const [backendType, backendBody] = Object.entries(tf.terraform?.backend ?? {})[0] ?? [];
  const summary: StackSummary = {
    stack,
    resources: byType.reduce((n, t) => n + t.count, 0),
    dataSources,
    byType,
    imports: (tf.import ?? []).map((i) => ({ to: i.to, id: i.id })),
  };
  if (backendType) {
    const b = backendBody as Record<string, string | undefined>;
    summary.backend = { type: backendType, bucket: b.bucket, key: b.key ?? b.path, region: b.region };
  }
  return summary;
}

/** Markdown for a PR comment: one section per stack, a table of resource types with counts and names. */
export function formatSummaries(summaries: StackSummary[], notes: string[] = []): string {
  const out: string[] = [];
  for (const s of summaries) {
    out.push(`### ${s.stack}`, "");
    const extra = [
      s.dataSources.length
        ? `${s.dataSources.reduce((n, d) => n + d.count, 0)} existing read through data sources`
        : "",
      s.imports.length ? `${s.imports.length} imported` : "",
      s.backend
        ? `state: ${s.backend.type}${s.backend.bucket ? ` s3://${s.backend.bucket}/${s.backend.key}` : ` ${s.backend.key ?? ""}`}`
        : "",
    ].filter(Boolean);
    out.push(`${s.resources} resources${extra.length ? ` — ${extra.join(", ")}` : ""}`, "");
    out.push("| resource type | count | names |", "| --- | ---: | --- |");
    for (const t of s.byType)
      out.push(`| ${t.type} | ${t.count} | ${t.names.map((n) => `\`${n}\``).join(", ")} |`);
    for (const i of s.imports) out.push(`| import | | \`${i.to}\` ← \`${i.id}\` |`);
    for (const d of s.dataSources) out.push(`| data.${d.type} | ${d.count} | |`);
    out.push("");
  }
  for (const n of notes) out.push(`> ${n}`);
  if (notes.length) out.push("");
  return out.join("\n");
}
