import { redisAddress, redisOptionsFromUrl } from './redis-connection';

describe('redisOptionsFromUrl', () => {
  it('reads host, port, credentials, database and TLS', () => {
    expect(redisOptionsFromUrl('rediss://user:p%40ss@cache.internal:6380/2')).toEqual({
      host: 'cache.internal',
      port: 6380,
      username: 'user',
      password: 'p@ss',
      db: 2,
      tls: {},
      disconnectTimeout: 200,
    });
    expect(redisOptionsFromUrl('redis://127.0.0.1')).toEqual({
      host: '127.0.0.1',
      port: 6379,
      db: 0,
      disconnectTimeout: 200,
    });
  });

  it('never puts credentials in the address used for messages', () => {
    expect(redisAddress('redis://:secret@127.0.0.1:6390')).toBe('127.0.0.1:6390');
  });
});
