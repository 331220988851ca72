import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a webhook may be sent to (SSRF). Pure: checked at registration on the
 * resolved addresses, and again at delivery on the address actually connected to.
 */

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

// Everything that is not a public unicast address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d)
// are checked against the IPv4 rules by BlockList itself.
const FORBIDDEN: ReadonlyArray<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.88.99.0', 24, 'ipv4', 'reserved'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  // NAT64, 6to4 and Teredo embed IPv4 addresses that could be private.
  ['64:ff9b::', 96, 'ipv6', 'NAT64'],
  ['64:ff9b:1::', 48, 'ipv6', 'NAT64'],
  ['100::', 64, 'ipv6', 'discard'],
  ['2001::', 32, 'ipv6', 'Teredo'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['2002::', 16, 'ipv6', '6to4'],
  ['fc00::', 7, 'ipv6', 'unique local'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const RULES = FORBIDDEN.map(([network, prefix, family, reason]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { list, reason };
});

function familyOf(address: string): 'ipv4' | 'ipv6' | null {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : null;
}

/**
 * Why `address` may not be a webhook's destination, or null when it may. `allowLoopback` is
 * the test-only allowance (WEBHOOK_ALLOW_LOOPBACK): loopback only, never another range.
 */
export function forbiddenAddressReason(address: string, allowLoopback: boolean): string | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = familyOf(bare);
  if (family === null) return 'not an IP address';
  if (allowLoopback && LOOPBACK.check(bare, family)) return null;
  for (const { list, reason } of RULES) {
    if (list.check(bare, family)) return reason;
  }
  return null;
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
