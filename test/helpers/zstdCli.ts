import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { FrameScanner } from '../../src/storage/zstd/frameFormat.js';

/** Runs a command with `input` on stdin; resolves with its stdout, rejects on a non-zero exit. */
export function pipeThrough(command: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err}`)),
    );
    child.stdin.end(input);
  });
}

/** Decodes with the zstd command-line tool: the independent decoder the stored frames must satisfy. */
export function zstdDecode(compressed: Buffer): Promise<Buffer> {
  return pipeThrough('zstd', ['-d', '-c', '-q'], compressed);
}

/** The content size of each frame of a framed blob, read by the scanner; it must end on a frame boundary. */
export function frameContentSizes(compressed: Buffer): number[] {
  const scanner = new FrameScanner();
  const sizes: number[] = [];
  let pos = 0;
  while (pos < compressed.length) {
    pos += scanner.feed(compressed, pos);
    if (scanner.frameEnded) {
      sizes.push(scanner.header!.contentSize!);
      scanner.reset();
    }
  }
  expect(scanner.atBoundary).toBe(true);
  return sizes;
}
