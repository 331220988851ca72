import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');

/** One raw SQL statement of src/, with its interpolated values as $1..$n. */
export interface RawStatement {
  /** file:line of the call. */
  at: string;
  sql: string;
}

/** A raw statement the scan cannot turn into SQL text; the suite fails on it, so new SQL stays checkable. */
export interface Unreadable {
  at: string;
  why: string;
}

const RAW_TAGS = /\.\$(queryRaw|executeRaw)$/;
const UNSAFE_CALLS = /\.\$(queryRawUnsafe|executeRawUnsafe)$/;
// Statements PREPARE accepts; utility statements (LISTEN, CREATE DATABASE, migrations) are not raw queries.
const PREPARABLE = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|VALUES)\b/i;

class Unsupported extends Error {}

/**
 * Fragments one module builds for another's statement, by the type of the parameter that carries
 * them (`param.sql`): the file and top-level function whose `Prisma.sql` template they are.
 */
const CARRIED: Record<string, { file: string; fn: string }> = {
  OutboxInsertion: { file: 'src/modules/events/outbox.repository.ts', fn: 'insertManySql' },
  RecordsInsertion: { file: 'src/modules/events/outbox.repository.ts', fn: 'insertRecordsSql' },
  HoldPosting: { file: 'src/modules/billing/ledger/ledger.repository.ts', fn: 'postTransfersSql' },
};

/** The template a carried fragment (`events.sql`, `events` a parameter of a CARRIED type) stands for. */
function carriedTemplate(
  expr: ts.Expression,
): { template: ts.TaggedTemplateExpression; decls: Map<string, ts.Node> } | null {
  if (!ts.isPropertyAccessExpression(expr) || expr.name.text !== 'sql' || !ts.isIdentifier(expr.expression))
    return null;
  const declaration = declarationOf(expr.expression.text, expr);
  if (declaration === null || !ts.isParameter(declaration) || declaration.type === undefined) return null;
  const carried = CARRIED[declaration.type.getText()];
  if (carried === undefined) return null;
  const path = join(ROOT, carried.file);
  const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const decls = declarations(file);
  const template = fragmentTemplate(ts.factory.createIdentifier(carried.fn), decls);
  if (template === null) throw new Unsupported(`${carried.file}: ${carried.fn} is not a Prisma.sql template`);
  return { template, decls };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Top-level `const` and function declarations of a file, by name. */
function declarations(file: ts.SourceFile): Map<string, ts.Node> {
  const found = new Map<string, ts.Node>();
  for (const statement of file.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.initializer)
          found.set(declaration.name.text, declaration.initializer);
      }
    } else if (ts.isFunctionDeclaration(statement) && statement.name) {
      found.set(statement.name.text, statement);
    }
  }
  return found;
}

/** The Prisma.sql template a fragment expression stands for, if it is one. */
function fragmentTemplate(
  expr: ts.Expression,
  decls: Map<string, ts.Node>,
): ts.TaggedTemplateExpression | null {
  if (ts.isTaggedTemplateExpression(expr)) return expr.tag.getText() === 'Prisma.sql' ? expr : null;
  const target = ts.isCallExpression(expr) ? expr.expression : expr;
  if (!ts.isIdentifier(target)) return null;
  let node = decls.get(target.text);
  if (node === undefined) return null;
  if (ts.isArrowFunction(node) || ts.isFunctionDeclaration(node)) {
    const body = node.body;
    if (body === undefined) return null;
    if (ts.isBlock(body)) {
      const returned = body.statements.find(ts.isReturnStatement)?.expression;
      if (returned === undefined) return null;
      node = returned;
    } else {
      node = body;
    }
  }
  return ts.isTaggedTemplateExpression(node) && node.tag.getText() === 'Prisma.sql' ? node : null;
}

/** A tagged template's SQL: values become placeholders, Prisma.sql fragments are inlined. */
function taggedSql(
  template: ts.TaggedTemplateExpression,
  decls: Map<string, ts.Node>,
  params: { count: number },
): string {
  const literal = template.template;
  if (ts.isNoSubstitutionTemplateLiteral(literal)) return literal.text;
  let sql = literal.head.text;
  for (const span of literal.templateSpans) {
    const expr = span.expression;
    const text = expr.getText();
    const fragment = fragmentTemplate(expr, decls);
    const carried = fragment === null ? carriedTemplate(expr) : null;
    if (fragment !== null) sql += taggedSql(fragment, decls, params);
    else if (carried !== null) sql += taggedSql(carried.template, carried.decls, params);
    else if (text === 'Prisma.empty') sql += '';
    else if (/^Prisma\.(raw|join)\b/.test(text))
      throw new Unsupported(`${text} needs a rule in test/support/raw-sql.ts`);
    else sql += `$${(params.count += 1)}`;
    sql += span.literal.text;
  }
  return sql;
}

/** Where `name` is declared as seen from `from`: a const's initializer, or a parameter's declaration. */
function declarationOf(name: string, from: ts.Node): ts.Node | null {
  for (let scope: ts.Node | undefined = from.parent; scope !== undefined; scope = scope.parent) {
    if (ts.isFunctionLike(scope)) {
      const parameter = scope.parameters.find((p) => ts.isIdentifier(p.name) && p.name.text === name);
      if (parameter !== undefined) return parameter;
    }
    if (ts.isBlock(scope) || ts.isSourceFile(scope)) {
      for (const statement of scope.statements) {
        if (!ts.isVariableStatement(statement)) continue;
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name) && declaration.name.text === name && declaration.initializer)
            return declaration.initializer;
        }
      }
    }
  }
  return null;
}

