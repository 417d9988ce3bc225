// Typesets each line of standard input with KaTeX in strict mode, throwing on any error, and
// prints a verdict per line: "ok", or "error: " and KaTeX's message. Used by
// tests/suite/pictures.rs, which installs KaTeX and sets NODE_PATH.
const katex = require("katex");
const input = require("fs").readFileSync(0, "utf8");
for (const line of input.split("\n")) {
  try {
    katex.renderToString(line, { throwOnError: true, strict: "error", displayMode: true });
    console.log("ok");
  } catch (e) {
    console.log("error: " + String(e.message).replace(/\n/g, " "));
  }
}
