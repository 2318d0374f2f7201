import { spawn } from 'node:child_process';

/** Decodes with the zstd command-line tool: the independent decoder the stored frames must satisfy. */
export function zstdDecode(compressed: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`zstd -d exited ${code}: ${err}`)),
    );
    child.stdin.end(compressed);
  });
}
