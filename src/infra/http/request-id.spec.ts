import type { IncomingMessage } from 'node:http';
import { genRequestId } from './request-id';

function request(headers: Record<string, string>): IncomingMessage & { id?: string } {
  return { headers } as unknown as IncomingMessage & { id?: string };
}

describe('genRequestId', () => {
  it('keeps a well-formed caller id and copies it onto the raw request', () => {
    const req = request({ 'x-request-id': 'frontend-123.abc' });
    expect(genRequestId(req)).toBe('frontend-123.abc');
    expect(req.id).toBe('frontend-123.abc');
  });

  it('replaces ids that could inject into logs or are too long', () => {
    for (const bad of ['a b', 'x\ny', 'x'.repeat(129), '']) {
      const id = genRequestId(request({ 'x-request-id': bad }));
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
