import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import { InvalidSpecError } from '../errors/index.js';
import { shownValue } from '../spec/parseJobSpec.js';

/**
 * Route schemas are TypeBox schemas, checked by TypeBox's compiler (the same one the
 * job spec parser uses), so a bad request gets InvalidSpec naming the field, in the
 * same words whether it came through the API or the CLI.
 */
/** What a value should have been: a union of literals names them, not "union value". */
function expected(schema: TSchema, message: string): string {
  const branches = (schema as { anyOf?: Array<{ const?: unknown }> }).anyOf;
  if (branches && branches.length > 0 && branches.every((b) => b.const !== undefined)) {
    return `expected one of ${branches.map((b) => JSON.stringify(b.const)).join(', ')}`;
  }
  return message.toLowerCase();
}

export function registerValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const checker = TypeCompiler.Compile(schema as TSchema);
    const coerce = httpPart === 'querystring' || httpPart === 'params';
    return (data: unknown) => {
      // Query strings and params arrive as text: convert "10" to 10 where the schema wants it.
      const value = coerce ? Value.Convert(schema as TSchema, data) : data;
      if (checker.Check(value)) return { value };
      const first = checker.Errors(value).First();
      const prefix = httpPart === 'body' ? '' : `${httpPart}.`;
      const field =
        prefix + ((first?.path ?? '').replace(/^\//, '').replace(/\//g, '.') || '(body)');
      const message = !first
        ? 'does not match the schema'
        : first.message.startsWith('Unexpected property')
          ? 'is not a known field; see GET /openapi.json'
          : first.value === undefined
            ? 'is required'
            : `${expected(first.schema, first.message)} (got ${shownValue(first.value)})`;
      return { error: new InvalidSpecError(field, message) };
    };
  });
}
