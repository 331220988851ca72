import type { EnvironmentVariables, SecretName } from '@/config/app-config';

/**
 * The validated configuration of this process, injected by class. Built once at boot from the
 * environment plus the secrets resolved by `resolveSecrets` (generated outside production).
 */
export class AppConfig {
  constructor(
    readonly env: Readonly<EnvironmentVariables>,
    readonly secrets: Readonly<Record<SecretName, string>>,
  ) {}

  get isProduction(): boolean {
    return this.env.NODE_ENV === 'production';
  }
}
