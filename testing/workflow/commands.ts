// GitHub's file commands (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH) and workflow commands (`::error ...::`)
// as the runner parses them.

/** `name=value` lines and `name<<DELIM` ... `DELIM` blocks, as in GITHUB_OUTPUT and GITHUB_ENV. */
export function parseFileCommand(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (line === "") continue;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    const eq = line.indexOf("=");
    if (heredoc && (eq < 0 || eq > line.indexOf("<<"))) {
      const [, name, delim] = heredoc;
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length && lines[j]!.replace(/\r$/, "") !== delim; j++) body.push(lines[j]!);
      if (j >= lines.length) throw new Error(`${file}: matching delimiter not found '${delim}'`);
      out[name!] = body.join("\n");
      i = j;
    } else if (eq > 0) {
      out[line.slice(0, eq)] = line.slice(eq + 1);
    } else {
      throw new Error(`${file}: invalid format '${line}'`);
    }
  }
  return out;
}

export interface Annotation {
  level: "error" | "warning" | "notice";
  message: string;
  file?: string;
  line?: number;
  title?: string;
  /** "job / step" that printed it. */
  where: string;
}

export interface CommandEffects {
  annotations: Annotation[];
  masks: string[];
  /** Legacy `::set-output name=x::v`. */
  outputs: Record<string, string>;
}

const unescapeData = (s: string) => s.replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%25/g, "%");
const unescapeProp = (s: string) => unescapeData(s).replace(/%3A/g, ":").replace(/%2C/g, ",");

/** Scans one line of a step's output for a workflow command; returns true when it was one. */
export function processCommandLine(line: string, where: string, fx: CommandEffects): boolean {
  const m = /^::([a-z-]+)(?:\s+([^:]*))?::(.*)$/.exec(line.trimStart());
  if (!m) return false;
  const [, cmd, propText, data] = m;
  const props: Record<string, string> = {};
  for (const p of (propText ?? "").split(",")) {
    const eq = p.indexOf("=");
    if (eq > 0) props[p.slice(0, eq).trim()] = unescapeProp(p.slice(eq + 1));
  }
  const message = unescapeData(data ?? "");
  switch (cmd) {
    case "error":
    case "warning":
    case "notice":
      fx.annotations.push({
        level: cmd,
        message,
        where,
        ...(props.file ? { file: props.file } : {}),
        ...(props.line ? { line: Number(props.line) } : {}),
        ...(props.title ? { title: props.title } : {}),
      });
      return true;
    case "add-mask":
      if (message) fx.masks.push(message);
      return true;
    case "set-output":
      if (props.name) fx.outputs[props.name] = message;
      return true;
    case "group":
    case "endgroup":
    case "debug":
    case "stop-commands":
    case "echo":
      return true;
    default:
      return false;
  }
}

/** A name bash can use as a variable and GitHub accepts in `env:`. */
export function checkEnvName(name: string, where: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new Error(
      `${where}: env name "${name}" cannot be read by bash (letters, digits and _ only, not starting with a digit)`,
    );
  }
}
