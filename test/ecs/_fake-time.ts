/** A fake clock whose sleep advances it: code that paces itself runs instantly and reports virtual time. */
export function fakeTime(start = 0) {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += Math.max(0, ms);
    },
    advance: (ms: number) => {
      t += ms;
    },
    sleeps,
  };
}

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
