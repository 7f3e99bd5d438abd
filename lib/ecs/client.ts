import { ECSClient } from "@aws-sdk/client-ecs";
import { nameAwsCalls } from "../aws-errors.js";

/**
 * An ECS client for the launcher: standard SDK configuration (credentials chain, `AWS_ENDPOINT_URL_ECS`),
 * with the SDK's own retries off — the launcher paces and retries itself, and must see every throttle.
 */
export function createEcsClient(region: string, endpoint?: string): ECSClient {
  return nameAwsCalls(new ECSClient({ region, maxAttempts: 1, ...(endpoint ? { endpoint } : {}) }));
}
