/**
 * The static import graph of an installed JavaScript module, followed into its dependencies the way Node resolves
 * ECMAScript modules (`node_modules` lookup, then the package's `exports` under the runtime-neutral "import" and
 * "default" conditions), to tell which built-in modules (`node:http`, `fs` …) loading it would pull in. Static, so a
 * branch the code takes only on Node counts too: a runtime without those modules would fail to link the file at all.
 */
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Path from "node:path"
import ts from "typescript"

/** A built-in module and the file that imports it. */
export interface BuiltinImport {
  readonly specifier: string
  readonly importer: string
}

/** What a walk found: every file it read, and the built-in modules among their imports. */
export interface Graph {
  readonly files: ReadonlyArray<string>
  readonly builtins: ReadonlyArray<BuiltinImport>
}

const neutral = new Set(["import", "default"])

/** The target a package's `exports` value gives under the neutral conditions, in the object's key order as Node does. */
const pickTarget = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  if (Array.isArray(value)) return value.map(pickTarget).find((target) => target !== undefined)
  if (value === null || typeof value !== "object") return undefined
  for (const [condition, nested] of Object.entries(value)) {
    if (!neutral.has(condition)) continue
    const target = pickTarget(nested)
    if (target !== undefined) return target
  }
  return undefined
}

/** The `exports` entry for `subpath` ("." or "./x"), with `*` patterns. */
const exportsEntry = (exports: unknown, subpath: string): unknown => {
  const isSubpathMap =
    exports !== null && typeof exports === "object" && !Array.isArray(exports) && Object.keys(exports)[0]?.[0] === "."
  const map: Record<string, unknown> = isSubpathMap ? (exports as Record<string, unknown>) : { ".": exports }
  if (subpath in map) return map[subpath]
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf("*")
    if (star === -1) continue
    const [prefix, suffix] = [key.slice(0, star), key.slice(star + 1)]
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1) {
      const match = subpath.slice(prefix.length, subpath.length - suffix.length)
      return JSON.parse(JSON.stringify(value).replaceAll("*", match))
    }
  }
  return undefined
}

/** Resolves a bare specifier (`effect/Effect`, `@scope/pkg`) from a file, or throws saying what is missing. */
const resolvePackage = (specifier: string, importer: string): string => {
  const parts = specifier.split("/")
  const nameLength = specifier.startsWith("@") ? 2 : 1
  const name = parts.slice(0, nameLength).join("/")
  const subpath = [".", ...parts.slice(nameLength)].join("/")
  for (let dir = Path.dirname(importer); ; dir = Path.dirname(dir)) {
    const root = Path.join(dir, "node_modules", name)
    if (Fs.existsSync(Path.join(root, "package.json"))) {
      const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8"))
      const target =
        manifest.exports !== undefined
          ? pickTarget(exportsEntry(manifest.exports, subpath))
          : subpath === "."
            ? (manifest.module ?? manifest.main ?? "index.js")
            : subpath
      if (target === undefined) throw new Error(`${specifier} (imported by ${importer}): not exported by ${root}`)
      return existing(Path.join(root, target), importer)
    }
    if (Path.dirname(dir) === dir) throw new Error(`${specifier} (imported by ${importer}): package not installed`)
  }
}

/** Every module specifier a JavaScript file imports or re-exports, statically or through `import()` / `require()`. */
const specifiersOf = (file: string): ReadonlyArray<string> => {
  const source = ts.createSourceFile(
    file,
    Fs.readFileSync(file, "utf8"),
    ts.ScriptTarget.Latest,
    false,
    ts.ScriptKind.JS
  )
  const found: Array<string> = []
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text)
    } else if (ts.isCallExpression(node)) {
      const [argument] = node.arguments
      const isLoad =
        node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === "require")
      if (isLoad && argument !== undefined && ts.isStringLiteralLike(argument)) found.push(argument.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** A file as CommonJS `require` finds it, extension and `index.js` probed (ESM paths carry theirs already). */
const existing = (path: string, importer: string): string => {
  const candidate = [path, `${path}.js`, `${path}.json`, Path.join(path, "index.js")].find(
    (file) => Fs.existsSync(file) && Fs.statSync(file).isFile()
  )
  if (candidate === undefined) throw new Error(`${path} (imported by ${importer}): no such file`)
  return Fs.realpathSync(candidate)
}

/** Walks the graph from `entry` (a file path), through relative imports and installed packages alike. */
export const walk = (entry: string): Graph => {
  const seen = new Set<string>()
  const builtins: Array<BuiltinImport> = []
  const queue = [Fs.realpathSync(entry)]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    if (!/\.[cm]?js$/.test(file)) continue // JSON and other assets import nothing
    for (const specifier of specifiersOf(file)) {
      // `node:` names a built-in even where this Node lacks it (node:sqlite on Node 20)
      if (specifier.startsWith("node:") || Module.isBuiltin(specifier)) builtins.push({ specifier, importer: file })
      else if (specifier.startsWith(".") || specifier.startsWith("/"))
        queue.push(existing(Path.resolve(Path.dirname(file), specifier), file))
      else queue.push(resolvePackage(specifier, file))
    }
  }
  return { files: [...seen], builtins }
}
