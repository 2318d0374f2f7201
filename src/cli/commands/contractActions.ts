import {
  closeSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import {
  checkCompatibility,
  contractLabelValue,
  formatReport,
  type PeerContract,
} from '../../contract/compatibility.js';
import { CURRENT_CONTRACT } from '../../contract/contract.js';
import { EX_CONFIG, RunboxError } from '../../errors/index.js';
import { IMAGE_CONTRACT_LABEL } from '../../executor/imageContract.js';
import { isImageReference } from '../../spec/imageReference.js';
import { ApiClient, describedError, notOverTls, parseJson } from '../client.js';
import type { CliContext, GlobalFlags } from '../context.js';

const MiB = 1024 * 1024;
/** Far above any contract: the current one is about 10 KB. */
const MAX_CONTRACT_FILE_BYTES = 4 * MiB;

/**
 * The file as text, or null when it holds more than `max` bytes. Read whole, a wrong
 * --against cost a CI gate 10 s and 440 MB (the 122 MB binary), and /dev/zero or a
 * multi-GB file never answered at all.
 */
function readAtMost(path: string, max: number): string | null {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) return buffer.toString('utf8', 0, length);
      length += read;
      if (length > max) return null;
    }
  } finally {
    closeSync(fd);
  }
}

/** A runbox server answers GET /v1/contract at once; a gate must not wait for ever. */
const SERVER_ANSWER_TIMEOUT_MS = 15_000;

