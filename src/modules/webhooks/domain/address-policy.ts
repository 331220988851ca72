import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses a webhook may be sent to (SSRF). Pure: checked at registration on the
 * resolved addresses, and again at delivery on the address actually connected to. Only public
 * unicast passes: IPv4 that ipaddr.js classes as `unicast`, IPv6 in global unicast 2000::/3, and
 * IPv4-mapped IPv6 judged as the IPv4 address it carries.
 */

// ipaddr.js range names -> the reason given; any other special-purpose range is 'reserved'.
const IPV4_REASONS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified',
  broadcast: 'reserved',
  multicast: 'multicast',
  linkLocal: 'link-local (cloud metadata)',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved',
};

const IPV6_REASONS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified',
  linkLocal: 'link-local',
  multicast: 'multicast',
  loopback: 'loopback',
  uniqueLocal: 'unique local',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard',
  // These embed an IPv4 address that could be private, and a translator would reach it.
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
  '6to4': '6to4',
  teredo: 'Teredo',
  reserved: 'reserved',
};

const GLOBAL_UNICAST = ipaddr.IPv6.parse('2000::');

function ipv4Reason(address: ipaddr.IPv4): string | null {
  const range = address.range();
  return range === 'unicast' ? null : (IPV4_REASONS[range] ?? 'reserved');
}

function ipv6Reason(address: ipaddr.IPv6): string | null {
  if (address.isIPv4MappedAddress()) return ipv4Reason(address.toIPv4Address());
  const range = address.range();
  if (range !== 'unicast') return IPV6_REASONS[range] ?? 'reserved';
  // ::a.b.c.d (deprecated IPv4-compatible) and everything else outside 2000::/3 is not public.
  if (address.parts.slice(0, 6).every((part) => part === 0)) return 'IPv4-compatible';
  return address.match(GLOBAL_UNICAST, 3) ? null : 'not global unicast';
}

/**
 * ipaddr.js reads a dotted tail after `::` as IPv4-mapped (`::127.0.0.1` -> `::ffff:7f00:1`),
 * which is not the address a socket connects to; the URL parser's canonical hex form has no tail.
 */
function parseIPv6(address: string): ipaddr.IPv6 {
  return ipaddr.IPv6.parse(new URL(`http://[${address}]/`).hostname.slice(1, -1));
}

/**
 * Why `address` may not be a webhook's destination, or null when it may. `allowLoopback` is
 * the test-only allowance (WEBHOOK_ALLOW_LOOPBACK): loopback only, never another range.
 */
export function forbiddenAddressReason(address: string, allowLoopback: boolean): string | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  // Node's check is strict (no `127.1`, octal or hex IPv4), which ipaddr.js's parse is not.
  const version = isIP(bare);
  if (version === 0) return 'not an IP address';
  const reason = version === 4 ? ipv4Reason(ipaddr.IPv4.parse(bare)) : ipv6Reason(parseIPv6(bare));
  return allowLoopback && reason === 'loopback' ? null : reason;
}

export type UrlProblem = { problem: string };

/** The parts of a webhook URL that matter before resolving it, or what is wrong with it. */
export function parseWebhookUrl(raw: string): URL | UrlProblem {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: 'must be http or https' };
  if (url.username !== '' || url.password !== '') return { problem: 'must not carry credentials' };
  if (url.hostname === '') return { problem: 'has no host' };
  if (url.hash !== '') return { problem: 'must not have a fragment' };
  return url;
}

/** The host as DNS or a socket takes it: IPv6 literals without their brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}
