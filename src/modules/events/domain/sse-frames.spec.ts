import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { commentFrame, cursorFrame, eventFrame, parseCursor } from './sse-frames';

function parse(text: string): { events: EventSourceMessage[]; comments: string[]; retry: number[] } {
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const retry: number[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
    onRetry: (ms) => retry.push(ms),
  });
  parser.feed(text);
  return { events, comments, retry };
}

describe('SSE frames', () => {
  it('are read back by a spec-compliant parser', () => {
    const data = JSON.stringify({ id: 'e1', payload: { note: 'line\nbreak' } });
    const parsed = parse(
      cursorFrame('0', 2000) + eventFrame('42', 'bid.placed', data) + commentFrame('heartbeat'),
    );
    expect(parsed.events).toEqual([{ id: '42', event: 'bid.placed', data }]);
    expect(parsed.comments).toEqual(['heartbeat']);
    expect(parsed.retry).toEqual([2000]);
  });

  it('refuses a field value with a line break', () => {
    expect(() => eventFrame('1', 'bid.placed\nevent: x', '{}')).toThrow(/single line/);
  });
});

describe('parseCursor', () => {
  it.each([
    [undefined, { kind: 'none' }],
    ['', { kind: 'none' }],
    ['0', { kind: 'seq', seq: 0n }],
    ['1042', { kind: 'seq', seq: 1042n }],
    [' 7 ', { kind: 'seq', seq: 7n }],
    ['9223372036854775807', { kind: 'seq', seq: 9_223_372_036_854_775_807n }],
  ])('%p -> %p', (raw, expected) => {
    expect(parseCursor(raw)).toEqual(expected);
  });

  it.each(['-1', '01', '1e3', 'abc', '9223372036854775808', '12345678901234567890'])(
    '%p is invalid',
    (raw) => {
      expect(parseCursor(raw)).toEqual({ kind: 'invalid' });
    },
  );
});
