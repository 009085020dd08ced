// Converts every *.tf file of a directory to JSON with @cdktf/hcl2json (HCL parsed by HashiCorp's own parser,
// compiled to WebAssembly) and prints {"<file name>": <parsed file>, ...} on stdout. A syntax error exits 1 naming
// the file. The package is installed into tests/.tools by tests/run-tests.sh or tests/infra/check-infra.sh.
//
//   node tests/infra/hcl2json.mjs infra/terraform
//   node tests/infra/hcl2json.mjs DIR1 DIR2 ...     -> {"DIR1": {"<file>": …}, "DIR2": …}
import { createRequire } from "node:module";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const toolsDir = resolve(process.env.HCL2JSON_TOOLS_DIR ?? join(here, "..", ".tools"));
const packageJson = join(toolsDir, "node_modules", "@cdktf", "hcl2json", "package.json");
if (!existsSync(packageJson)) {
  console.error(`@cdktf/hcl2json is not installed in ${toolsDir}; run: npm install --prefix ${toolsDir} @cdktf/hcl2json`);
  process.exit(3);
}
const { parse } = createRequire(packageJson)("@cdktf/hcl2json");

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error("usage: node hcl2json.mjs <directory of .tf files> [<directory> ...]");
  process.exit(2);
}

async function convert(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith(".tf")).sort();
  if (files.length === 0) {
    console.error(`no .tf files in ${dir}`);
    process.exit(2);
  }
  const result = {};
  for (const file of files) {
    try {
      result[file] = await parse(file, readFileSync(join(dir, file), "utf8"));
    } catch (e) {
      console.error(`${join(dir, file)}: ${e?.message ?? e}`);
      process.exit(1);
    }
  }
  return result;
}

// One directory: {"<file>": …}. Several (one node start for many, as the tests do): {"<directory>": {"<file>": …}}.
let output;
if (dirs.length === 1) output = await convert(dirs[0]);
else {
  output = {};
  for (const dir of dirs) output[dir] = await convert(dir);
}
process.stdout.write(JSON.stringify(output, null, 2));
