import { Type } from '@sinclair/typebox';
import { Text } from '../../spec/textSchema.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OutputEntry } from '../../contract/resultSchema.js';
import { RunboxError } from '../../errors/index.js';
import type { BlobStore } from '../../storage/BlobStore.js';
import { createTarZstStream } from '../../storage/tarZst.js';
import type { JobService } from '../jobService.js';
import { missingBlobHint, withMissingHint } from '../missingBlob.js';
import { FINAL_STATUSES } from '../jobView.js';
import { checkOutputPath } from '../outputPath.js';
import {
  ConditionalHeaders,
  RANGE_HEADERS,
  STORED_HEADERS,
  UNSATISFIABLE_HEADERS,
  attachment,
  bodyOf,
  sendStoredBytes,
} from '../storedBytes.js';
import {
  Body,
  ErrorBodySchema,
  IdParams,
  NoBody,
  OutputManifestSchema,
  described,
} from '../schemas.js';
import type { Api } from '../typeProvider.js';

/** One stored output file, as a download: never shown inline on the API's origin. */
async function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  store: BlobStore,
  entry: OutputEntry & { sha256: string },
  hint: string,
) {
  void reply.header('content-disposition', attachment(entry.path));
  const compressedSize = entry.compressed_size;
  return sendStoredBytes(request, reply, {
    sha256: entry.sha256,
    size: entry.size,
    type: 'application/octet-stream',
    noun: 'file',
    open: (range) => withMissingHint(store.openDecompressed(entry.sha256, range), hint),
    compressed:
      compressedSize === null
        ? null
        : {
            size: compressedSize,
            open: () => withMissingHint(store.openCompressed(entry.sha256), hint),
          },
  });
}

const header = (description: string) => ({ description, schema: { type: 'string' } });
const FILE_HEADERS = {
  ...STORED_HEADERS,
  vary: header('accept-encoding'),
  'content-disposition': header('attachment; filename="..."; filename*=UTF-8\'\'...'),
};
const FileHeaders = Type.Object({
  ...ConditionalHeaders,
  'accept-encoding': Type.Optional(
    Type.String({ description: 'With zstd the stored frames are sent as they are' }),
  ),
});

/** `sharedQueue`: several nodes share the queue (see missingBlobHint). */
export function registerOutputRoutes(
  app: Api,
  jobs: JobService,
  store: BlobStore,
  sharedQueue = false,
): void {
  const hint = missingBlobHint(store, sharedQueue);
  const manifestOf = async (id: string) => {
    const job = await jobs.get(id);
    if (!job.result) {
      // "yet" only while it may still run: a job cancelled in the queue never will.
      const why = FINAL_STATUSES.has(job.status)
        ? `ended ${job.status} without a result, so it has no outputs`
        : `has no outputs yet (status ${job.status})`;
      throw new RunboxError('NotFound', `job ${id} ${why}`, { field: 'id' });
    }
    return job.result;
  };

  app.get(
    '/v1/jobs/:id/outputs',
    {
      schema: {
        operationId: 'getOutputManifest',
        summary: "The job's output manifest: path, size, sha256, compressed size",
        tags: ['outputs'],
        params: IdParams,
        response: {
          200: described(OutputManifestSchema, 'Stored outputs and the entries skipped'),
          404: ErrorBodySchema,
        },
      },
    },
    async (request) => {
      const result = await manifestOf(request.params.id);
      return { outputs: result.outputs, skipped: result.skipped_outputs };
    },
  );

  app.get(
    '/v1/jobs/:id/outputs.tar.zst',
    {
      schema: {
        operationId: 'getOutputsArchive',
        summary: 'Every output as one tar.zst stream, built on the fly',
        tags: ['outputs'],
        params: IdParams,
        response: {
          200: Body('application/zstd', 'A tar archive, zstd-compressed'),
          404: ErrorBodySchema,
        },
        responseHeaders: { 200: { 'content-disposition': header('attachment; filename') } },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const result = await manifestOf(id);
      void reply
        .type('application/zstd')
        .header('content-disposition', attachment(`${id}-outputs.tar.zst`));
      return reply.send(
        await bodyOf(request, async () => createTarZstStream(store, result.outputs)),
      );
    },
  );

  app.get(
    '/v1/jobs/:id/outputs/*',
    {
      schema: {
        operationId: 'getOutputFile',
        summary: 'One output file',
        description:
          'zstd frames as stored when Accept-Encoding allows zstd (Content-Encoding: zstd), ' +
          'else decompressed; one Range on the decompressed bytes; ETag and If-None-Match.',
        tags: ['outputs'],
        params: Type.Object({
          id: Text({ maxLength: 64, description: 'A job id' }),
          // fastify names a wildcard "*"; the document calls it path (see openapi.ts).
          '*': Type.String({ description: 'A path from the output manifest, / between parts' }),
        }),
        headers: FileHeaders,
        response: {
          200: Body('application/octet-stream', 'The file'),
          206: Body('application/octet-stream', 'The requested range'),
          304: NoBody('Not modified: If-None-Match names this ETag'),
          404: ErrorBodySchema,
          416: ErrorBodySchema,
        },
        responseHeaders: {
          200: {
            ...FILE_HEADERS,
            'content-encoding': header('zstd when the frames went as stored'),
          },
          206: { ...FILE_HEADERS, ...RANGE_HEADERS },
          304: FILE_HEADERS,
          416: { ...UNSATISFIABLE_HEADERS, vary: header('accept-encoding') },
        },
      },
    },
    async (request, reply) => {
      const raw = request.params['*'];
      const result = await manifestOf(request.params.id);
      // A manifest entry is served by its exact name first: `100%25.txt` or `a\\b` are
      // legal file names a job may write, which the checks below would refuse as
      // traversal. Only a name that is no entry goes through them, for a clear 400.
      const entry = result.outputs.find((o) => o.path === raw);
      if (!entry) {
        const path = checkOutputPath(raw);
        // The manifest lists it as skipped: "has no output" read as a wrong name.
        const skipped = result.skipped_outputs.find((o) => o.path === path);
        throw new RunboxError(
          'NotFound',
          skipped
            ? `job ${request.params.id}'s "${path}" was skipped when its outputs were collected (${skipped.reason}): only files are stored`
            : `job ${request.params.id} has no output "${path}"`,
          { field: 'path' },
        );
      }
      const path = entry.path;
      const sha256 = entry.sha256;
      if (entry.type !== 'file' || !sha256) {
        throw new RunboxError(
          'NotFound',
          `"${path}" is a symlink to "${entry.link_target}", not a stored file`,
          { field: 'path' },
        );
      }
      return sendFile(request, reply, store, { ...entry, sha256 }, hint);
    },
  );
}
