/**
 * The script and input files of one job, decoded, in all. They travel inside the spec
 * (JSON, base64 for bytes) and are held in memory a few times over on the way: 450 MB of
 * --file died after 89 s and 3.4 GB with "Internal: Invalid string length" (V8's
 * longest string). Larger data belongs in an image, or fetched by the job.
 */
export const MAX_INPUT_BYTES = 128 * 1024 * 1024;
/** Says where larger inputs go, for the spec's check and the CLI's. */
export const INPUT_BYTES_FIX =
  'the script and files of one job hold at most 128 MiB in all; put larger data in an image, or let the job fetch it (network: bridge)';
