/**
 * Test-only entry: `runbox` as a build that speaks another result contract. There is no
 * production switch for this; the contract is injected through startRunbox's `contract`
 * option (which reaches the WorkerPool constructor), and everything else is the real
 * CLI, so the exit code and message are exactly what `runbox worker` would give.
 *
 *   node --import tsx test/helpers/incompatibleWorker.ts CONTRACT.json worker --config F ...
 *
 * CONTRACT.json is a contract file (e.g. fixtures/contracts/legacy-flat-metrics.json).
 */
import { readFileSync } from 'node:fs';
import { runCli } from '../../src/cli/index.js';
import type { ContractDescriptor } from '../../src/contract/contract.js';
import { startRunbox } from '../../src/runbox.js';

const [contractFile, ...argv] = process.argv.slice(2);
if (!contractFile || argv.length === 0) {
  console.error('usage: incompatibleWorker.ts CONTRACT.json <runbox arguments>');
  process.exit(64);
}
const contract = JSON.parse(readFileSync(contractFile, 'utf8')) as ContractDescriptor;

runCli(argv, {
  startRunbox: (config, options) => startRunbox(config, { ...options, contract }),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 70;
  },
);
