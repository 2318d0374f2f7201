import yargs from 'yargs';
import { CURRENT_CONTRACT } from '../contract/contract.js';
import { RUNBOX_COMMIT, RUNBOX_VERSION } from '../version.js';

export function versionText(): string {
  return [
    `runbox ${RUNBOX_VERSION} (commit ${RUNBOX_COMMIT})`,
    `contract ${CURRENT_CONTRACT.name} ${CURRENT_CONTRACT.version} sha256:${CURRENT_CONTRACT.fingerprint}`,
    `node ${process.version}`,
  ].join('\n');
}

/** Parses argv, runs one command, and resolves with the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let code = 0;
  await yargs(argv)
    .scriptName('runbox')
    .version(false)
    .option('version', { type: 'boolean', describe: 'Print version, commit, contract and Node version' })
    .middleware((args) => {
      if (args.version) {
        console.log(versionText());
        process.exit(0);
      }
    }, true)
    .command('$0', false, () => {}, () => {
      code = 64;
      console.error('runbox: give a command; see runbox --help');
    })
    .strict()
    .help()
    .parseAsync();
  return code;
}
