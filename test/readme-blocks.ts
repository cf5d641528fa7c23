/**
 * The code blocks of a README and the HTML comment that may precede each, which says how a test treats it:
 * - `<!-- not-run: REASON -->`: type-checked, not run (e.g. it needs a broker on the network);
 * - `<!-- file: NAME -->`: written as NAME into the directory the README's examples run in;
 * - `<!-- until: TEXT -->`: a server; it runs until it prints TEXT, then is stopped.
 */
import ts from 'typescript';

export interface ReadmeBlock {
  /** The fence's language: ts, js, yaml, sh, ... */
  readonly lang: string;
  readonly code: string;
  readonly notRun?: string;
  readonly file?: string;
  readonly until?: string;
}

const BLOCK = /^(?:<!-- (not-run|file|until): (.+?) -->\n)?```(\w*)\n([\s\S]*?)^```$/gm;

export function readmeBlocks(markdown: string): ReadmeBlock[] {
  return [...markdown.matchAll(BLOCK)].map(([, kind, value, lang, code]) => ({
    lang: lang!,
    code: code!,
    ...(kind === 'not-run' ? { notRun: value } : {}),
    ...(kind === 'file' ? { file: value } : {}),
    ...(kind === 'until' ? { until: value } : {}),
  }));
}

/** The blocks in TypeScript or JavaScript: the examples a user copies. */
export const isCode = (block: ReadmeBlock) => block.lang === 'ts' || block.lang === 'js';

/** A TypeScript example as the ES module a user's build would make of it (types stripped, nothing checked). */
export function toJavaScript(code: string): string {
  return ts.transpileModule(code, {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: false,
    },
  }).outputText;
}
