/** The virtual clock of lib/time.ts (its sleep advances it), under the name these suites use. */
export { virtualClock as fakeTime } from "../../lib/time.js";

/** An error shaped like the AWS SDK's. */
export function awsError(name: string, status?: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    ...(status ? { $metadata: { httpStatusCode: status }, $fault: status >= 500 ? "server" : "client" } : {}),
  });
}

/** A network failure as node's http client reports it (socket destroyed before a response). */
export function socketHangUp(): Error {
  return Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
}
