import { runCli } from './cli/index.js';
import { startRunbox } from './runbox.js';

runCli(process.argv.slice(2), { startRunbox }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 70;
  },
);
