import { Injectable } from '@nestjs/common';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { AppConfig } from '@/infra/config/app-config';
import { DomainError } from '@/shared/domain-error';
import { forbiddenAddressReason, hostOf, parseWebhookUrl } from './domain/address-policy';

/** Enough of a response to log; the rest is not read (a receiver cannot make us buffer more). */
const MAX_RESPONSE_BYTES = 64 * 1024;

export class RefusedDestinationError extends Error {}

export interface WebhookResponse {
  status: number;
}

/**
 * Outbound HTTP for webhooks with SSRF checks at both ends: a URL is refused at registration if
 * its host resolves to a non-public address, and at delivery the socket connects only to an
 * address that passed the check in the same lookup (so DNS rebinding between check and connect
 * is useless). Redirects are not followed; time and response size are bounded.
 */
@Injectable()
export class SafeWebhookClient {
  private readonly allowLoopback: boolean;

  constructor(private readonly config: AppConfig) {
    this.allowLoopback = config.env.WEBHOOK_ALLOW_LOOPBACK;
  }

  /** Registration-time check; a DomainError (400) naming the problem. */
  async assertAllowed(raw: string): Promise<URL> {
    const url = parseWebhookUrl(raw);
    if (!(url instanceof URL)) throw this.invalid(`url ${url.problem}`);
    const host = hostOf(url);
    let addresses: LookupAddress[];
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch {
      throw this.invalid('url host does not resolve');
    }
    for (const { address } of addresses) {
      const reason = forbiddenAddressReason(address, this.allowLoopback);
      if (reason !== null)
        throw this.invalid(`url resolves to a ${reason} address, which webhooks may not reach`);
    }
    return url;
  }

  async post(raw: string, headers: Record<string, string>, body: string): Promise<WebhookResponse> {
    const url = parseWebhookUrl(raw);
    if (!(url instanceof URL)) throw new RefusedDestinationError(`url ${url.problem}`);
    const host = hostOf(url);
    // A literal address never goes through `lookup`: check it here.
    if (isIP(host) !== 0) {
      const reason = forbiddenAddressReason(host, this.allowLoopback);
      if (reason !== null) throw new RefusedDestinationError(`refused ${reason} address ${host}`);
    }
    const options: RequestOptions = {
      method: 'POST',
      host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: this.checkedLookup,
      // A fresh socket per delivery: a pooled one could have been opened to another address.
      agent: false,
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<WebhookResponse>((resolve, reject) => {
      const req = send(options, (res) => {
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) {
            res.destroy();
            resolve({ status: res.statusCode ?? 0 });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', reject);
      });
      const deadline = setTimeout(
        () => req.destroy(new Error(`no answer within ${this.config.env.WEBHOOK_TIMEOUT_MS} ms`)),
        this.config.env.WEBHOOK_TIMEOUT_MS,
      );
      req.on('close', () => clearTimeout(deadline));
      req.on('error', reject);
      req.end(body);
    });
  }

  // Resolves, refuses if any address is not public, and hands the socket the checked address.
  private readonly checkedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const refused = addresses
        .map(({ address }) => ({ address, reason: forbiddenAddressReason(address, this.allowLoopback) }))
        .find((a) => a.reason !== null);
      if (refused) {
        return callback(
          new RefusedDestinationError(`refused ${refused.reason} address ${refused.address}`),
          '',
          0,
        );
      }
      const wanted = options.family === 6 ? 6 : options.family === 4 ? 4 : 0;
      const usable = addresses.filter((a) => wanted === 0 || a.family === wanted);
      if (usable.length === 0) return callback(new Error(`${hostname} has no usable address`), '', 0);
      // Node asks for every address when it races IPv4 and IPv6 (autoSelectFamily).
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
      return callback(null, usable[0]!.address, usable[0]!.family);
    });
  };

  private invalid(message: string): DomainError {
    return new DomainError('VALIDATION_FAILED', message, { field: 'url' });
  }
}
