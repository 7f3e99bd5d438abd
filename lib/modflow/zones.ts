import { readFile } from "node:fs/promises";
import { UserError } from "../errors.js";

interface Token {
  text: string;
  line: number;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    const body = l.replace(/#.*$/, "");
    for (const t of body.split(/[\s,]+/)) if (t) out.push({ text: t, line: i + 1 });
  });
  return out;
}

/**
 * Reads a zone array: one integer zone per node, in node order (layer 1 row 1 column 1 first), 0 for nodes in
 * no zone. Two layouts are accepted:
 *
 * - a plain list of integers, whitespace- or comma-separated, any number per line (`#` starts a comment);
 * - the ZONEBUDGET layout: `NLAY NROW NCOL` (or `NLAY NCPL`/`NODES` written as `NLAY 1 NCOL`), then per layer
 *   either `CONSTANT <zone>` or `INTERNAL [format]` followed by the layer's values in free format.
 *
 * Errors name the file and line.
 */
export async function readZoneFile(path: string): Promise<Int32Array> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UserError("zone file not found or unreadable", { file: path }, "modflow/zones");
  }
  return parseZones(text, path);
}

/** {@link readZoneFile} on text already read; `file` is used in errors. */
export function parseZones(text: string, file: string): Int32Array {
  const tokens = tokenize(text);
  const fail = (t: Token | undefined, msg: string) =>
    new UserError(msg, t ? { file, line: t.line } : { file }, "modflow/zones");
  const int = (t: Token | undefined, what: string) => {
    if (!t) throw fail(undefined, `the file ends where ${what} is expected`);
    if (!/^[+-]?\d+$/.test(t.text)) throw fail(t, `expected ${what} (an integer), found '${t.text}'`);
    return Number(t.text);
  };
  if (tokens.length === 0) throw fail(undefined, "the zone file is empty");
  if (tokens.length > 3 && /^(constant|internal)$/i.test(tokens[3]!.text)) {
    const nlay = int(tokens[0], "NLAY");
    const nrow = int(tokens[1], "NROW");
    const ncol = int(tokens[2], "NCOL");
    const per = nrow * ncol;
    const zones = new Int32Array(nlay * per);
    let i = 3;
    for (let k = 0; k < nlay; k++) {
      const kw = tokens[i];
      if (!kw || !/^(constant|internal)$/i.test(kw.text)) {
        throw fail(
          kw,
          `expected CONSTANT or INTERNAL for layer ${k + 1}, found '${kw?.text ?? "end of file"}'`,
        );
      }
      i++;
      if (/^constant$/i.test(kw.text)) {
        zones.fill(int(tokens[i++], `the zone of layer ${k + 1}`), k * per, (k + 1) * per);
        continue;
      }
      if (tokens[i] && tokens[i]!.text.startsWith("(")) i++; // format, e.g. (free) or (20I4): values read free
      for (let c = 0; c < per; c++)
        zones[k * per + c] = int(tokens[i++], `zone ${c + 1} of ${per} of layer ${k + 1}`);
    }
    if (i < tokens.length) throw fail(tokens[i], `unexpected '${tokens[i]!.text}' after the last layer`);
    return zones;
  }
  return Int32Array.from(tokens, (t) => int(t, "a zone number"));
}
