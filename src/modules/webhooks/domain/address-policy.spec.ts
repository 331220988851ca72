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
  ])('%s is refused (%s)', (address, reason) => {
    expect(forbiddenAddressReason(address, false)).toBe(reason);
  });

  it.each(['1.1.1.1', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    '%s is allowed',
    (address) => {
      expect(forbiddenAddressReason(address, false)).toBeNull();
    },
  );

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
