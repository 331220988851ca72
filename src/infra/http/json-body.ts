import { DomainError } from '@/shared/domain-error';

export const MAX_JSON_DEPTH = 16;

/**
 * Walks a parsed JSON body without recursion and refuses what no route accepts: nesting deeper
 * than MAX_JSON_DEPTH, NUL characters, lone UTF-16 surrogates and prototype-poisoning keys.
 */
export function assertSafeJson(root: unknown): void {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') {
      assertSafeString(value);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw new DomainError('BAD_REQUEST', `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    }
    if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
        throw new DomainError('BAD_REQUEST', `The JSON body contains a forbidden key "${key}".`);
      }
      assertSafeString(key);
      stack.push({ value: item, depth: depth + 1 });
    }
  }
}

function assertSafeString(value: string): void {
  if (value.includes('\u0000'))
    throw new DomainError('BAD_REQUEST', 'The JSON body contains a NUL character.');
  if (!value.isWellFormed())
    throw new DomainError('BAD_REQUEST', 'The JSON body contains a lone UTF-16 surrogate.');
}

/** Fastify content-type parser for application/json: JSON.parse, then the checks above. */
export function parseJsonBody(body: string): unknown {
  if (body.length === 0) throw new DomainError('BAD_REQUEST', 'The request body is empty; send JSON.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new DomainError('BAD_REQUEST', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  assertSafeJson(parsed);
  return parsed;
}
