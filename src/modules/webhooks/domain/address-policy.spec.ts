import { forbiddenAddressReason, parseWebhookUrl } from './address-policy';

describe('forbiddenAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.10.0.5', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['fd00::1', 'unique local'],
    ['fc00::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local (cloud metadata)'],
    ['::ffff:a9fe:a9fe', 'link-local (cloud metadata)'],
    ['64:ff9b::a9fe:a9fe', 'NAT64'],
    ['2002:a9fe:a9fe::1', '6to4'],
    ['localhost', 'not an IP address'],
    ['127.1', 'not an IP address'],
    ['0x7f.0.0.1', 'not an IP address'],
  ])('%s is refused (%s)', (address, reason) => {
    expect(forbiddenAddressReason(address, false)).toBe(reason);
  });

  // IPv6 forms that carry an IPv4 address, each aimed at loopback and at the metadata service.
  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a9fe:a9fe', 'link-local (cloud metadata)'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['::7f00:1', 'IPv4-compatible'],
    ['::a9fe:a9fe', 'IPv4-compatible'],
    ['::8.8.8.8', 'IPv4-compatible'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated'],
    ['::ffff:0:7f00:1', 'IPv4-translated'],
    ['::ffff:0:a9fe:a9fe', 'IPv4-translated'],
    ['64:ff9b::127.0.0.1', 'NAT64'],
    ['64:ff9b::7f00:1', 'NAT64'],
    ['64:ff9b:1::7f00:1', 'NAT64'],
    ['2002:7f00:1::', '6to4'],
    ['2002:a9fe:a9fe::1', '6to4'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo'],
    ['[::127.0.0.1]', 'IPv4-compatible'],
    ['100::1', 'discard'],
    ['fec0::1', 'site-local'],
    ['2001:db8::1', 'reserved'],
    ['5f00::1', 'reserved'],
    ['4000::1', 'not global unicast'],
  ])('the IPv6 form %s is refused (%s)', (address, reason) => {
    expect(forbiddenAddressReason(address, false)).toBe(reason);
    // The loopback allowance opens ::1 and mapped loopback only, never a form a translator reaches.
    if (reason !== 'loopback') expect(forbiddenAddressReason(address, true)).toBe(reason);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '::ffff:0808:0808',
    '2a00:1450:4001::1',
  ])('%s is allowed', (address) => {
    expect(forbiddenAddressReason(address, false)).toBeNull();
  });

  it('lets the test allowance open loopback and nothing else', () => {
    expect(forbiddenAddressReason('127.0.0.1', true)).toBeNull();
    expect(forbiddenAddressReason('::1', true)).toBeNull();
    expect(forbiddenAddressReason('::ffff:127.0.0.1', true)).toBeNull();
    expect(forbiddenAddressReason('10.0.0.1', true)).toBe('private');
    expect(forbiddenAddressReason('169.254.169.254', true)).toBe('link-local (cloud metadata)');
    expect(forbiddenAddressReason('0.0.0.0', true)).toBe('unspecified');
  });
});

describe('parseWebhookUrl', () => {
  it.each([
    ['ftp://example.com/hook', 'must be http or https'],
    ['https://user:pw@example.com/hook', 'must not carry credentials'],
    ['https://example.com/hook#x', 'must not have a fragment'],
    ['/relative', 'not an absolute URL'],
  ])('%s: %s', (raw, problem) => {
    expect(parseWebhookUrl(raw)).toEqual({ problem });
  });

  it('accepts http(s) URLs with ports, paths and queries', () => {
    expect(parseWebhookUrl('https://hooks.example.com:8443/cx?token=1')).toBeInstanceOf(URL);
  });
});
