import { Kind, Type, TypeRegistry, type TUnsafe } from '@sinclair/typebox';
import { codePoints } from '../codePoints.js';

interface TextOptions {
  minLength?: number;
  maxLength?: number;
  description?: string;
}

/**
 * A string of any Unicode whose minLength and maxLength count characters (code points),
 * as JSON Schema and so every client generated from /openapi.json counts them. TypeBox's
 * String counts UTF-16 units: an idempotency key of 101 emoji passed a generated
 * client's maxLength of 200 and was refused by the server. The document shows a plain
 * string schema (the Kind is a symbol, which JSON leaves out).
 */
export function Text(options: TextOptions): TUnsafe<string> {
  return Type.Unsafe<string>({ type: 'string', ...options, [Kind]: 'Text' });
}

/** TypeBox's words for its own String's failures, counted in characters. */
export function textExpectation(schema: TextOptions, value: unknown): string {
  if (typeof value !== 'string') return 'expected string';
  if (schema.minLength !== undefined && codePoints(value) < schema.minLength) {
    return `expected string length greater or equal to ${schema.minLength}`;
  }
  return `expected string length less or equal to ${String(schema.maxLength)}`;
}

export function isText(schema: unknown): schema is TextOptions {
  return (schema as { [Kind]?: unknown })[Kind] === 'Text';
}

TypeRegistry.Set<TextOptions>('Text', (schema, value) => {
  if (typeof value !== 'string') return false;
  // A string within maxLength UTF-16 units is within it in code points: no count needed.
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    if (value.length > 2 * schema.maxLength || codePoints(value) > schema.maxLength) return false;
  }
  return schema.minLength === undefined || codePoints(value) >= schema.minLength;
});
