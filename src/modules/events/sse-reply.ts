import type { FastifyReply } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import type { SseSink } from './live-stream';

/**
 * Takes the response over from Fastify and opens it as text/event-stream. Headers Fastify had
 * set on the reply (request id, CORS) are carried over: after hijack() nothing else sends them.
 */
export function openSseReply(reply: FastifyReply): SseSink {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) headers[name] = value;
  }
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx and similar proxies would otherwise buffer the stream.
    'x-accel-buffering': 'no',
  });
  raw.socket?.setNoDelay(true);
  const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
  return {
    write: (chunk) => (raw.writableEnded || raw.destroyed ? false : raw.write(chunk)),
    drained: () => Promise.race([new Promise<void>((resolve) => raw.once('drain', () => resolve())), closed]),
    onClose: (listener) => void closed.then(listener),
    end: () => {
      if (!raw.writableEnded) raw.end();
    },
  };
}
