// The clearing thread (src/modules/matching/clearing-thread.ts) run from the TypeScript sources,
// for specs of ClearingSolver's threads without a build: `.ts` files are compiled on require by
// @swc/core (as jest does) and `@/…` resolves through tsconfig-paths.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { transformSync } = require('@swc/core');
const { register } = require('tsconfig-paths');

const ROOT = join(__dirname, '..', '..');
register({ baseUrl: ROOT, paths: { '@/*': ['src/*'] } });
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript', decorators: true }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
require(join(ROOT, 'src', 'modules', 'matching', 'clearing-thread.ts'));
