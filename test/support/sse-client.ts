import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { ReadableStream } from 'node:stream/web';
import { waitFor } from './wait-for';

export interface SseConnection {
  status: number;
  headers: Headers;
  /** Dispatched events, in arrival order. */
  events: EventSourceMessage[];
  comments: string[];
  /** The last id the stream set, as a browser's EventSource would send it on reconnect. */
  lastEventId(): string | undefined;
  /** The error body of a refused connection. */
  body?: unknown;
  waitForEvents(count: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/**
 * A minimal EventSource over fetch: headers of our choosing (Authorization, Last-Event-ID),
 * and the frames parsed by eventsource-parser, the parser browsers' polyfills use.
 */
export async function connectSse(url: string, headers: Record<string, string>): Promise<SseConnection> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  let lastId: string | undefined;
  const parser = createParser({
    onEvent: (event) => {
      events.push(event);
    },
    onComment: (comment) => comments.push(comment),
  });
  // eventsource-parser reports ids with events only; a data-less frame's id is read here, from
  // complete lines (a chunk may end mid-line).
  let partial = '';
  const readIds = (text: string): void => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^id: ?(.*)$/.exec(line);
      if (match) lastId = match[1];
    }
  };
  const connection: SseConnection = {
    status: res.status,
    headers: res.headers,
    events,
    comments,
    lastEventId: () => lastId,
    waitForEvents: (count, timeoutMs = 10_000) =>
      waitFor(
        `${count} SSE events (have ${events.length})`,
        () => Promise.resolve(events.length >= count ? events.slice(0, count) : undefined),
        timeoutMs,
      ),
    ended: Promise.resolve(),
    close: () => abort.abort(),
  };
  if (res.status !== 200 || !res.body) {
    connection.body = await res.json().catch(() => undefined);
    return connection;
  }
  const reader = (res.body as unknown as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  connection.ended = (async () => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return;
        const value = chunk.value;
        const text = decoder.decode(value, { stream: true });
        readIds(text);
        parser.feed(text);
      }
    } catch {
      // Aborted by close().
    }
  })();
  return connection;
}
