// Parse DUIS files with @smartdcc/duis-parser (as DCC Boxed users do) and print one JSON line per file:
// {"file", "ok", "duis" | "error"}. Run with NODE_PATH naming the node_modules holding the parser (fetched at
// test time by tests/gateway/duis_parser.py; nothing of theirs is committed).
'use strict';
const fs = require('node:fs');
const { parseDuis, isSimplifiedDuisOutputResponse } = require('@smartdcc/duis-parser');

const bigints = (_key, value) => (typeof value === 'bigint' ? value.toString() : value);
for (const file of process.argv.slice(2)) {
  try {
    const duis = parseDuis('simplified', fs.readFileSync(file));
    const line = { file, ok: true, response: isSimplifiedDuisOutputResponse(duis), duis };
    process.stdout.write(JSON.stringify(line, bigints) + '\n');
  } catch (error) {
    process.stdout.write(JSON.stringify({ file, ok: false, error: String(error) }) + '\n');
  }
}
