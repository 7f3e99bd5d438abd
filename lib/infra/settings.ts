import { UserError } from "../errors.js";
import { parseS3Url } from "../store/location.js";

/**
 * Settings of the cdktf app that are not in any project: where Terraform state lives and which GitHub
 * repository the OIDC roles trust. Read from the environment (GitHub Actions sets GITHUB_REPOSITORY).
 */
export interface InfraSettings {
  /** State bucket; default `{account}-mfpar-tfstate` (one per account, created by the bootstrap stack). */
  stateBucket?: string;
  /** Region of the state bucket (and of the bootstrap stack). */
  stateRegion: string;
  /** `owner/repo` the GitHub OIDC roles trust; without it the bootstrap stack is left out. */
  githubRepository?: string;
  /** Account of the bootstrap stack; default: the one account all projects share. */
  bootstrapAccount?: string;
  /** First bootstrap deploy: the state bucket does not exist yet, so keep the bootstrap state local. */
  bootstrapLocalState: boolean;
  /** An existing GitHub OIDC provider (there can be only one per account) instead of creating one. */
  oidcProviderArn?: string;
  /** `MFPAR_MODEL_SOURCE` (`s3://bucket[/prefix]`): the deploy role may read it. Prefix ends in `/` or is empty. */
  modelSource?: { bucket: string; prefix: string };
  /**
   * The ECS service-linked role (AWSServiceRoleForECS), which a new account's first RunTask needs: `create` it
   * in the bootstrap, or (`existing`) import the one the account already has.
   */
  ecsServiceLinkedRole?: "create" | "existing";
}

/** The environment variables {@link infraSettings} reads, for help texts and the README. */
export const INFRA_ENV = {
  stateBucket: "MFPAR_STATE_BUCKET",
  stateRegion: "MFPAR_STATE_REGION",
  githubRepository: "MFPAR_GITHUB_REPOSITORY",
  bootstrapAccount: "MFPAR_AWS_ACCOUNT",
  bootstrapLocalState: "MFPAR_BOOTSTRAP_LOCAL_STATE",
  oidcProviderArn: "MFPAR_OIDC_PROVIDER_ARN",
  modelSource: "MFPAR_MODEL_SOURCE",
  ecsServiceLinkedRole: "MFPAR_ECS_SERVICE_LINKED_ROLE",
} as const;

export const DEFAULT_STATE_REGION = "us-east-1";

/** Reads {@link InfraSettings} from `env`; throws a UserError quoting any malformed value. */
export function infraSettings(env: Record<string, string | undefined>): InfraSettings {
  const get = (k: string) => {
    const v = env[k]?.trim();
    return v ? v : undefined;
  };
  const githubRepository = get(INFRA_ENV.githubRepository) ?? get("GITHUB_REPOSITORY");
  if (githubRepository && !/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(githubRepository)) {
    throw new UserError(`GitHub repository is not valid: ${githubRepository} (expected owner/repo)`);
  }
  const stateRegion = get(INFRA_ENV.stateRegion) ?? DEFAULT_STATE_REGION;
  if (!/^[a-z]{2}(?:-gov)?-[a-z]+-\d$/.test(stateRegion)) {
    throw new UserError(
      `${INFRA_ENV.stateRegion} is not a valid region: ${stateRegion} (expected e.g. us-east-1)`,
    );
  }
  const bootstrapAccount = get(INFRA_ENV.bootstrapAccount);
  if (bootstrapAccount && !/^\d{12}$/.test(bootstrapAccount)) {
    throw new UserError(
      `${INFRA_ENV.bootstrapAccount} is not a valid account id: ${bootstrapAccount} (expected 12 digits)`,
    );
  }
  const oidcProviderArn = get(INFRA_ENV.oidcProviderArn);
  if (
    oidcProviderArn &&
    !/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/.test(
      oidcProviderArn,
    )
  ) {
    throw new UserError(
      `${INFRA_ENV.oidcProviderArn} is not the ARN of a GitHub OIDC provider: ${oidcProviderArn} (expected arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)`,
    );
  }
  const modelSourceRaw = get(INFRA_ENV.modelSource);
  const modelSource = modelSourceRaw ? parseS3Url(modelSourceRaw) : undefined;
  if (modelSourceRaw && !modelSource?.bucket) {
    throw new UserError(
      `${INFRA_ENV.modelSource} is not an S3 location: ${modelSourceRaw} (expected s3://bucket[/prefix])`,
    );
  }
  if (modelSource?.prefix && !modelSource.prefix.endsWith("/")) modelSource.prefix += "/";
  const slr = get(INFRA_ENV.ecsServiceLinkedRole)?.toLowerCase();
  if (slr && slr !== "create" && slr !== "existing") {
    throw new UserError(
      `${INFRA_ENV.ecsServiceLinkedRole} is not valid: ${slr} (expected create, or existing when the account already has AWSServiceRoleForECS)`,
    );
  }
  return {
    ...(modelSource ? { modelSource } : {}),
    ...(slr ? { ecsServiceLinkedRole: slr as "create" | "existing" } : {}),
    stateBucket: get(INFRA_ENV.stateBucket),
    stateRegion,
    githubRepository,
    bootstrapAccount,
    bootstrapLocalState: ["1", "true", "yes"].includes(
      get(INFRA_ENV.bootstrapLocalState)?.toLowerCase() ?? "",
    ),
    oidcProviderArn,
  };
}
