import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** Validation of users' JSON Schemas (runner `inputSchema`, step `outputSchema`) with ajv. */
const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: true });
addFormats(ajv);

const cache = new Map<string, ValidateFunction>();
const CACHE_LIMIT = 500;

export interface SchemaIssue {
  path: string;
  message: string;
}

/** Returns why `schema` is not a usable JSON Schema, or null. */
export function checkJsonSchema(schema: unknown): string | null {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return 'must be a JSON Schema object';
  try {
    compile(schema as object);
    return null;
  } catch (e) {
    return `is not a valid JSON Schema: ${(e as Error).message}`;
  }
}

function compile(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let fn = cache.get(key);
  if (!fn) {
    fn = ajv.compile(schema);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, fn);
  }
  return fn;
}

function toIssue(prefix: string, e: ErrorObject): SchemaIssue {
  const pointer = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const extra = e.keyword === 'required' ? [(e.params as { missingProperty: string }).missingProperty] : [];
  return { path: [prefix, ...pointer, ...extra].filter(Boolean).join('.'), message: e.message ?? 'is invalid' };
}

/** Validates `value` against `schema`; returns the violations (empty when it matches). */
export function validateAgainst(schema: object, value: unknown, pathPrefix: string): SchemaIssue[] {
  const fn = compile(schema);
  if (fn(value)) return [];
  return (fn.errors ?? []).map((e) => toIssue(pathPrefix, e));
}
