#!/usr/bin/env node
// Rewrites relative import specifiers that leave the importer's own folder of src/ to the `@/…` alias
// (tsconfig `paths`, docs/DEVELOPMENT.md "Imports"), and prettier-formats the files it changed.
//
//   node scripts/codemods/alias-imports.mjs            rewrite src/, test/, bench/, scripts/ and root *.ts
//   node scripts/codemods/alias-imports.mjs --check    write nothing; list what would change, exit 1 if any
//   node scripts/codemods/alias-imports.mjs [--check] <file or folder>...   only those
//
// A file's own folder is its unit of the module graph: src/modules/<name>, src/modules/billing/<name>,
// src/infra/<name>, or src/<name> (config, shared, app, bootstrap, cli); a file directly in src/ has
// all of src/. Imports inside the unit stay relative; imports out of it, and every import of src/ from
// test/, bench/ or scripts/, become `@/<path under src>`. Re-runnable: a second run changes nothing.
// Specifiers are found with the TypeScript parser: import/export … from, import x = require(),
// import() and import('…') types, require(), require.resolve() and jest.mock/requireActual & co.
// A trailing `.js` naming a `.ts` source is dropped (CommonJS output needs none, and Nest CLI's watch
// build rewrites only extensionless aliases). Only TypeScript is touched: plain .js/.cjs/.mjs run
// under node, which knows no `@/`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(new URL('../..', import.meta.url).pathname);
const SRC = join(root, 'src');
const DEFAULT_TARGETS = ['src', 'test', 'bench', 'scripts'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', 'generated', '.git']);
const TS_FILE = /\.(c|m)?ts$/;
const JEST_CALLS = new Set([
  'mock',
  'doMock',
  'unmock',
  'dontMock',
  'requireActual',
  'requireMock',
  'createMockFromModule',
  'setMock',
]);

const toPosix = (p) => p.split(sep).join('/');
const inside = (dir, p) => p === dir || p.startsWith(dir + sep);

/** The folder a src/ file belongs to; imports that stay in it stay relative. */
function unitOf(file) {
  const parts = relative(SRC, file).split(sep);
  const depth = (n) => (parts.length > n + 1 ? join(SRC, ...parts.slice(0, n + 1)) : dirname(file));
  if (parts[0] === 'modules') return depth(parts[1] === 'billing' ? 2 : 1);
  if (parts[0] === 'infra') return depth(1);
  return depth(0);
}

/** The source file a relative specifier names, or undefined when none exists. */
function resolveSource(base) {
  const stripped = base.replace(/\.(c|m)?js$/, '');
  const candidates = [base, `${base}.ts`, join(base, 'index.ts')];
  if (stripped !== base) candidates.push(`${stripped}.ts`, `${stripped}.mts`, `${stripped}.cts`);
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** The `@/…` form of `specifier` imported from `file`, or undefined when it stays as it is. */
function aliasFor(file, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../') && specifier !== '..') return undefined;
  const base = resolve(dirname(file), specifier);
  if (!inside(SRC, base) || base === SRC) return undefined;
  if (inside(SRC, file) && inside(unitOf(file), base)) return undefined;
  const source = resolveSource(base);
  if (source === undefined) throw new Error(`${relative(root, file)}: cannot resolve '${specifier}'`);
  // Keep the specifier's own shape (folder index, no extension); drop only a `.js` that names a `.ts`.
  const kept = /\.(c|m)?js$/.test(base) && !source.endsWith('.js') ? base.replace(/\.(c|m)?js$/, '') : base;
  return `@/${toPosix(relative(SRC, kept))}`;
}

/** Every module specifier literal in a source file. */
function specifiers(source) {
  const found = [];
  const add = (node) => {
    if (node && ts.isStringLiteralLike(node)) found.push(node);
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const callee = node.expression;
      const named =
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(callee) && callee.text === 'require') ||
        (ts.isPropertyAccessExpression(callee) &&
          ts.isIdentifier(callee.expression) &&
          ((callee.expression.text === 'jest' && JEST_CALLS.has(callee.name.text)) ||
            (callee.expression.text === 'require' && callee.name.text === 'resolve')));
      if (named) add(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The file's text with its specifiers aliased, and how many changed. */
function rewrite(file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const edits = [];
  for (const literal of specifiers(source)) {
    const alias = aliasFor(file, literal.text);
    if (alias === undefined) continue;
    const quote = literal.getText(source)[0];
    edits.push({ start: literal.getStart(source), end: literal.getEnd(), text: `${quote}${alias}${quote}` });
  }
  let out = text;
  for (const edit of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return { text: out, count: edits.length };
}

function* walk(path) {
  if (!existsSync(path)) return;
  if (statSync(path).isFile()) {
    if (TS_FILE.test(path) && !path.endsWith('.d.ts')) yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory() && SKIP_DIRS.has(entry.name)) continue;
    yield* walk(join(path, entry.name));
  }
}

function main(args) {
  const check = args.includes('--check');
  const named = args.filter((a) => !a.startsWith('--'));
  const targets = named.length > 0 ? named.map((a) => resolve(a)) : DEFAULT_TARGETS.map((d) => join(root, d));
  if (named.length === 0)
    for (const entry of readdirSync(root)) if (TS_FILE.test(entry)) targets.push(join(root, entry));
  const changed = [];
  let total = 0;
  for (const target of targets)
    for (const file of walk(target)) {
      const text = readFileSync(file, 'utf8');
      const { text: next, count } = rewrite(file, text);
      if (count === 0) continue;
      changed.push(relative(root, file));
      total += count;
      if (!check) writeFileSync(file, next);
    }
  if (check) {
    for (const file of changed) process.stdout.write(`${file}\n`);
    process.stderr.write(`${total} specifiers in ${changed.length} files would become @/ imports\n`);
    return changed.length > 0 ? 1 : 0;
  }
  if (changed.length > 0) {
    const prettier = join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs');
    const result = spawnSync(process.execPath, [prettier, '--write', '--log-level', 'warn', ...changed], {
      cwd: root,
      stdio: 'inherit',
    });
    if (result.status !== 0) return result.status ?? 1;
  }
  process.stderr.write(`${total} specifiers in ${changed.length} files now use @/\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
