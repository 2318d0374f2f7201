/* global require, Buffer */
// The least any Node client can do for `runbox submit FILE --server URL` (bench/cases/cli.mjs):
// one POST of the same body over node:net, the job's id printed with writeSync, no
// config, no argument parsing, no error handling. Its time over `curl` is the floor a
// Node-based runbox client (bundle or single executable) cannot go under on this machine.
/* eslint-disable @typescript-eslint/no-require-imports */
const net = require('node:net');
const { readFileSync, writeSync } = require('node:fs');

const [file, server] = process.argv.slice(2);
const url = new URL('/v1/jobs', server);
const body = Buffer.from(
  JSON.stringify({
    script: { path: 'job.sh', content: readFileSync(file, 'utf8') },
    runtime: 'shell',
  }),
);
const socket = net.connect(Number(url.port), url.hostname, () => {
  socket.write(
    `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\nconnection: close\r\n\r\n`,
  );
  socket.write(body);
});
const chunks = [];
socket.on('data', (c) => chunks.push(c));
socket.on('end', () => {
  const text = Buffer.concat(chunks).toString();
  const id = /"id":"([^"]+)"/.exec(text)?.[1];
  if (!id) throw new Error(`no job id in the answer: ${text.slice(0, 200)}`);
  writeSync(1, `${id}\n`);
});
