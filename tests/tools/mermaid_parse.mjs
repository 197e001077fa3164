// Parse Mermaid text with mermaid's own parser (mermaid.parse, the npm package): exit 0 when it
// is accepted, 1 with the parser's message when not. Usage: node mermaid_parse.mjs FILE
// Run with NODE_PATH unset; mermaid is resolved from the folder given in MERMAID_MODULES
// (e.g. .ci/node_modules, filled by `npm install --prefix .ci mermaid`).
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const modules = path.resolve(process.env.MERMAID_MODULES);
// a package's ES module entry, as mermaid's own imports resolve it (one DOMPurify instance)
function entry(name) {
  const pkg = JSON.parse(readFileSync(path.join(modules, name, "package.json"), "utf8"));
  const e = pkg.exports && pkg.exports["."];
  const pick = (x) => (typeof x === "string" ? x : x && (x.default !== undefined ? pick(x.default) : undefined));
  const rel = (e && (pick(e.import) || pick(e))) || pkg.module || pkg.main;
  return pathToFileURL(path.join(modules, name, rel)).href;
}
const load = async (name) => import(entry(name));
// No DOM in node: DOMPurify (mermaid sanitises label text with it) gets pass-through stubs.
// The parsing itself is mermaid's.
const purify = (await load("dompurify")).default;
if (typeof purify.addHook !== "function") {
  purify.addHook = () => {};
  purify.removeHook = () => {};
  purify.removeHooks = () => {};
  purify.removeAllHooks = () => {};
  purify.sanitize = (s) => s;
}
const mermaid = (await load("mermaid")).default;
const text = readFileSync(process.argv[2], "utf8");
try {
  const r = await mermaid.parse(text);
  console.log(JSON.stringify(r));
} catch (e) {
  console.error(String(e.message || e));
  process.exit(1);
}
