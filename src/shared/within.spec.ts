import { within } from './within';

describe('within', () => {
  it('passes an answer or an error through', async () => {
    await expect(within(Promise.resolve(42), 1_000)).resolves.toBe(42);
    await expect(within(Promise.reject(new Error('refused')), 1_000)).rejects.toThrow('refused');
  });

  it('gives up on a promise that never settles', async () => {
    await expect(within(new Promise<never>(() => undefined), 5)).rejects.toThrow('no answer within 5 ms');
  });
});
