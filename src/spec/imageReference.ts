/**
 * The engine's grammar for an image reference (distribution/reference), so that a
 * name reaches the engine only as a name. The engine puts the name in its URL path
 * (GET /images/{name}/json): "myorg/../x" passed a loose check, the engine answered
 * with a redirect to a cleaned path, and the Docker client's redirect request failed
 * outside any promise, which ended the whole server (and again at every restart while
 * the job was retried). Letters are matched in either case here; parseJobSpec refuses
 * an uppercase repository with its own message.
 */
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-f0-9:]+\\])(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[a-z][a-z0-9]*(?:[-_+.][a-z][a-z0-9]*)*:[0-9a-f]{32,}';
const REFERENCE = new RegExp(`^(?:${NAME}(?::${TAG})?(?:@${DIGEST})?|sha256:[0-9a-f]{64})$`, 'i');

/** The longest reference the engine takes. */
export const MAX_IMAGE_REFERENCE = 255;

/** True when `reference` is an image name (with tag or digest) or an image ID. */
export function isImageReference(reference: string): boolean {
  return reference.length <= MAX_IMAGE_REFERENCE && REFERENCE.test(reference);
}