/** A private method's parameter: the arguments its callers in the same file pass for it. */
function argumentsFor(parameter: ts.ParameterDeclaration): ts.Expression[] {
  const method = parameter.parent;
  if (!ts.isMethodDeclaration(method) || !ts.isIdentifier(method.name)) return [];
  const name = method.name.text;
  const index = method.parameters.indexOf(parameter);
  const found: ts.Expression[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.getText() === `this.${name}`) {
      const argument = node.arguments[index];
      if (argument !== undefined) found.push(argument);
    }
    ts.forEachChild(node, visit);
  };
  visit(method.getSourceFile());
  return found;
}

const unwrap = (expr: ts.Expression): ts.Expression =>
  ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isSatisfiesExpression(expr)
    ? unwrap(expr.expression)
    : expr;

/** The object literals an expression can be: a const, or any entry of a record indexed by a variable. */
function objectsOf(expr: ts.Expression): ts.ObjectLiteralExpression[] {
  const node = unwrap(expr);
  if (ts.isObjectLiteralExpression(node)) return [node];
  if (ts.isIdentifier(node)) {
    const declared = declarationOf(node.text, node);
    return declared !== null && ts.isExpression(declared) ? objectsOf(declared) : [];
  }
  if (ts.isElementAccessExpression(node)) {
    return objectsOf(node.expression).flatMap((record) =>
      record.properties.flatMap((p) => (ts.isPropertyAssignment(p) ? objectsOf(p.initializer) : [])),
    );
  }
  return [];
}

/** A record entry chosen for a variable (`grouping` = `GROUPINGS[groupBy]`), so its fields stay together. */
type Bindings = Map<string, ts.ObjectLiteralExpression>;

/** One binding per choice of every variable whose fields the SQL reads and that can be several records. */
function choices(expr: ts.Expression): Bindings[] {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression))
      names.add(node.expression.text);
    ts.forEachChild(node, visit);
  };
  visit(expr);
  let bindings: Bindings[] = [new Map<string, ts.ObjectLiteralExpression>()];
  for (const name of names) {
    const declared = declarationOf(name, expr);
    const objects = declared !== null && ts.isExpression(declared) ? objectsOf(declared) : [];
    if (objects.length < 2) continue;
    bindings = bindings.flatMap((binding) =>
      objects.map((object) => new Map<string, ts.ObjectLiteralExpression>([...binding, [name, object]])),
    );
  }
  return bindings;
}

/**
 * Every SQL text a plain string or template can be (the *Unsafe calls): constants are inlined,
 * and a clause chosen at run time (a flag, a record entry, a caller's argument) gives one
 * variant per choice, each checked.
 */
function plainSql(expr: ts.Expression, bound: Bindings = new Map()): string[] {
  const node = unwrap(expr);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isTemplateExpression(node)) {
    let variants = [node.head.text];
    for (const span of node.templateSpans) {
      const parts = plainSql(span.expression, bound);
      variants = variants.flatMap((before) => parts.map((part) => before + part + span.literal.text));
    }
    return variants;
  }
  if (ts.isConditionalExpression(node))
    return [...plainSql(node.whenTrue, bound), ...plainSql(node.whenFalse, bound)];
  if (ts.isIdentifier(node)) {
    const declared = declarationOf(node.text, node);
    if (declared !== null && ts.isParameter(declared)) {
      const passed = argumentsFor(declared);
      if (passed.length > 0) return passed.flatMap((argument) => plainSql(argument, bound));
    } else if (declared !== null && ts.isExpression(declared)) {
      return plainSql(declared, bound);
    }
  }
  if (ts.isPropertyAccessExpression(node)) {
    const chosen = ts.isIdentifier(node.expression) ? bound.get(node.expression.text) : undefined;
    const values = (chosen === undefined ? objectsOf(node.expression) : [chosen]).flatMap((object) =>
      object.properties.filter(
        (p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === node.name.text,
      ),
    );
    if (values.length > 0) return values.flatMap((p) => plainSql(p.initializer, bound));
  }
  throw new Unsupported(`cannot read ${node.getText()} as SQL text`);
}

/** Every raw statement in src/: Prisma's tagged and Unsafe raw queries, and literal pg `client.query` calls. */
export function rawStatements(): { statements: RawStatement[]; unreadable: Unreadable[] } {
  const statements: RawStatement[] = [];
  const unreadable: Unreadable[] = [];
  for (const path of sourceFiles(join(ROOT, 'src'))) {
    const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const decls = declarations(file);
    const visit = (node: ts.Node): void => {
      const at = `${relative(ROOT, path)}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
      try {
        if (ts.isTaggedTemplateExpression(node) && RAW_TAGS.test(node.tag.getText())) {
          statements.push({ at, sql: taggedSql(node, decls, { count: 0 }) });
        } else if (ts.isCallExpression(node) && node.arguments[0] !== undefined) {
          const callee = node.expression.getText();
          if (UNSAFE_CALLS.test(callee)) {
            const text = node.arguments[0];
            for (const bound of choices(text))
              for (const sql of plainSql(text, bound)) statements.push({ at, sql });
          } else if (/\.query$/.test(callee)) {
            const first = node.arguments[0];
            const literal = ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first);
            if (literal && PREPARABLE.test(first.text)) statements.push({ at, sql: first.text });
          }
        }
      } catch (error) {
        if (!(error instanceof Unsupported)) throw error;
        unreadable.push({ at, why: error.message });
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return { statements, unreadable };
}
