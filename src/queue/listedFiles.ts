/**
 * Input files as a listing shows them: what each is, without its content (the API's
 * ListedFile). A page of jobs that each carried megabytes of input was too long a
 * string to build; one job's full read still has the contents.
 */
export interface ListedFile {
  path: string;
  encoding?: 'utf8' | 'base64';
  mode?: number;
  /** Its size once decoded. */
  bytes: number;
}

interface StoredFile {
  path: string;
  content: string;
  encoding?: 'utf8' | 'base64';
  mode?: number;
}

export function listedFile(file: StoredFile): ListedFile {
  const { content, ...rest } = file;
  // Decoded, not estimated from the length: base64 may hold whitespace.
  const bytes =
    file.encoding === 'base64'
      ? Buffer.from(content, 'base64').length
      : Buffer.byteLength(content, 'utf8');
  return { ...rest, bytes };
}

/** The spec with its input files listed; entries listed already pass through. */
export function listedSpec(spec: unknown): unknown {
  const files = (spec as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) return spec;
  return {
    ...(spec as Record<string, unknown>),
    files: (files as Array<StoredFile | ListedFile>).map((f) =>
      'content' in f ? listedFile(f) : f,
    ),
  };
}
