/**
 * The text/event-stream wire format (WHATWG HTML, "Server-sent events"). Pure, so the framing
 * rules are tested without a socket.
 */

/** Last-Event-ID values we accept: an event's seq, or 0 for "everything still retained". */
const CURSOR = /^(0|[1-9]\d{0,18})$/;

export type ParsedCursor = { kind: 'none' } | { kind: 'seq'; seq: bigint } | { kind: 'invalid' };

export function parseCursor(raw: string | undefined): ParsedCursor {
  if (raw === undefined || raw.trim() === '') return { kind: 'none' };
  const value = raw.trim();
  if (!CURSOR.test(value)) return { kind: 'invalid' };
  const seq = BigInt(value);
  // seq is a PostgreSQL bigint.
  return seq > 9_223_372_036_854_775_807n ? { kind: 'invalid' } : { kind: 'seq', seq };
}

// A field value may not contain a line break: it would end the field. Ours never do (ids are
// digits, types are catalogue names, data is JSON.stringify output), but a frame is never built
// from an unchecked string.
function field(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`SSE ${name} must be a single line`);
  return `${name}: ${value}\n`;
}

export function eventFrame(id: string, type: string, data: string): string {
  return `${field('id', id)}${field('event', type)}${field('data', data)}\n`;
}

/** A comment: ignored by clients, keeps proxies from closing an idle connection. */
export function commentFrame(text: string): string {
  return `${field('', text)}\n`;
}

/**
 * Sets the client's reconnection delay and its last event id without dispatching an event (a
 * frame without data), so a client that reconnects before its first event still resumes here.
 */
export function cursorFrame(id: string, retryMs: number): string {
  return `retry: ${retryMs}\n${field('id', id)}\n`;
}
