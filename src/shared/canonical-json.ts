import { createHmac } from 'node:crypto';
import { DomainError } from './domain-error';

// Far deeper than any request body we accept; stops hostile nesting before it exhausts the stack.
const MAX_DEPTH = 64;

/**
 * Serialises JSON data with object keys sorted (UTF-16 code-unit order, as RFC 8785), arrays in
 * order and no whitespace, so equal data always yields the same string. Only plain JSON data is
 * accepted: undefined, functions, symbols, bigint, non-finite numbers, class instances and cycles
 * throw a TypeError.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, '$', new Set<object>());
}

/**
 * Idempotency fingerprint of a request: hex HMAC-SHA-256 under a server key of `METHOD
 * route\ncanonical body`, so a stored fingerprint cannot be used to test guesses of the body. A
 * missing body counts as JSON null.
 */
export function requestFingerprint(method: string, route: string, body: unknown, key: Uint8Array): string {
  const text = `${method.toUpperCase()} ${route}\n${canonicalJson(body ?? null)}`;
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

function serialise(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${path} is not a finite number`);
      // JSON.stringify prints the shortest round-trip form and -0 as 0, as RFC 8785 requires.
      return JSON.stringify(value);
    case 'object':
      return value === null ? 'null' : serialiseContainer(value, path, ancestors);
    case 'undefined':
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new TypeError(`canonicalJson: ${path} is a ${typeof value}, which JSON cannot represent`);
  }
}

function serialiseContainer(value: object, path: string, ancestors: Set<object>): string {
  if (ancestors.has(value)) throw new TypeError(`canonicalJson: ${path} is a circular reference`);
  if (ancestors.size >= MAX_DEPTH) {
    throw new DomainError('BAD_REQUEST', `request body is nested more than ${MAX_DEPTH} levels deep`);
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const items: string[] = [];
      // Index loop rather than map so holes in sparse arrays are seen as undefined.
      for (let index = 0; index < value.length; index += 1) {
        items.push(serialise((value as unknown[])[index], `${path}[${index}]`, ancestors));
      }
      return `[${items.join(',')}]`;
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      // Dates, Buffers, Maps and DTO instances would serialise ambiguously; hash the raw body.
      throw new TypeError(`canonicalJson: ${path} is not a plain object`);
    }
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${serialise(record[key], `${path}.${key}`, ancestors)}`);
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}
