import { AWS_CALLS } from "./aws-calls.js";
import { ExitCode } from "./exit-codes.js";

/**
 * AWS credential and permission errors are the user's to fix (renew a session, pick the right role or
 * profile, grant an action), not bugs: every entry point turns them into one line that names who called,
 * what was refused and what to do, with a named exit code, instead of "internal error".
 */
export interface AwsErrorRule {
  /** Error names as the SDK reports them (`error.name`: the service's error code). */
  names: string[];
  exitCode: ExitCode;
  problem: string;
  fix: string;
}

export const AWS_ERROR_RULES: AwsErrorRule[] = [
  {
    names: ["ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"],
    exitCode: ExitCode.Credentials,
    problem: "the AWS session has expired",
    fix: "renew it (`aws sso login --profile <p>`), or re-run the workflow job: its OIDC session lasts role-duration-seconds",
  },
  {
    names: ["InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", "InvalidToken"],
    exitCode: ExitCode.Credentials,
    problem: "AWS does not recognize the credentials",
    fix: "check AWS_PROFILE or the access key (deleted or from another partition?); in a workflow, the role-to-assume variable",
  },
  {
    names: ["SignatureDoesNotMatch", "IncompleteSignature", "InvalidSignatureException"],
    exitCode: ExitCode.Credentials,
    problem: "AWS rejected the request signature",
    fix: "the secret key does not belong to the key id, or this machine's clock is off: check the credentials and the time sync",
  },
  {
    names: ["CredentialsProviderError"],
    exitCode: ExitCode.Credentials,
    problem: "no AWS credentials were found",
    fix: "set AWS_PROFILE (after `aws configure sso` / `aws sso login`); in a workflow, run aws-actions/configure-aws-credentials before this step",
  },
  {
    names: ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"],
    exitCode: ExitCode.AccessDenied,
    problem: "AWS denied the call",
    fix: "run this step with the role meant for it (docs/operations.md, Roles), or grant the action in lib/infra/iam.ts and have an administrator re-apply mfpar-bootstrap",
  },
];

export interface AwsErrorReport {
  exitCode: ExitCode;
  /** One line: problem, who, action, fix, and AWS's own words. */
  message: string;
  /** The AWS error name that matched. */
  name: string;
}

/** What the {@link nameAwsCalls} middleware records on an error: the SDK command that failed. */
interface CallNames {
  $mfparCommand?: string;
}

/**
 * Records the failing command's name on every error a client throws, so the message can name the IAM action
 * even when AWS's own message does not (an expired token, S3's bare "Access Denied").
 */
export function nameAwsCalls<
  C extends {
    middlewareStack: {
      add: (
        // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware types differ per client
        mw: (next: (a: any) => Promise<any>, ctx: { commandName?: string }) => (a: any) => Promise<any>,
        opts: { step: "initialize"; name: string },
      ) => void;
    };
  },
>(client: C): C {
  client.middlewareStack.add(
    (next, ctx) => async (args) => {
      try {
        return await next(args);
      } catch (e) {
        if (e && typeof e === "object" && ctx.commandName && !(e as CallNames).$mfparCommand)
          (e as CallNames).$mfparCommand = ctx.commandName;
        throw e;
      }
    },
    { step: "initialize", name: "mfparNameAwsCalls" },
  );
  return client;
}

function causes(e: unknown): Array<Error & CallNames> {
  const out: Array<Error & CallNames> = [];
  for (let x: unknown = e; x instanceof Error && out.length < 8; x = (x as { cause?: unknown }).cause)
    out.push(x as Error & CallNames);
  return out;
}

function ruleFor(err: Error): AwsErrorRule | undefined {
  const code = (err as { Code?: string; code?: string }).Code ?? (err as { code?: string }).code;
  return AWS_ERROR_RULES.find(
    (r) =>
      r.names.includes(err.name) ||
      (code !== undefined && r.names.includes(code)) ||
      (r.names.includes("CredentialsProviderError") &&
        /Could not load credentials from any providers/.test(err.message)),
  );
}

/** Who made the call: the principal AWS names, else the role or profile the environment selects. */
export function awsCaller(message: string, env: Record<string, string | undefined>): string {
  const assumed = /arn:aws[\w-]*:sts::(\d{12}):assumed-role\/([^/\s]+)\/([^\s]+)/.exec(message);
  if (assumed) return `role ${assumed[2]} (account ${assumed[1]}, session ${assumed[3]})`;
  const user = /arn:aws[\w-]*:iam::(\d{12}):user\/([^\s]+)/.exec(message);
  if (user) return `user ${user[2]} (account ${user[1]})`;
  if (env.AWS_ROLE_ARN) return `role ${env.AWS_ROLE_ARN}`;
  if (env.AWS_PROFILE) return `profile ${env.AWS_PROFILE}`;
  if (env.AWS_ACCESS_KEY_ID && env.GITHUB_ACTIONS === "true")
    return "this job's role session (aws-actions/configure-aws-credentials)";
  if (env.AWS_ACCESS_KEY_ID) {
    const k = env.AWS_ACCESS_KEY_ID;
    return `access key ${k.slice(0, 4)}…${k.slice(-4)} (AWS_ACCESS_KEY_ID)`;
  }
  return "the default credential chain (no AWS_PROFILE, AWS_ROLE_ARN or AWS_ACCESS_KEY_ID set)";
}

/** The IAM action a command needs, from the inventory (lib/aws-calls.ts). */
function iamActionOf(command: string): string | undefined {
  const row = AWS_CALLS.find((r) => r.command === command);
  return row?.uses[0]?.checks[0]?.action;
}

function describeAction(message: string, command: string | undefined): string | undefined {
  const m =
    /not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)(?: on resource:? (\S+?))?(?: because|\.?$|\s)/.exec(
      message,
    );
  if (m) return m[2] ? `${m[1]} on ${m[2]}` : m[1];
  if (!command) return undefined;
  const action = iamActionOf(command);
  return action ? `${action} (${command.replace(/Command$/, "")})` : command.replace(/Command$/, "");
}

/**
 * The report for an AWS credential or permission error (anywhere in `e`'s cause chain), or undefined when
 * `e` is something else. `env` names the role or profile when AWS's message does not.
 */
export function describeAwsError(
  e: unknown,
  env: Record<string, string | undefined>,
): AwsErrorReport | undefined {
  const chain = causes(e);
  for (const err of chain) {
    const rule = ruleFor(err);
    if (!rule) continue;
    const command = chain.find((c) => c.$mfparCommand)?.$mfparCommand;
    const text = err.message.replace(/\s+/g, " ").trim();
    const action = describeAction(text, command);
    const who = awsCaller(text, env);
    const name = rule.names.includes(err.name) ? err.name : rule.names[0]!;
    const what = action ? `${who}, calling ${action}` : who;
    return {
      exitCode: rule.exitCode,
      name,
      message: `${rule.problem}: ${what}. Fix: ${rule.fix}. (AWS: ${name}: ${text})`,
    };
  }
  return undefined;
}

/** The one line an action's error path prints: the AWS report when it is one, else the error's message. */
export function failureMessage(e: unknown, env: Record<string, string | undefined>): string {
  const aws = describeAwsError(e, env);
  if (aws) return aws.message;
  return e instanceof Error ? e.message : String(e);
}
