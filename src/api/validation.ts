import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import { InvalidSpecError } from '../errors/index.js';
import { valueErrorText } from '../spec/parseJobSpec.js';

/** An integer as a client writes one in a URL. */
const INTEGER_TEXT = /^-?\d+$/;
/** A number as JSON writes it. */
const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * TypeBox's Value.Convert reads a number as parseInt/Number do, so text that is not
 * the number it looks like became another one: limit=1.5 and limit=1e3 were 1,
 * attempts/1e20 read attempt 1, from=1e400 read from byte 1, wait_seconds=0x10 was 0.
 * Text that is not a plain integer (or, where a number is wanted, a JSON number with
 * a finite value) is left as text, so the check refuses it naming the field.
 */
function convertText(schema: TSchema, data: unknown): unknown {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
  const notNumbers: [string, string][] = [];
  if (properties && typeof data === 'object' && data !== null) {
    for (const [name, property] of Object.entries(properties)) {
      const raw = (data as Record<string, unknown>)[name];
      if (typeof raw !== 'string') continue;
      const wanted = (property as { type?: unknown }).type;
      const plain =
        wanted === 'integer'
          ? INTEGER_TEXT.test(raw) && Number.isSafeInteger(Number(raw))
          : wanted === 'number'
            ? NUMBER_TEXT.test(raw) && Number.isFinite(Number(raw))
            : true;
      if (!plain) notNumbers.push([name, raw]);
    }
  }
  // Convert changes its argument in place (and returns it), so the text is read above.
  const value: unknown = Value.Convert(schema, data);
  for (const [name, raw] of notNumbers) (value as Record<string, unknown>)[name] = raw;
  return value;
}

/**
 * Route schemas are TypeBox schemas, checked by TypeBox's compiler (the same one the
 * job spec parser uses), so a bad request gets InvalidSpec naming the field, in the
 * same words whether it came through the API or the CLI.
 */
export function registerValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const checker = TypeCompiler.Compile(schema as TSchema);
    const coerce = httpPart === 'querystring' || httpPart === 'params';
    return (data: unknown) => {
      // Query strings and params arrive as text: convert "10" to 10 where the schema wants it.
      const value = coerce ? convertText(schema as TSchema, data) : data;
      if (checker.Check(value)) return { value };
      const first = checker.Errors(value).First();
      const prefix = httpPart === 'body' ? '' : `${httpPart}.`;
      const field =
        prefix + ((first?.path ?? '').replace(/^\//, '').replace(/\//g, '.') || '(body)');
      const message = first
        ? valueErrorText(first, 'GET /openapi.json')
        : 'does not match the schema';
      return { error: new InvalidSpecError(field, message) };
    };
  });
}
