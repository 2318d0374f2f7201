/**
 * What the AWS SDK throws, told apart by the answer's HTTP status: S3-compatible servers
 * agree on the status more often than on the error's name (a HEAD has no body to name it).
 */
export function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

export function isNotFoundError(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return httpStatus(error) === 404 || name === 'NotFound' || name === 'NoSuchKey';
}

/** 412: a conditional write found the key taken, or a read found another version. */
export function isPreconditionFailed(error: unknown): boolean {
  return (
    httpStatus(error) === 412 || (error as { name?: string } | null)?.name === 'PreconditionFailed'
  );
}

/** Worth another try: throttling, a server error, or no answer at all. */
export function isRetryable(error: unknown): boolean {
  const status = httpStatus(error);
  return status === undefined || status === 429 || status >= 500;
}

/**
 * S3 itself did not answer (refused, reset, timed out after the SDK's own retries) or
 * answered 5xx/429: the store is down or overloaded, not this request wrong. Only errors
 * the SDK raised count (they carry $metadata): a database error or a RunboxError of the
 * same call is not S3's.
 */
export function isUnanswered(error: unknown): boolean {
  const metadata = (error as { $metadata?: unknown } | null)?.$metadata;
  return typeof metadata === 'object' && metadata !== null && isRetryable(error);
}

/** What went wrong, in a few words: the socket's code, else the status, else the message. */
export function s3Reason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const status = httpStatus(error);
  if (status !== undefined) return `HTTP ${status}`;
  return error instanceof Error ? error.message : String(error);
}
