// Posts with the fhir-kit-client library, as a FHIR-speaking system would. Reads a JSON job from
// stdin: {"base": URL, "token": T, "steps": [{"op": "create"|"transaction"|"batch", "body": ...}]}
// and prints one JSON line per step: {"status": S, "body": ...} (errors included).
import { Client } from 'fhir-kit-client';

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const job = JSON.parse(input);
  const client = new Client({ baseUrl: job.base, bearerToken: job.token });
  for (const step of job.steps) {
    try {
      let body;
      if (step.op === 'create') {
        body = await client.create({ resourceType: step.body.resourceType, body: step.body });
      } else if (step.op === 'transaction') {
        body = await client.transaction({ body: step.body });
      } else {
        body = await client.batch({ body: step.body });
      }
      console.log(JSON.stringify({ ok: true, body }));
    } catch (e) {
      const data = e.response ? e.response.data : String(e);
      console.log(JSON.stringify({ ok: false, status: e.response && e.response.status, body: typeof data === 'string' ? JSON.parse(data) : data }));
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
