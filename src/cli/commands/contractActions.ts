import { readFileSync, writeFileSync } from 'node:fs';
import {
  checkCompatibility,
  contractLabelValue,
  formatReport,
  type PeerContract,
} from '../../contract/compatibility.js';
import { CURRENT_CONTRACT } from '../../contract/contract.js';
import { EX_CONFIG, RunboxError } from '../../errors/index.js';
import { IMAGE_CONTRACT_LABEL } from '../../executor/imageContract.js';
import { ApiClient } from '../client.js';
import type { CliContext, GlobalFlags } from '../context.js';

async function loadPeer(
  ctx: CliContext,
  flags: GlobalFlags,
  against: string,
): Promise<{ peer: PeerContract | null; label: string }> {
  if (/^https?:\/\//.test(against)) {
    const config = ctx.config(flags);
    const { body } = await new ApiClient(against, config.token).json<PeerContract>(
      'GET',
      '/v1/contract',
    );
    return { peer: body, label: `server ${against}` };
  }
  if (against.startsWith('image:')) {
    const image = against.slice('image:'.length);
    if (!image) {
      // The engine answers an empty name with a redirect that crashed the check (exit 1).
      throw new RunboxError(
        'UsageError',
        '--against image: needs an image name, e.g. image:myorg/worker:1.2 (see `runbox contract --help`)',
        { field: 'against' },
      );
    }
    const config = ctx.config(flags);
    // dockerode loads only for an image check, not for every contract command.
    const [{ createDocker }, { readImageContract }] = await Promise.all([
      import('../../executor/dockerClient.js'),
      import('../../executor/imageContract.js'),
    ]);
    try {
      const { contract } = await readImageContract(createDocker(config.dockerSocket), image);
      return { peer: contract, label: `image ${image}` };
    } catch (error) {
      if (error instanceof RunboxError) throw error;
      throw new RunboxError(
        'ImageUnavailable',
        `cannot inspect image ${image}: ${(error as Error).message}`,
        {
          field: 'against',
          cause: error,
        },
      );
    }
  }
  let text: string;
  try {
    text = readFileSync(against, 'utf8');
  } catch (error) {
    throw new RunboxError(
      'InvalidConfig',
      `cannot read contract file ${against}: ${(error as NodeJS.ErrnoException).code}`,
      {
        field: 'against',
      },
    );
  }
  let parsed: PeerContract;
  try {
    parsed = JSON.parse(text) as PeerContract;
  } catch (error) {
    throw new RunboxError('InvalidConfig', `${against} is not JSON: ${(error as Error).message}`, {
      field: 'against',
    });
  }
  if (
    typeof parsed?.name !== 'string' ||
    typeof parsed?.version !== 'string' ||
    typeof parsed?.fingerprint !== 'string'
  ) {
    throw new RunboxError(
      'InvalidConfig',
      `${against} is not a contract file (needs name, version, fingerprint, schema); write one with \`runbox contract export\``,
      {
        field: 'against',
      },
    );
  }
  return { peer: parsed, label: against };
}

export interface ContractArgs extends GlobalFlags {
  action: string;
  out?: string;
  against?: string;
  requireLabel?: boolean;
}

/** `runbox contract` itself: loaded only when it runs (the contract's schema is TypeBox). */
export async function runContract(
  ctx: CliContext,
  args: ContractArgs,
  setCode: (code: number) => void,
): Promise<void> {
  const { io } = ctx;
  const full = JSON.stringify(CURRENT_CONTRACT, null, 2);
  if (args.action === 'export') {
    if (args.out) writeFileSync(args.out, `${full}\n`);
    else io.out(full);
    return setCode(0);
  }
  if (args.action === 'check') {
    if (!args.against)
      throw new RunboxError(
        'UsageError',
        'check needs --against FILE | http(s)://server | image:NAME (see `runbox contract --help`)',
        { field: 'against' },
      );
    const { peer, label } = await loadPeer(ctx, args, args.against);
    if (!peer) {
      // An explicit --no-require-label wins over CI=true: some gated images embed no runbox.
      const strict = args.requireLabel ?? ctx.config(args).requireImageLabel;
      if (strict) {
        throw new RunboxError(
          'ImageUnlabelled',
          `${label} carries no io.runbox.contract label, so nothing proves it was built with this runbox ` +
            `(contract ${CURRENT_CONTRACT.version}): an image built before labels existed looks exactly like this. ` +
            `Rebuild it with the label ${IMAGE_CONTRACT_LABEL}='${contractLabelValue(CURRENT_CONTRACT)}', ` +
            'or pass --no-require-label if the image embeds no runbox component.',
          { field: 'io.runbox.contract' },
        );
      }
      io.out(
        `${label} carries no io.runbox.contract label: it embeds no runbox component, nothing to check`,
      );
      return setCode(0);
    }
    const report = checkCompatibility(peer);
    if (args.json) io.out(JSON.stringify(report, null, 2));
    else (report.compatible ? io.out : io.err)(formatReport(report, label));
    return setCode(report.compatible ? 0 : EX_CONFIG);
  }
  if (args.json) io.out(full);
  else
    io.out(
      `${CURRENT_CONTRACT.name} ${CURRENT_CONTRACT.version} sha256:${CURRENT_CONTRACT.fingerprint}`,
    );
  return setCode(0);
}
