import { type CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { listBatchRecords } from "../batch/record.js";
import type { ResolvedScenario } from "../config/load.js";
import { UserError } from "../errors.js";
import { MARKER_KINDS, storeKeys } from "../store/keys.js";
import type { LogLocation, Marker } from "../store/markers.js";
import { getJson } from "../store/open.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, systemClock } from "../time.js";

/** Where one attempt's log is: a CloudWatch Logs stream (ECS), or the `agent.log` the attempt left in the store. */
export type LogSource =
  | { kind: "cloudwatch"; attempt: number; location: LogLocation; from: "marker" | "batch" }
  | { kind: "store"; attempt: number; key: string };

/**
 * Finds the log of `id`'s attempt `attempt` (default: its latest). In order: the stream the attempt's marker
 * names (the agent records it from the ECS task metadata); the stream of the task a batch launched for that attempt
 * (`awslogs` names it `agente/<container>/<task id>`, cdktf/project-stack.ts) — the way to a running attempt's
 * log; the attempt's `attempts/<n>/agent.log` in the store (every local run, and any finished attempt).
 */
export async function findLogSource(
  store: ResultStore,
  scenario: ResolvedScenario,
  id: string,
  attempt?: number,
): Promise<LogSource> {
  const s = scenario.scenario;
  const markers: Marker[] = [];
  for (const kind of MARKER_KINDS) {
    const m = await getJson<Marker>(store, storeKeys.marker(s, id, kind));
    if (m) markers.push(m);
  }
  const attempts = new Set<number>(markers.map((m) => m.attempt));
  const attemptsPrefix = `${storeKeys.result(s, id)}attempts/`;
  for await (const o of store.list(attemptsPrefix)) {
    const n = Number(o.key.slice(attemptsPrefix.length).split("/")[0]);
    if (Number.isInteger(n)) attempts.add(n);
  }
  const launches = (await listBatchRecords(store, s))
    .map((b) => ({ batch: b.batchId, entry: b.launches?.[id] }))
    .filter((l) => l.entry !== undefined);
  for (const l of launches) attempts.add(l.entry!.attempt);
  if (attempts.size === 0)
    throw new UserError(
      `no attempt of ID ${id} in ${store.url}${storeKeys.result(s, id)} nor in any batch of ${scenario.project}/${s}`,
    );
  const n = attempt ?? Math.max(...attempts);
  if (!attempts.has(n))
    throw new UserError(
      `ID ${id} has no attempt ${n}: its attempts are ${[...attempts].sort((a, b) => a - b).join(", ")}`,
    );

  const marked = markers.find((m) => m.attempt === n && m.log);
  if (marked?.log) return { kind: "cloudwatch", attempt: n, location: marked.log, from: "marker" };
  const launch = launches.find((l) => l.entry!.attempt === n)?.entry;
  if (launch) {
    const taskId = launch.taskArn.split("/").pop()!;
    return {
      kind: "cloudwatch",
      attempt: n,
      location: {
        group: scenario.names.logGroup,
        stream: `agente/${scenario.names.container}/${taskId}`,
        region: launch.region,
        taskArn: launch.taskArn,
      },
      from: "batch",
    };
  }
  return { kind: "store", attempt: n, key: `${storeKeys.attempt(s, id, n)}agent.log` };
}

/** Whether attempt `attempt` of `id` has ended (its marker is there): a follow stops then. */
export async function attemptEnded(
  store: ResultStore,
  scenario: string,
  id: string,
  attempt: number,
): Promise<boolean> {
  for (const kind of MARKER_KINDS) {
    const m = await getJson<Marker>(store, storeKeys.marker(scenario, id, kind));
    if (m && m.attempt >= attempt) return true;
  }
  return false;
}

/**
 * Prints a CloudWatch Logs stream from its start, page by page (GetLogEvents, `startFromHead`). With `follow`,
 * keeps reading every `pollMs` until `ended()` says the attempt is over and one more read brings nothing new.
 */
export async function printCloudWatchStream(o: {
  client: CloudWatchLogsClient;
  location: LogLocation;
  write: (line: string) => void;
  follow?: boolean;
  ended?: () => Promise<boolean>;
  clock?: Clock;
  pollMs?: number;
}): Promise<number> {
  let token: string | undefined;
  let printed = 0;
  let over = false;
  for (;;) {
    let out: { events?: { message?: string }[]; nextForwardToken?: string };
    try {
      out = await o.client.send(
        new GetLogEventsCommand({
          logGroupName: o.location.group,
          logStreamName: o.location.stream,
          startFromHead: true,
          ...(token ? { nextToken: token } : {}),
        }),
      );
    } catch (e) {
      // A task not yet started has no stream: when following, wait for it.
      if ((e as { name?: string }).name !== "ResourceNotFoundException") throw e;
      if (!o.follow)
        throw new UserError(
          `log stream ${o.location.stream} not found in ${o.location.group} (${o.location.region}): the task may not have started yet (try --follow), or its log has expired`,
        );
      out = {};
    }
    for (const e of out.events ?? []) {
      o.write(`${(e.message ?? "").replace(/\n$/, "")}\n`);
      printed++;
    }
    // The same token back means the end of the stream for now.
    const atEnd = !out.nextForwardToken || out.nextForwardToken === token;
    token = out.nextForwardToken ?? token;
    if (!atEnd) continue;
    if (!o.follow || over) return printed;
    over = (await o.ended?.()) ?? false;
    if (!over) await (o.clock ?? systemClock).sleep(o.pollMs ?? 2000);
  }
}
