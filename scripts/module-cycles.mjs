#!/usr/bin/env node
// Fails when top-level folders of src/modules import each other in a cycle (docs/ARCHITECTURE.md,
// "The module graph"). import-x/no-cycle sees only file cycles: billing/settlement importing usage
// while usage/domain imports billing/settlement/domain is no file cycle, but a module cycle.
// Every import of a non-spec .ts file counts, type-only ones too; billing/<name> counts as billing.
//
//   node scripts/module-cycles.mjs           exit 1 and print each cycle, with a file per edge
//   node scripts/module-cycles.mjs --graph   print the module graph (one edge a line)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(new URL('..', import.meta.url).pathname);
const SRC = join(root, 'src');
const MODULES = join(SRC, 'modules');

// Edges known to close a cycle, left until the vocabulary they import moves below both modules.
// Each must still exist and still close a cycle, so the list only shrinks.
const KNOWN = new Map([]);

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (/\.ts$/.test(entry.name) && !/\.(spec|d)\.ts$/.test(entry.name)) yield path;
  }
}

/** The top-level module folder a path is in, or undefined outside src/modules. */
function moduleOf(path) {
  const rel = relative(MODULES, path);
  return rel.startsWith('..') || rel === '' ? undefined : rel.split(sep)[0];
}

/** from -> to -> the first file (and specifier) seen making that edge. */
function moduleGraph() {
  const graph = new Map();
  for (const file of sources(MODULES)) {
    const from = moduleOf(file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const { fileName: spec } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles) {
      let target;
      if (spec.startsWith('@/')) target = join(SRC, spec.slice(2));
      else if (spec.startsWith('.')) target = resolve(dirname(file), spec);
      else continue;
      const to = moduleOf(target);
      if (to === undefined || to === from || graph.get(from).has(to)) continue;
      graph.get(from).set(to, `${relative(root, file)} imports '${spec}'`);
    }
  }
  return graph;
}

/** Strongly connected components of more than one module (Tarjan). */
function cycles(graph, skip) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (skip.has(`${v} -> ${w}`)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

function main(args) {
  const graph = moduleGraph();
  if (args.includes('--graph')) {
    for (const [from, tos] of [...graph].sort())
      for (const to of [...tos.keys()].sort()) process.stdout.write(`${from} -> ${to}\n`);
    return 0;
  }
  let failed = false;
  for (const component of cycles(graph, new Set(KNOWN.keys()))) {
    failed = true;
    process.stderr.write(`module cycle: ${component.join(', ')}\n`);
    for (const from of component)
      for (const [to, where] of graph.get(from))
        if (component.includes(to) && !KNOWN.has(`${from} -> ${to}`))
          process.stderr.write(`  ${from} -> ${to}: ${where}\n`);
  }
  for (const edge of KNOWN.keys()) {
    const [from, to] = edge.split(' -> ');
    const closes = cycles(graph, new Set()).some((c) => c.includes(from) && c.includes(to));
    if (graph.get(from)?.has(to) && closes) continue;
    failed = true;
    process.stderr.write(`${edge} no longer closes a module cycle: remove it from KNOWN in this script\n`);
  }
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
