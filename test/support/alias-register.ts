// jest requires globalSetup and globalTeardown outside its module registry, so its moduleNameMapper
// does not apply to them or to what they import: resolve the `@/…` alias (tsconfig.json) here.
import { join } from 'node:path';
import { register } from 'tsconfig-paths';

register({ baseUrl: join(__dirname, '..', '..'), paths: { '@/*': ['src/*'] } });
