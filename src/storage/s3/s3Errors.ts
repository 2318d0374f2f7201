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
