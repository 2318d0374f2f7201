import { CURRENT_CONTRACT } from './contract/contract.js';
import { RUNBOX_COMMIT, RUNBOX_VERSION } from './version.js';

/** What `runbox --version` prints: build, contract and the Node it runs on. */
export function versionText(): string {
  return [
    `runbox ${RUNBOX_VERSION} (commit ${RUNBOX_COMMIT})`,
    `contract ${CURRENT_CONTRACT.name} ${CURRENT_CONTRACT.version} sha256:${CURRENT_CONTRACT.fingerprint}`,
    `node ${process.version}`,
  ].join('\n');
}

/** The same as one JSON document, for `runbox --version --json`. */
export function versionInfo(): {
  version: string;
  commit: string;
  contract: { name: string; version: string; fingerprint: string };
  node: string;
} {
  return {
    version: RUNBOX_VERSION,
    commit: RUNBOX_COMMIT,
    contract: {
      name: CURRENT_CONTRACT.name,
      version: CURRENT_CONTRACT.version,
      fingerprint: CURRENT_CONTRACT.fingerprint,
    },
    node: process.version,
  };
}
