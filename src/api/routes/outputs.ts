import { Type } from '@sinclair/typebox';
import fresh from 'fresh';
import rangeParser from 'range-parser';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OutputEntry } from '../../contract/resultSchema.js';
import { RunboxError } from '../../errors/index.js';
import type { BlobStore } from '../../storage/BlobStore.js';
import { createTarZstStream } from '../../storage/tarZst.js';
import type { JobService } from '../jobService.js';
import { errorBody } from '../errorHandler.js';
import { checkOutputPath } from '../outputPath.js';
import {
  Body,
  ErrorBodySchema,
  IdParams,
  NoBody,
  OutputManifestSchema,
  described,
} from '../schemas.js';
import type { Api } from '../typeProvider.js';

/**
 * The one range runbox serves, parsed by range-parser: null without a Range header,
 * 'invalid' (416) for anything but one satisfiable `bytes` range. Several ranges would
 * need a multipart answer, which no runbox client asks for, so they get 416 too.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'invalid' {
  if (header === undefined) return null;
  // range-parser drops a suffix longer than the file (its start falls below 0), yet RFC
  // 9110 14.1.2 makes it the whole file: a client asking for "the last 64 KiB" of a
  // smaller file would get 416. Clamp the suffix to the size before parsing.
  const suffix = /^\s*bytes\s*=\s*-\s*(\d+)\s*$/i.exec(header);
  if (suffix && size > 0 && Number(suffix[1]) > size) header = `bytes=-${size}`;
  const ranges = rangeParser(size, header, { combine: true });
  if (ranges === -1 || ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) {
    return 'invalid';
  }
  return { start: ranges[0]!.start, end: ranges[0]!.end };
}

function acceptsZstd(request: FastifyRequest): boolean {
  return /(^|[\s,])zstd(\s*;\s*q=(0?\.\d*[1-9]|1(\.0*)?))?(\s*(,|$))/i.test(
    request.headers['accept-encoding'] ?? '',
  );
}

async function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  store: BlobStore,
  entry: OutputEntry,
) {
  const etag = `"${entry.sha256}"`;
  void reply
    .header('etag', etag)
    .header('accept-ranges', 'bytes')
    .header('vary', 'accept-encoding');
  void reply.type('application/octet-stream');
  // fresh() reads If-None-Match as the RFC does: lists, weak tags and "*".
  if (fresh(request.headers, { etag })) return reply.status(304).send();
  // If-Range with anything but this ETag (another tag, or a date: no Last-Modified is
  // ever sent, so a date cannot be a strong match) asks for the whole file (RFC 9110 13.1.5).
  const ifRange = request.headers['if-range'];
  const range =
    ifRange !== undefined && (typeof ifRange !== 'string' || ifRange.trim() !== etag)
      ? null
      : parseRange(request.headers.range, entry.size);
  if (range === 'invalid') {
    // The JSON type again: the octet-stream set above makes fastify refuse an object body (500).
    return reply
      .status(416)
      .type('application/json; charset=utf-8')
      .header('content-range', `bytes */${entry.size}`)
      .send(
        errorBody(
          request,
          new RunboxError(
            'InvalidSpec',
            entry.size === 0
              ? `range ${request.headers.range} cannot be satisfied: the file is empty; ask without Range`
              : `range ${request.headers.range} is not one range inside 0-${entry.size - 1}`,
            { field: 'range' },
          ),
        ),
      );
  }
  if (range) {
    void reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${entry.size}`);
    void reply.header('content-length', range.end - range.start + 1);
    return reply.send(await store.openDecompressed(entry.sha256!, range));
  }
  if (acceptsZstd(request) && entry.compressed_size !== null) {
    // The stored frames go out as they are: no recompression on the way out.
    void reply.header('content-encoding', 'zstd').header('content-length', entry.compressed_size);
    return reply.send(await store.openCompressed(entry.sha256!));
  }
  void reply.header('content-length', entry.size);
  return reply.send(await store.openDecompressed(entry.sha256!));
}

const header = (description: string) => ({ description, schema: { type: 'string' } });
const FILE_HEADERS = {
  etag: header('"<sha256>" of the file; send it back in If-None-Match'),
  'accept-ranges': header('bytes'),
  vary: header('accept-encoding'),
};
const FileHeaders = Type.Object({
  range: Type.Optional(
    Type.String({ description: 'One bytes range (bytes=a-b, bytes=a-, bytes=-n), on identity' }),
  ),
  'if-none-match': Type.Optional(
    Type.String({ description: 'An ETag from an earlier answer: 304 when it still matches' }),
  ),
  'if-range': Type.Optional(
    Type.String({
      description: 'The ETag a partial copy came from: the Range is served only if it matches',
    }),
  ),
  'accept-encoding': Type.Optional(
    Type.String({ description: 'With zstd the stored frames are sent as they are' }),
  ),
});

export function registerOutputRoutes(app: Api, jobs: JobService, store: BlobStore): void {
  const manifestOf = async (id: string) => {
    const job = await jobs.get(id);
    if (!job.result) {
      throw new RunboxError('NotFound', `job ${id} has no outputs yet (status ${job.status})`, {
        field: 'id',
      });
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
        .header('content-disposition', `attachment; filename="${id}-outputs.tar.zst"`);
      return reply.send(createTarZstStream(store, result.outputs));
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
          id: Type.String({ maxLength: 64, description: 'A job id' }),
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
          206: { ...FILE_HEADERS, 'content-range': header('bytes a-b/size') },
          304: FILE_HEADERS,
          416: { 'content-range': header('bytes */size') },
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
        throw new RunboxError('NotFound', `job ${request.params.id} has no output "${path}"`, {
          field: 'path',
        });
      }
      const path = entry.path;
      if (entry.type !== 'file' || !entry.sha256) {
        throw new RunboxError(
          'NotFound',
          `"${path}" is a symlink to "${entry.link_target}", not a stored file`,
          { field: 'path' },
        );
      }
      return sendFile(request, reply, store, entry);
    },
  );
}
