// The batch protocol shared by di.mjs and sdjwt.mjs: a JSON job list on stdin, one JSON result per
// job on stdout, one Node process per batch.
//
//   stdin:  {"jobs": [{"op": "issue", ...}, {"op": "verify", "credential": {"$result": 0,
//                                                           "path": "document"}}]}
//   stdout: {"results": [{"ok": true, ...}, {"ok": false, "error": {"name": ..., "message": ...}}]}
//
// A top-level job field of the form {"$result": i, "path": "a.b"} is replaced by that member of
// the result of the earlier job i, so a batch can issue and then present what it issued.

import path from 'node:path';
import {fileURLToPath} from 'node:url';

function resolveReferences(job, results) {
  const resolved = {};
  for(const [name, value] of Object.entries(job)) {
    if(value && typeof value === 'object' && !Array.isArray(value) && '$result' in value) {
      const earlier = results[value.$result];
      if(!earlier || !earlier.ok) {
        throw new Error(`job field "${name}" refers to job ${value.$result}, which did not succeed`);
      }
      resolved[name] = (value.path || '').split('.').filter(Boolean)
        .reduce((node, key) => (node == null ? undefined : node[key]), earlier);
    } else {
      resolved[name] = value;
    }
  }
  return resolved;
}

export async function runJob(operations, job, results = []) {
  const operation = operations[job && job.op];
  if(!operation) {
    return {ok: false, error: {name: 'UnknownOperation', message: `Unknown op ${job && job.op}`}};
  }
  try {
    return {ok: true, ...(await operation(resolveReferences(job, results)))};
  } catch(error) {
    return {ok: false, error: {name: error.name || 'Error', message: String(error.message)}};
  }
}

export async function runBatch(operations, jobs) {
  const results = [];
  for(const job of jobs) {
    results.push(await runJob(operations, job, results));
  }
  return results;
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function check(condition, message) {
  if(!condition) {
    throw new Error(`selfcheck failed: ${message}`);
  }
}

// Run `operations` as a CLI when `moduleUrl` is the script node was started with.
export function cli(moduleUrl, operations, selfcheck) {
  if(!process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) {
    return;
  }
  const main = async () => {
    if(process.argv.includes('--selfcheck')) {
      await selfcheck();
      return;
    }
    const input = JSON.parse(await readStdin());
    const jobs = Array.isArray(input) ? input : input.jobs;
    process.stdout.write(JSON.stringify({results: await runBatch(operations, jobs)}));
  };
  main().catch(error => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  });
}
