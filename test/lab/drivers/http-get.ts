/**
 * For the IPv6 lab: `http.get(httpRequestTarget(url))` for the URL in argv[2] (a `url` that
 * discovery printed, zoned link-local ones included), and prints `{ status, body }` as JSON, or
 * `{ error }` when the URL is refused or the request fails.
 */
import { get } from 'node:http';
import { httpRequestTarget } from '../../../src/index.js';

const url = process.argv[2] ?? '';
const target = httpRequestTarget(url);
const print = (outcome: object) => process.stdout.write(`${JSON.stringify(outcome)}\n`);
if (target === undefined) {
  print({ error: `httpRequestTarget refused ${url}` });
} else {
  const request = get({ ...target, timeout: 10_000 }, (response) => {
    let body = '';
    response.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    response.on('end', () => print({ status: response.statusCode, body }));
  });
  request.on('timeout', () => request.destroy(new Error('timeout')));
  request.on('error', (error: NodeJS.ErrnoException) =>
    print({ error: error.code ?? error.message }),
  );
}
