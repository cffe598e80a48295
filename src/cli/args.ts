// Command-line parsing shared by every subcommand: a declared option table, `--key value` or
// `--key=value`, repeatable options, booleans, positionals, and a generated --help text.
// Unknown options are errors that name the option.

export interface OptionSpec {
  type: "string" | "number" | "boolean";
  describe: string;
  default?: string | number | boolean;
  multiple?: boolean;
  required?: boolean;
}

export type Parsed = {
  opts: Record<string, string | number | boolean | string[] | number[] | undefined>;
  positionals: string[];
  help: boolean;
};

export function parseArgs(argv: string[], spec: Record<string, OptionSpec>, command = "vila"): Parsed {
  const opts: Parsed["opts"] = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") {
      help = true;
      continue;
    }
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const key = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const s = spec[key];
    if (!s) throw new Error(`${command}: unknown option --${key} (see ${command} --help)`);
    let raw: string;
    if (eq >= 0) raw = a.slice(eq + 1);
    else if (s.type === "boolean") raw = "true";
    else {
      if (i + 1 >= argv.length) throw new Error(`${command}: option --${key} needs a value`);
      raw = argv[++i];
    }
    let v: string | number | boolean;
    if (s.type === "number") {
      v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v))
        throw new Error(`${command}: --${key} must be a number, got "${raw}"`);
    } else if (s.type === "boolean") {
      if (raw !== "true" && raw !== "false")
        throw new Error(`${command}: --${key} is a flag (true/false), got "${raw}"`);
      v = raw === "true";
    } else v = raw;
    if (s.multiple) {
      const arr = (opts[key] as (string | number)[] | undefined) ?? [];
      arr.push(v as string | number);
      opts[key] = arr as string[] | number[];
    } else opts[key] = v;
  }
  for (const [k, s] of Object.entries(spec)) {
    if (opts[k] === undefined && s.default !== undefined) opts[k] = s.default;
    if (!help && s.required && opts[k] === undefined)
      throw new Error(`${command}: missing required option --${k}`);
  }
  return { opts, positionals, help };
}

export function helpText(command: string, summary: string, spec: Record<string, OptionSpec>): string {
  const rows = Object.entries(spec).map(([k, s]) => {
    const flag = s.type === "boolean" ? `--${k}` : `--${k} ${s.type === "number" ? "N" : "VALUE"}`;
    const extra = [
      s.required ? "required" : "",
      s.multiple ? "repeatable" : "",
      s.default !== undefined ? `default ${JSON.stringify(s.default)}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    return `  ${flag.padEnd(28)} ${s.describe}${extra ? ` (${extra})` : ""}`;
  });
  return [`usage: ${command} [options]`, "", summary, "", "options:", ...rows].join("\n");
}
