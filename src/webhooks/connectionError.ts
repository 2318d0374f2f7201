/**
 * OpenSSL's errors as Node passes them on: "80DC0A81A17F0000:error:0A00010B:SSL
 * routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/
 * ssl3_record.c:350:". Thread id, error code, function and the source file of Node's own
 * build say nothing to whoever runs the receiver; the library and the reason do.
 */
const OPENSSL_ERROR = /[0-9A-F]+:error:[0-9A-F]+:([^:]+):[^:]*:([^:]+):[^:\s]*:\d+:/g;

/**
 * A failed connection as a delivery's last_error shows it: Node's message with OpenSSL's
 * internals taken out, and the receiver's host:port where the message does not name it.
 * The code alone said too little: "EPROTO" for an https URL whose port speaks plain http
 * (the message says "wrong version number"), "ECONNREFUSED" without the address refused.
 */
export function connectionError(error: NodeJS.ErrnoException, url: URL): string {
  const message = error.message.replace(OPENSSL_ERROR, '$1: $2').replace(/\s+/g, ' ').trim();
  const text = !error.code
    ? message
    : !message
      ? error.code
      : message.includes(error.code)
        ? message
        : `${error.code} (${message})`;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const where = `${url.hostname}:${port}`;
  return (text.includes(where) ? text : `${text} at ${where}`).slice(0, 300);
}
