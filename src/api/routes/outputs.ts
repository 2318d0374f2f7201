import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OutputEntry } from '../../contract/resultSchema.js';
import { RunboxError } from '../../errors/index.js';
import type { BlobStore } from '../../storage/BlobStore.js';
import { createTarZstStream } from '../../storage/tarZst.js';
import type { JobService } from '../jobService.js';
import { checkOutputPath } from '../outputPath.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** Parses a single `bytes=a-b` range against size; null for none, 'invalid' for 416. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
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
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  const range = parseRange(request.headers.range, entry.size);
  if (range === 'invalid') {
    // The JSON type again: the octet-stream set above makes fastify refuse an object body (500).
    return reply
      .status(416)
      .type('application/json; charset=utf-8')
      .header('content-range', `bytes */${entry.size}`)
      .send({
        error: {
          type: 'InvalidSpec',
          message: `range ${request.headers.range} is outside 0-${entry.size - 1}`,
          field: 'range',
        },
      });
  }
  if (range) {
    void reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${entry.size}`);
    void reply.header('content-length', range.end - range.start + 1);
    return reply.send(store.openDecompressed(entry.sha256!, range));
  }
  if (acceptsZstd(request) && entry.compressed_size !== null) {
    // The stored frames go out as they are: no recompression on the way out.
    void reply.header('content-encoding', 'zstd').header('content-length', entry.compressed_size);
    return reply.send(store.openCompressed(entry.sha256!));
  }
  void reply.header('content-length', entry.size);
  return reply.send(store.openDecompressed(entry.sha256!));
}

export function registerOutputRoutes(
  app: FastifyInstance,
  jobs: JobService,
  store: BlobStore,
): void {
  const manifestOf = (id: string) => {
    const job = jobs.get(id);
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
        summary: "The job's output manifest: path, size, sha256, compressed size",
        params: IdParams,
      },
    },
    async (request) => {
      const result = manifestOf((request.params as { id: string }).id);
      return { outputs: result.outputs, skipped: result.skipped_outputs };
    },
  );

  app.get(
    '/v1/jobs/:id/outputs.tar.zst',
    {
      schema: { summary: 'Every output as one tar.zst stream, built on the fly', params: IdParams },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const result = manifestOf(id);
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
        summary:
          'One output file: zstd frames as stored when Accept-Encoding allows zstd, else decompressed; Range on identity',
        params: Type.Object({ id: Type.String({ maxLength: 64 }), '*': Type.String() }),
      },
    },
    async (request, reply) => {
      const params = request.params as { id: string; '*': string };
      const path = checkOutputPath(params['*']);
      const result = manifestOf(params.id);
      const entry = result.outputs.find((o) => o.path === path);
      if (!entry)
        throw new RunboxError('NotFound', `job ${params.id} has no output "${path}"`, {
          field: 'path',
        });
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
