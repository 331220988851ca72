import { ConfigError, EnvironmentVariables, loadEnvironment } from './app-config';

describe('loadEnvironment', () => {
  it('gives every setting a local default and leaves secrets unset', () => {
    const env = loadEnvironment({});
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBe('postgresql://postgres@127.0.0.1:5432/compute_exchange');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.SHUTDOWN_GRACE_MS).toBe(8000);
    expect(env.MIGRATE_ON_START).toBe(true);
    expect(env.CLOCK).toBe('system');
    expect(env.API_KEY_PEPPER).toBeUndefined();
    expect(env.METRICS_TOKEN).toBeUndefined();
  });

  it('converts numbers and booleans from strings', () => {
    const env = loadEnvironment({ PORT: '8080', MIGRATE_ON_START: 'false', JOB_MAX_STALLED_COUNT: '0' });
    expect(env.PORT).toBe(8080);
    expect(env.MIGRATE_ON_START).toBe(false);
    expect(env.JOB_MAX_STALLED_COUNT).toBe(0);
  });

  it('names every invalid variable in one message', () => {
    expect(() => loadEnvironment({ PORT: 'eighty', REDIS_URL: 'http://x', LOG_LEVEL: 'loud' })).toThrow(
      /PORT.*REDIS_URL.*LOG_LEVEL|PORT.*LOG_LEVEL.*REDIS_URL/,
    );
    expect(() => loadEnvironment({ PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadEnvironment({ DATA_ENCRYPTION_KEY: 'too-short' })).toThrow(/DATA_ENCRYPTION_KEY/);
  });

  it('refuses the controllable clock, loopback webhooks and missing secrets in production', () => {
    const secrets = {
      API_KEY_PEPPER: 'p'.repeat(32),
      JWT_SECRET: 'j'.repeat(32),
      DATA_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
      PAYMENT_BANK_BENEFICIARY: 'Compute Exchange Ltd.',
      PAYMENT_BANK_NAME: 'Bank of Guiyang',
      PAYMENT_BANK_ACCOUNT: '6222 0210 0101 2345',
      INVOICE_SELLER_NAME: 'Compute Exchange (Guizhou) Co., Ltd.',
      INVOICE_SELLER_TAX_ID: '91520900MA6EXAMPLE',
      INVOICE_SELLER_ADDRESS: "1 Data Avenue, Gui'an New Area, Guizhou",
    };
    expect(() => loadEnvironment({ NODE_ENV: 'production', CLOCK: 'controllable', ...secrets })).toThrow(
      /CLOCK=controllable is refused in production/,
    );
    expect(() =>
      loadEnvironment({ NODE_ENV: 'production', WEBHOOK_ALLOW_LOOPBACK: 'true', ...secrets }),
    ).toThrow(/WEBHOOK_ALLOW_LOOPBACK is refused in production/);
    expect(() => loadEnvironment({ NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(32) })).toThrow(
      /API_KEY_PEPPER, DATA_ENCRYPTION_KEY required in production/,
    );
    expect(loadEnvironment({ NODE_ENV: 'production', ...secrets }).NODE_ENV).toBe('production');
    // Buyers would be told to pay into a placeholder account, invoices would name a placeholder seller.
    const placeholders = [
      'PAYMENT_BANK_BENEFICIARY',
      'PAYMENT_BANK_NAME',
      'PAYMENT_BANK_ACCOUNT',
      'INVOICE_SELLER_NAME',
      'INVOICE_SELLER_TAX_ID',
      'INVOICE_SELLER_ADDRESS',
    ] as const;
    for (const name of placeholders) {
      const { [name]: _set, ...withoutIt } = secrets;
      expect(() => loadEnvironment({ NODE_ENV: 'production', ...withoutIt })).toThrow(
        new ConfigError(`invalid configuration: ${name} still hold placeholders; set them in production`),
      );
      // The shipped value written out explicitly is still the placeholder.
      const shipped = String(new EnvironmentVariables()[name]);
      expect(() => loadEnvironment({ NODE_ENV: 'production', ...secrets, [name]: shipped })).toThrow(
        new RegExp(`^invalid configuration: ${name} still hold placeholders`),
      );
    }
    expect(() =>
      loadEnvironment({
        NODE_ENV: 'production',
        ...secrets,
        INVOICE_SELLER_TAX_ID: 'UNSET-TAX-ID',
        PAYMENT_BANK_ACCOUNT: '0000 0000 0000 0000',
      }),
    ).toThrow(
      'invalid configuration: PAYMENT_BANK_ACCOUNT, INVOICE_SELLER_TAX_ID still hold placeholders; set them in production',
    );
    // Outside production the placeholders are the local defaults.
    expect(loadEnvironment({ NODE_ENV: 'development' }).INVOICE_SELLER_TAX_ID).toBe('UNSET-TAX-ID');
    // The migration CLI needs no secrets, so a one-off migration job does not get them.
    expect(loadEnvironment({ NODE_ENV: 'production' }, { requireSecrets: false }).NODE_ENV).toBe(
      'production',
    );
  });

  it('checks the invoice settings: prefix, VAT rate and an IANA time zone', () => {
    const env = loadEnvironment({ INVOICE_VAT_BPS: '600', INVOICE_TIME_ZONE: 'Europe/Berlin' });
    expect([env.INVOICE_VAT_BPS, env.INVOICE_TIME_ZONE, env.INVOICE_NUMBER_PREFIX]).toEqual([
      600,
      'Europe/Berlin',
      'CX',
    ]);
    expect(() => loadEnvironment({ INVOICE_TIME_ZONE: 'Mars/Olympus' })).toThrow(
      /INVOICE_TIME_ZONE Mars\/Olympus is not a known time zone/,
    );
    expect(() => loadEnvironment({ INVOICE_VAT_BPS: '10001' })).toThrow(/INVOICE_VAT_BPS/);
    expect(() => loadEnvironment({ INVOICE_NUMBER_PREFIX: 'cx-' })).toThrow(/INVOICE_NUMBER_PREFIX/);
  });

  it('treats an empty optional value as unset', () => {
    expect(loadEnvironment({ METRICS_TOKEN: '' }).METRICS_TOKEN).toBeUndefined();
  });
});
