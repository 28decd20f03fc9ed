// Checks an OpenRPC document (a file path argument, as channels-rpc's
// rpc.discover answered it) with the OpenRPC tools:
// 1. validates it against the OpenRPC meta-schema vendored beside this file
//    (from @open-rpc/meta-schema 1.14.9, with the JSON Schema meta-schema of
//    @json-schema-tools/meta-schema 1.8.0 that it refers to), with ajv;
// 2. loads it with @open-rpc/schema-utils-js's parseOpenRPCDocument, which
//    validates it again and resolves every $ref.
// Prints {"methods": [...names], "dereferenced": {...}} on success; on failure
// prints the errors to stderr and exits 1.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseOpenRPCDocument } from "@open-rpc/schema-utils-js";

const require = createRequire(import.meta.url);
const Ajv = require("ajv");
const here = new URL(".", import.meta.url);
const load = (name) => JSON.parse(readFileSync(new URL(name, here), "utf8"));

const document = JSON.parse(readFileSync(process.argv[2], "utf8"));
const ajv = new Ajv({ allErrors: true });
ajv.addSchema(load("json-schema-tools-meta-schema-1.8.0.json"), "https://meta.json-schema.tools");
const validate = ajv.compile(load("openrpc-meta-schema-1.14.9.json"));
if (!validate(document)) {
  console.error("not a valid OpenRPC document:", JSON.stringify(validate.errors, null, 2));
  process.exit(1);
}
try {
  const parsed = await parseOpenRPCDocument(document);
  const byName = Object.fromEntries(parsed.methods.map((m) => [m.name, m]));
  console.log(JSON.stringify({ methods: parsed.methods.map((m) => m.name), dereferenced: byName }));
} catch (error) {
  console.error("parseOpenRPCDocument refused the document:", error.message);
  process.exit(1);
}
