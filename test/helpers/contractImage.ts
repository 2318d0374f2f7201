import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { contractLabelValue, type PeerContract } from '../../src/contract/compatibility.js';
import type { ContractDescriptor } from '../../src/contract/contract.js';
import { IMAGE_CONTRACT_LABEL } from '../../src/executor/imageContract.js';

const docker = new Docker({
  socketPath: process.env.RUNBOX_DOCKER_SOCKET ?? '/var/run/docker.sock',
});

const CONTRACT_FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'contracts');

/** A committed contract file from fixtures/contracts/ (e.g. `legacy-flat-metrics.json`). */
export function contractFixture(name: string): ContractDescriptor {
  return JSON.parse(readFileSync(join(CONTRACT_FIXTURES, name), 'utf8')) as ContractDescriptor;
}

/**
 * Builds `tag` FROM runbox-test/shell:latest through the Engine API, offline (the base
 * is local), with the `io.runbox.contract` label naming `contract` (a string is used as
 * the raw label value), or no label at all when contract is null, and `more` Dockerfile
 * lines after the FROM. Remove it with removeImage().
 */
export async function buildContractImage(
  tag: string,
  contract: PeerContract | string | null,
  more = '',
): Promise<void> {
  const context = pack();
  context.entry({ name: 'Dockerfile' }, `FROM runbox-test/shell:latest\n${more}`);
  context.finalize();
  const tar = await buffer(context);
  const stream = await docker.buildImage(Readable.from([tar]), {
    t: tag,
    // The build API's `labels` sets image labels without quoting JSON into a Dockerfile.
    labels:
      contract === null
        ? {}
        : {
            [IMAGE_CONTRACT_LABEL]:
              typeof contract === 'string' ? contract : contractLabelValue(contract),
          },
    pull: false,
    rm: true,
  });
  const events = await new Promise<Array<{ error?: string }>>((resolve, reject) =>
    docker.modem.followProgress(stream, (error, output) =>
      error ? reject(error) : resolve(output as Array<{ error?: string }>),
    ),
  );
  const failed = events.find((e) => e.error);
  if (failed) throw new Error(`building ${tag} failed: ${failed.error}`);
}

/** The image's labels as the engine reports them. */
export async function imageLabels(tag: string): Promise<Record<string, string>> {
  const info = await docker.getImage(tag).inspect();
  return info.Config?.Labels ?? {};
}

export async function removeImage(tag: string): Promise<void> {
  await docker
    .getImage(tag)
    .remove({ force: true })
    .catch(() => {});
}
