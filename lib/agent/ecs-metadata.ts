import type { LogLocation } from "../store/markers.js";

/**
 * Where ECS sends this container's output, from the task metadata endpoint (v4: `$ECS_CONTAINER_METADATA_URI_V4`
 * answers the container's `LogDriver`, `LogOptions` with `awslogs-group/region/stream`, and the task ARN label).
 * Recorded in every marker so `mfpar logs` finds the stream without searching. Undefined outside ECS, for another
 * log driver, or when the endpoint does not answer within `timeoutMs` (never fails the realization).
 */
export async function ecsLogLocation(
  env: Record<string, string | undefined>,
  fetchFn: typeof fetch = fetch,
  timeoutMs = 2000,
): Promise<LogLocation | undefined> {
  const uri = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!uri) return undefined;
  try {
    const res = await fetchFn(uri, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const c = (await res.json()) as {
      LogDriver?: string;
      LogOptions?: Record<string, string>;
      Labels?: Record<string, string>;
    };
    const o = c.LogOptions ?? {};
    const group = o["awslogs-group"];
    const stream = o["awslogs-stream"];
    const region = o["awslogs-region"] ?? env.AWS_REGION;
    if (c.LogDriver !== "awslogs" || !group || !stream || !region) return undefined;
    const taskArn = c.Labels?.["com.amazonaws.ecs.task-arn"];
    return { group, stream, region, ...(taskArn ? { taskArn } : {}) };
  } catch {
    return undefined;
  }
}