async function loadPeer(
  ctx: CliContext,
  flags: GlobalFlags,
  against: string,
): Promise<{ peer: PeerContract | null; label: string }> {
  if (/^https?:\/\//.test(against)) {
    const config = ctx.config(flags);
    // Capped and timed: read whole with no clock, a URL that accepted the connection and
    // never answered held the gate for ever, and one streaming an endless body took
    // 2.8 GB of memory in 30 s.
    const { status, text } = await new ApiClient(against, config.token)
      .request('GET', '/v1/contract', undefined, {
        maxBytes: MAX_CONTRACT_FILE_BYTES,
        idleMs: SERVER_ANSWER_TIMEOUT_MS,
      })
      .catch((error: unknown) => {
        // The client's own advice (--server, RUNBOX_SERVER) names flags this command
        // does not read: here the server is the one --against gives.
        if (error instanceof RunboxError && error.type === 'ServerUnavailable') {
          const cause = error.cause as { code?: string; cause?: { code?: string } } | undefined;
          const code = cause?.cause?.code ?? cause?.code;
          if (code === 'E2BIG') {
            throw new RunboxError(
              'InvalidConfig',
              `${against} answered GET /v1/contract with more than ${MAX_CONTRACT_FILE_BYTES / MiB} MiB, so not with a contract (about 10 KB); ` +
                'give --against the URL runbox serve answers at, a contract file, or image:NAME',
              { field: 'against' },
            );
          }
          if (code === 'ETIMEDOUT') {
            throw new RunboxError(
              'ServerUnavailable',
              `${against} did not answer GET /v1/contract within ${SERVER_ANSWER_TIMEOUT_MS / 1000} s; ` +
                'check that runbox serve answers at that URL, or give --against a contract file or image:NAME',
              { field: 'against' },
            );
          }
          throw new RunboxError(
            'ServerUnavailable',
            notOverTls(against, code) ??
              `cannot reach ${against} to read its contract (${code ?? 'no answer'}); ` +
                'start runbox serve there, or give --against a contract file or image:NAME',
            { field: 'against', cause: error },
          );
        }
        throw error;
      });
    const parsed = parseJson(text);
    const ok = status >= 200 && status <= 299;
    if (!ok) {
      const described = describedError(parsed);
      if (described) throw described;
    }
    // Only a contract may pass the gate: a proxy's login page or another web app at the
    // URL answered null here and passed as an unlabelled image would (exit 0).
    const peer = ok ? asPeerContract(parsed) : null;
    if (!peer) {
      const snippet = JSON.stringify(text.slice(0, 80));
      throw new RunboxError(
        'InvalidConfig',
        `${against} did not answer as a runbox server: GET /v1/contract answered ${status} ${snippet}, not a contract. ` +
          'Give --against the URL runbox serve answers at (with its path behind a reverse proxy), ' +
          'a contract file, or image:NAME',
        { field: 'against' },
      );
    }
    return { peer, label: `server ${against}` };
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
    if (!isImageReference(image)) {
      // So does a name with a path in it ("a/../b"): the same crash.
      throw new RunboxError(
        'UsageError',
        `--against image:${image} is not an image reference, e.g. image:myorg/worker:1.2`,
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
  let text: string | null;
  try {
    text = readAtMost(against, MAX_CONTRACT_FILE_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // `--against myorg/worker:1.2` (the image: prefix forgotten) read as a missing file.
    const hint =
      code === 'ENOENT' && /^[\w.-]+(\/[\w.-]+)*:[\w.-]+$/.test(against)
        ? `; to check an image's label write image:${against}`
        : '';
    throw new RunboxError('InvalidConfig', `cannot read contract file ${against}: ${code}${hint}`, {
      field: 'against',
    });
  }
  if (text === null) {
    throw new RunboxError(
      'InvalidConfig',
      `${against} is larger than ${MAX_CONTRACT_FILE_BYTES / MiB} MiB, so not a contract file (\`runbox contract export\` writes about 10 KB); give --against the file it wrote, a server URL or image:NAME`,
      { field: 'against' },
    );
  }
  let parsed: unknown;
  try {
    // A BOM (a UTF-8 file saved on Windows) is no part of the JSON.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new RunboxError('InvalidConfig', `${against} is not JSON: ${(error as Error).message}`, {
      field: 'against',
    });
  }
  const peer = asPeerContract(parsed);
  if (!peer) {
    throw new RunboxError(
      'InvalidConfig',
      `${against} is not a contract file (needs name, version, fingerprint, schema); write one with \`runbox contract export\``,
      {
        field: 'against',
      },
    );
  }
  return { peer, label: against };
}

/** The other side's contract, if the value is one: name, version and fingerprint strings. */
function asPeerContract(value: unknown): PeerContract | null {
  const c = value as Partial<PeerContract> | null;
  return typeof c?.name === 'string' &&
    typeof c.version === 'string' &&
    typeof c.fingerprint === 'string'
    ? (c as PeerContract)
    : null;
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'EIO']);

/**
 * export --out: a path that cannot be written is the caller's to fix, not a crash (70).
 * A regular file is written beside itself and renamed over: written in place, a full disk
 * left half a contract where the committed current.json had been, exit 64 telling the user
 * to pick a writable folder. A device or FIFO (`--out /dev/stdout`) is written as it is:
 * a rename would replace it.
 */
function writeContractFile(out: string, text: string): void {
  let existing: Stats | undefined;
  let partial: string | null = null;
  try {
    existing = statSync(out, { throwIfNoEntry: false });
    if (existing === undefined || existing.isFile()) partial = `${out}.${process.pid}.tmp`;
    writeFileSync(partial ?? out, text);
    if (partial) renameSync(partial, out);
  } catch (error) {
    if (partial) rmSync(partial, { force: true });
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (DISK_FULL.has(code)) {
      throw new RunboxError(
        'InsufficientStorage',
        `--out ${out} was not written (${code}): its disk is full or failing; ${existing ? 'the file there is unchanged' : 'no file was left'}. Free space there, or give --out a path on another disk`,
        { field: 'out', cause: error },
      );
    }
    throw new RunboxError(
      'UsageError',
      `--out ${out} cannot be written (${code}): give a file path in a folder that exists and this user can write in`,
      { field: 'out', cause: error },
    );
  }
}

export interface ContractArgs extends GlobalFlags {
  action: string;
  out?: string;
  against?: string;
  requireLabel?: boolean;
}

/**
 * Each action's own flags, refused on the others as `schedule add` refuses job timing:
 * `contract show --out f` printed to stdout and wrote no file, and `contract export
 * --against image:x` exported without checking anything, both exit 0.
 */
function refuseFlagsOfOtherActions(args: ContractArgs): void {
  for (const [flag, value, action] of [
    ['--out', args.out, 'export'],
    ['--against', args.against, 'check'],
    ['--require-label', args.requireLabel, 'check'],
  ] as const) {
    if (value !== undefined && args.action !== action) {
      throw new RunboxError(
        'UsageError',
        `${flag} does not apply to \`contract ${args.action}\`, only to \`contract ${action}\`; leave it out (see \`runbox contract --help\`)`,
        { field: flag.slice(2) },
      );
    }
  }
}

/** `runbox contract` itself: loaded only when it runs (the contract's schema is TypeBox). */
export async function runContract(
  ctx: CliContext,
  args: ContractArgs,
  setCode: (code: number) => void,
): Promise<void> {
  const { io } = ctx;
  refuseFlagsOfOtherActions(args);
  const full = JSON.stringify(CURRENT_CONTRACT, null, 2);
  if (args.action === 'export') {
    if (args.out) writeContractFile(args.out, `${full}\n`);
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
      const message = `${label} carries no io.runbox.contract label: it embeds no runbox component, nothing to check`;
      // --json promises one JSON document on stdout in every mode; the report's shape,
      // with no other side to name.
      if (args.json) {
        const { name, version, fingerprint } = CURRENT_CONTRACT;
        io.out(
          JSON.stringify(
            {
              compatible: true,
              reasons: [],
              differences: [],
              reader: { name, version, fingerprint },
              writer: null,
              message,
            },
            null,
            2,
          ),
        );
      } else io.out(message);
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
