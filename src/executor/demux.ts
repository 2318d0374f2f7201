import type { LogStream } from './Executor.js';

/**
 * Splits Docker's multiplexed stdout/stderr stream (used when the container has no
 * TTY): frames of an 8-byte header [stream, 0, 0, 0, size uint32 BE] and `size`
 * payload bytes. Payload is forwarded as it arrives, never buffered whole, so a huge
 * frame costs no memory; `onData` is awaited, so a slow sink slows the reader.
 * Stream 0 (stdin) cannot occur with stdin closed; it is counted as stdout.
 *
 * The engine sends one frame per line a job prints, so a job printing short lines
 * without pause (`yes`) arrives as thousands of frames per read. Consecutive frames of
 * the same stream within one read are handed over as one chunk: one await and one
 * sink call per read instead of per line, which kept /healthz slow (p99 > 100 ms)
 * while such a job ran. Memory stays bounded by the size of one read.
 */
export async function demuxDockerStream(
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  onData: (stream: LogStream, chunk: Buffer) => void | Promise<void>,
): Promise<void> {
  const header = Buffer.alloc(8);
  let headerFill = 0;
  let remaining = 0;
  let current: LogStream = 'stdout';
  const parts: Buffer[] = [];
  let partsStream: LogStream = 'stdout';
  const flush = async () => {
    if (parts.length === 0) return;
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    parts.length = 0;
    await onData(partsStream, data);
  };
  for await (const raw of source) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    while (chunk.length > 0) {
      if (remaining === 0) {
        const take = Math.min(8 - headerFill, chunk.length);
        chunk.copy(header, headerFill, 0, take);
        headerFill += take;
        chunk = chunk.subarray(take);
        if (headerFill < 8) break;
        headerFill = 0;
        current = header[0] === 2 ? 'stderr' : 'stdout';
        remaining = header.readUInt32BE(4);
        continue;
      }
      const take = Math.min(remaining, chunk.length);
      remaining -= take;
      if (partsStream !== current) await flush();
      partsStream = current;
      parts.push(chunk.subarray(0, take));
      chunk = chunk.subarray(take);
    }
    await flush();
  }
}
