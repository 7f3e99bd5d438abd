// Waiting for a state of the world (a file, a process, a status), never for time to pass: the bound only turns a
// hang into a failure that names what did not happen.
export async function waitFor(
  what: string,
  test: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
