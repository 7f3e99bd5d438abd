import { LocalBackend, S3Backend, type TerraformStack } from "cdktf";
import type { StateBackendPlan } from "../lib/infra/stack-plan.js";

/**
 * One state object per stack in the account's state bucket, locked with S3's native lock file
 * (`use_lockfile`, Terraform >= 1.10: no DynamoDB table). cdktf 0.21's typed S3BackendConfig predates the
 * option, so it is set with an override.
 */
export function configureBackend(stack: TerraformStack, state: StateBackendPlan): void {
  if (state.kind === "local") {
    new LocalBackend(stack, { path: state.key });
    return;
  }
  new S3Backend(stack, { bucket: state.bucket, key: state.key, region: state.region, encrypt: true });
  stack.addOverride("terraform.backend.s3.use_lockfile", true);
}
