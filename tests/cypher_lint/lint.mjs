// Lint Cypher statements with Neo4j's own front end (@neo4j-cypher/language-support).
//
// stdin:  {"schema": {labels, relationshipTypes, propertyKeys, graphSchema},
//          "statements": [{"name", "query", "parameters": {name: example value}}]}
// stdout: {"results": [{"name", "diagnostics": [{"severity", "deprecated", "message", "offset"}]}]}
//
// Each statement is linted as Cypher 5 against the schema with only its own parameters
// declared, so a statement using a parameter it was not given is an error. Functions are
// checked against the registry the package ships (a Neo4j server's SHOW FUNCTIONS, with
// deprecations), so a misspelt or deprecated function is reported too. Severity is
// "error", "warning", "information" or "hint"; "deprecated" marks a deprecation, whether
// the front end tags it or only says so in the message.
import { lintCypherQuery, testData } from '@neo4j-cypher/language-support';

const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };
const DEPRECATED_TAG = 2; // DiagnosticTag.Deprecated in the language server protocol

function describe(diagnostic) {
  return {
    severity: SEVERITY[diagnostic.severity] ?? `unknown (${diagnostic.severity})`,
    deprecated:
      (diagnostic.tags ?? []).includes(DEPRECATED_TAG) || /deprecated/i.test(diagnostic.message),
    message: diagnostic.message,
    offset: diagnostic.offsets?.start ?? null,
  };
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const { schema, statements } = JSON.parse(await readStdin());
const results = statements.map(({ name, query, parameters }) => {
  const dbSchema = {
    ...schema,
    functions: testData.mockSchema.functions,
    parameters,
    defaultLanguage: 'CYPHER 5',
  };
  const { diagnostics } = lintCypherQuery(query, dbSchema);
  return { name, diagnostics: diagnostics.map(describe) };
});
process.stdout.write(JSON.stringify({ results }));
